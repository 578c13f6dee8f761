"""The threshold policy of Chehrazi, Glynn & Weber (2019): hold the intensity at ``λ*(w)``.

In the published model (primer §6) collection effort raises an account's repayment
intensity by ``δ2`` per unit at a cost ``c`` per unit; the optimal policy does nothing below
a minimal actionable balance and otherwise holds the intensity at a threshold ``λ*(w)``
that rises with the balance ``w``. :class:`CGWThresholdPolicy` is that rule, run through the
engine's *direct effort* hook (:class:`~collectsim.policies.base.Effort`): each morning, for
every account in collections with ``w > w_min`` and ``λ < λ*(w)``, it applies
``u = (λ*(w) − λ)/δ2`` units (cost ``c·u``, priced by the scenario's
``costs.effort_cost_per_unit``), so the day's repayment runs at ``λ*(w)``.

The policy never reads the latent intensity. It *reconstructs* it, as a lender who knows the
published parameters could, from what it observes and what it did itself: every account
starts at ``lambda0``; its own effort adds ``δ2·u``; overnight the intensity relaxes,
``λ ← λ∞ + (λ − λ∞)e^{−κ dt}``; a payment of ``p`` against the morning balance ``w``
reveals the repaid fraction ``R = p/w`` and adds ``δ10 + δ11·R`` (the engine's daily scheme,
``docs/model.md`` §5). Payments reach it through the learning-policy hook
(:meth:`~collectsim.policies.base.Policy.observe`, keyed by account number). The
reconstruction is exact up to the rounding of payments to cents (``|ΔR| <= 0.5/w`` cents).

The threshold family (``shape``):

``sqrt``     ``λ*(w) = a + b·√w`` (default; the shape the dynamic-programming optimum of the
             reference parameters follows, ``docs/cgw.md``)
``anchored`` the same family through two interpretable points: ``λ*(w_cross) = 0`` and
             ``λ*(w_top) = lambda_top``, i.e. ``λ*(w) = lambda_top·(√w − √w_cross)/(√w_top − √w_cross)``
             (what ``experiments/cgw-optimize.toml`` searches: the two parameters are far less
             correlated than ``a`` and ``b``)
``log``    ``λ*(w) = a + b·ln w``
``linear`` ``λ*(w) = a + b·w``
``table``  piecewise linear in ``ln w`` through ``table_w`` / ``table_lambda`` (e.g. the
           optimum's curve from :mod:`collectsim.validation.cgw_optimum`)

with ``w`` in currency units. Where ``λ*(w) <= λ`` nothing is done, so the family's own
zero crossing acts as a minimal actionable balance; ``w_min`` adds an explicit one.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from collectsim.errors import from_pydantic
from collectsim.policies.base import Effort, Observation, Outcomes, Policy, Requests
from collectsim.vocabulary.units import CENTS_PER_UNIT, DT

__all__ = ["CGWThresholdSpec", "CGWThresholdPolicy", "load_cgw_threshold", "cgw_threshold"]


class CGWThresholdSpec(BaseModel):
    """The threshold policy as plain data (a policy file's ``[policy]`` table, ``kind = "cgw-threshold"``).

    Defaults: the reference parameters of primer §6 (``experiments/cgw-2019.toml``) and the
    ``sqrt`` threshold fitted to the dynamic-programming optimum (``docs/cgw.md``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the fields an optimizer may search: the threshold's, not the published model's parameters
    SEARCHABLE: ClassVar[tuple[str, ...]] = ("a", "b", "w_cross", "lambda_top", "w_min")

    name: str = Field("cgw-threshold", min_length=1, description="Policy name shown in reports.")
    kind: Literal["cgw-threshold"] = Field("cgw-threshold", description="Policy kind.")
    shape: Literal["sqrt", "anchored", "log", "linear", "table"] = Field(
        "sqrt", description=("Threshold family: a + b·√w, the same √w family anchored at two points "
                             "(w_cross, lambda_top), a + b·ln w, a + b·w, or a table in ln w.")
    )
    a: float = Field(-0.643, ge=-100.0, le=100.0, allow_inf_nan=False,
                     description="Intercept of the threshold λ*(w), per year.")
    b: float = Field(0.2021, ge=-100.0, le=100.0, allow_inf_nan=False,
                     description="Slope of the threshold λ*(w) in √w, ln w or w (w in currency units).")
    w_cross: float = Field(10.12, ge=0.0, le=1e6, allow_inf_nan=False,
                           description="shape = anchored: balance where λ*(w) = 0 (effort starts a little above it).")
    lambda_top: float = Field(1.378, ge=0.0, le=100.0, allow_inf_nan=False,
                              description="shape = anchored: the threshold λ* at the balance w_top, per year.")
    w_top: float = Field(100.0, gt=0.0, le=1e9, allow_inf_nan=False,
                         description="shape = anchored: the balance where λ* = lambda_top (the book's w0).")
    table_w: list[float] | None = Field(
        None, description="shape = table: balances (currency units, increasing, > 0) of the threshold's nodes."
    )
    table_lambda: list[float] | None = Field(
        None, description="shape = table: the threshold λ* at each node (per year; nan not allowed)."
    )
    w_min: float = Field(0.0, ge=0.0, le=1e9, allow_inf_nan=False,
                         description="Minimal actionable balance (currency units): no effort at or below it.")
    lambda_inf: float = Field(0.1, ge=0.0, le=1e3, allow_inf_nan=False,
                              description="λ∞ of the reconstruction: long-run intensity per year.")
    kappa: float = Field(0.7, gt=0.0, le=1e3, allow_inf_nan=False,
                         description="κ of the reconstruction: mean-reversion speed per year.")
    delta10: float = Field(0.02, ge=0.0, le=1e3, allow_inf_nan=False,
                           description="δ10 of the reconstruction: fixed jump of λ at a repayment.")
    delta11: float = Field(0.5, ge=0.0, le=1e3, allow_inf_nan=False,
                           description="δ11 of the reconstruction: jump of λ per unit of repaid fraction R.")
    delta2: float = Field(1.0, gt=0.0, le=1e3, allow_inf_nan=False,
                          description="δ2: intensity raised per unit of effort (must equal the segment's delta2).")
    lambda0: float = Field(0.11, ge=0.0, le=1e3, allow_inf_nan=False,
                           description="Intensity of every account when it enters collections (the segment's lambda0).")
    max_units: float = Field(1000.0, gt=0.0, le=1e9, allow_inf_nan=False,
                             description="Most effort units applied to one account in one day.")

    @model_validator(mode="after")
    def _table(self) -> CGWThresholdSpec:
        given = (self.table_w is not None, self.table_lambda is not None)
        if self.shape == "table":
            if not all(given):
                raise ValueError("shape = 'table' needs table_w and table_lambda")
            w, lam = self.table_w, self.table_lambda
            if len(w) != len(lam) or len(w) < 2:
                raise ValueError(f"table_w and table_lambda must have the same length >= 2 (got {len(w)}, {len(lam)})")
            if not all(math.isfinite(x) and x > 0 for x in w) or any(b <= a for a, b in zip(w, w[1:], strict=False)):
                raise ValueError("table_w must be finite, > 0 and strictly increasing")
            if not all(math.isfinite(x) and -100 <= x <= 100 for x in lam):
                raise ValueError("table_lambda must be finite numbers in [-100, 100]")
        elif self.shape == "anchored" and not self.w_cross < self.w_top:
            raise ValueError(f"shape = 'anchored' needs w_cross < w_top (got {self.w_cross} and {self.w_top})")
        if self.shape != "table" and any(given):
            raise ValueError(f"table_w / table_lambda only go with shape = 'table' (shape = {self.shape!r})")
        return self

    def threshold(self, w: np.ndarray) -> np.ndarray:
        """``λ*(w)`` for balances ``w`` (currency units, ``> 0``)."""
        w = np.asarray(w, dtype=np.float64)
        if self.shape == "sqrt":
            return self.a + self.b * np.sqrt(w)
        if self.shape == "anchored":
            low, top = math.sqrt(self.w_cross), math.sqrt(self.w_top)
            return self.lambda_top * (np.sqrt(w) - low) / (top - low)
        if self.shape == "log":
            return self.a + self.b * np.log(np.maximum(w, 1e-300))
        if self.shape == "linear":
            return self.a + self.b * w
        return np.interp(np.log(np.maximum(w, 1e-300)), np.log(self.table_w), np.asarray(self.table_lambda))


class CGWThresholdPolicy(Policy):
    """Hold each account's reconstructed intensity at ``λ*(w)`` above ``w_min`` (module docstring).

    Contacts nobody; applies direct effort (:attr:`applies_effort`) and learns from each day's
    payments (:attr:`learns`) to keep its reconstruction of every account's intensity.
    """

    learns = True
    applies_effort = True

    def __init__(self, spec: CGWThresholdSpec | None = None) -> None:
        self.spec = spec or CGWThresholdSpec()
        self.name = self.spec.name
        self._decay = math.exp(-self.spec.kappa * DT)
        self._reset()

    def _reset(self) -> None:
        self._lam: np.ndarray | None = None  # reconstructed λ by account number
        self._bal = np.zeros(0, dtype=np.int64)  # the morning balance by account number (cents)
        self._today = np.zeros(0, dtype=np.int64)  # account numbers in collections this morning

    def start(self, streams) -> None:
        """A new run (new streams): forget every account. The same run going on (its run-off,
        the same streams) keeps what it knows. The policy draws no random numbers."""
        if streams is not getattr(self, "_streams", None):
            self._reset()
        self._streams = streams

    def _grow(self, n: int) -> None:
        if self._lam is None or len(self._lam) < n:
            old = 0 if self._lam is None else len(self._lam)
            lam = np.full(n, self.spec.lambda0)
            bal = np.zeros(n, dtype=np.int64)
            if old:
                lam[:old] = self._lam
                bal[:old] = self._bal
            self._lam, self._bal = lam, bal

    def decide(self, obs: Observation) -> Requests:
        """No contacts: the policy works through direct effort only."""
        return Requests()

    def effort(self, obs: Observation) -> Effort:
        """Units ``(λ*(w) − λ)/δ2`` for each account in collections with ``w > w_min`` and ``λ < λ*(w)``."""
        s = self.spec
        self._grow(obs.n)
        slots = obs.active_index
        aid = obs.account_id[slots]
        bal = obs.balance[slots]
        self._today = aid
        self._bal[aid] = bal
        w = bal / CENTS_PER_UNIT
        lam = self._lam[aid]
        target = s.threshold(np.maximum(w, 1e-12))
        act = (w > s.w_min) & (lam < target)
        units = np.minimum((target[act] - lam[act]) / s.delta2, s.max_units)
        acted = aid[act]
        self._lam[acted] = lam[act] + s.delta2 * units
        return Effort(slots[act].astype(np.int64), units.astype(np.float64))

    def observe(self, outcomes: Outcomes) -> None:
        """The night: every account's intensity relaxes; a payment ``p`` adds ``δ10 + δ11·p/w``."""
        s = self.spec
        if self._lam is None:
            return
        aid = self._today
        self._lam[aid] = s.lambda_inf + (self._lam[aid] - s.lambda_inf) * self._decay
        payers = outcomes.payment_account
        if len(payers):
            before = self._bal[payers].astype(np.float64)
            r = np.minimum(outcomes.payment_amount / np.maximum(before, 1.0), 1.0)
            self._lam[payers] += s.delta10 + s.delta11 * r

    def to_dict(self) -> dict:
        """The policy file's ``[policy]`` table."""
        return self.spec.model_dump(mode="json", exclude_none=True)


def load_cgw_threshold(data: dict, source: str = "") -> CGWThresholdPolicy:
    """A :class:`CGWThresholdPolicy` from a policy file's ``[policy]`` table (InputError naming the field)."""
    try:
        return CGWThresholdPolicy(CGWThresholdSpec.model_validate(data))
    except ValidationError as e:
        raise from_pydantic(e, source, prefix="policy") from None


def cgw_threshold() -> CGWThresholdPolicy:
    """The built-in ``cgw-threshold``: the reference parameters and the fitted ``sqrt`` threshold."""
    return CGWThresholdPolicy()
