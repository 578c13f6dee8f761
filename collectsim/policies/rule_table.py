"""The parametric rule-table policy: a strategy per risk tier × DPD bucket.

This is the "strategy formulation" step of the source document: each tier (and
bucket) gets a contact frequency per channel, an hour, an offer and an escalation rule.
A table is a list of *cells*; each (tier, bucket) pair takes the first cell that matches
it, and pairs no cell matches are not contacted.

Contacts per week become a deterministic schedule: with frequency f per week and a fixed
phase φ ∈ [0, 7) per account and channel, account i gets
``floor((t+1+φ)·f/7) − floor((t+φ)·f/7)`` contacts on day t — exactly f per week on
average, spread evenly over the week and over the portfolio (so collector load is level).
Several contacts on one day go out at consecutive hours from the cell's hour.

TOML form (``collectsim run --policy FILE``)::

    [policy]
    name = "my-strategy"
    kind = "rule-table"
    priority = "expected_value"
    [[policy.cells]]
    tiers = ["high"]
    buckets = ["M2", "M3"]
    call_per_week = 3
    visit_per_week = 1
    visit_from_dpd = 45
    offer = "instalment"
    plan_months = 6
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from collectsim.errors import InputError
from collectsim.policies.base import Observation, Requests
from collectsim.sim.channels import CHANNELS, OFFER_INDEX
from collectsim.sim.scenario import BUCKETS

__all__ = ["Cell", "RuleTableSpec", "RuleTablePolicy", "PRIORITIES"]

PRIORITIES = ("expected_value", "balance", "dpd", "score", "risk")
_GOLDEN = 0.6180339887498949


class Cell(BaseModel):
    """One strategy cell: what to do with the accounts of some tiers and buckets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: list[str] | Literal["*"] = Field("*", description="Tier names this cell applies to ('*': all).")
    buckets: list[str] | Literal["*"] = Field("*", description="DPD buckets M1..M6 ('*': all).")
    sms_per_week: float = Field(0.0, ge=0.0, le=70.0, description="SMS reminders per week.")
    email_per_week: float = Field(0.0, ge=0.0, le=70.0, description="E-mails per week.")
    ivr_per_week: float = Field(0.0, ge=0.0, le=70.0, description="Automated voice calls per week.")
    call_per_week: float = Field(0.0, ge=0.0, le=70.0, description="Agent call attempts per week.")
    visit_per_week: float = Field(0.0, ge=0.0, le=7.0, description="Field visits per week.")
    letter_per_week: float = Field(0.0, ge=0.0, le=7.0, description="Letters per week.")
    visit_from_dpd: int = Field(0, ge=0, le=3650, description="Escalation: visits only from this DPD on.")
    call_hour: int = Field(18, ge=0, le=23, description="Hour of the first call of a day.")
    message_hour: int = Field(10, ge=0, le=23, description="Hour of SMS, e-mail, IVR and letters.")
    visit_hour: int = Field(17, ge=0, le=23, description="Hour of field visits.")
    offer: Literal["none", "ptp", "instalment", "settlement"] = Field(
        "ptp", description="What a right-party conversation offers."
    )
    plan_months: int = Field(6, ge=1, le=60, description="Length of an offered instalment plan.")
    settlement_discount: float = Field(
        0.0, ge=0.0, le=0.9, description="Share of the balance forgiven by a settlement offer."
    )

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, v):
        if v != "*":
            for b in v:
                if b not in BUCKETS:
                    raise ValueError(f"unknown bucket {b!r}; allowed: {', '.join(BUCKETS)} or '*'")
        return v


class RuleTableSpec(BaseModel):
    """A whole rule table as plain data (what a policy file holds under ``[policy]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("rule-table", min_length=1, description="Policy name shown in reports.")
    kind: Literal["rule-table"] = Field("rule-table", description="Policy kind.")
    priority: Literal["expected_value", "balance", "dpd", "score", "risk"] = Field(
        "expected_value",
        description="Queue order for collectors: balance·score, balance, DPD, score or 1−score.",
    )
    pause_on_promise: bool = Field(True, description="No contact while a promise or plan is running.")
    respect_opt_out: bool = Field(True, description="Never request a channel the debtor opted out of.")
    cells: list[Cell] = Field(default_factory=list, description="Strategy cells, first match wins.")


_FREQ_FIELDS = ("sms_per_week", "email_per_week", "ivr_per_week", "call_per_week", "visit_per_week", "letter_per_week")


class RuleTablePolicy:
    """A rule-table policy (see the module docstring). Picklable plain data.

    Parameters
    ----------
    spec:
        The table, as a :class:`RuleTableSpec` or a dict of the same shape.
    """

    def __init__(self, spec: RuleTableSpec | dict) -> None:
        self.spec = spec if isinstance(spec, RuleTableSpec) else RuleTableSpec.model_validate(spec)
        self.name = self.spec.name
        self._tables: dict | None = None
        self._tier_names: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"RuleTablePolicy(name={self.name!r}, cells={len(self.spec.cells)})"

    def prepare(self, tier_names: tuple[str, ...] | list[str]) -> None:
        """Compile the cells for a scenario's tiers; raise InputError on unknown tier names."""
        tier_names = tuple(tier_names)
        nt, nb = len(tier_names), len(BUCKETS)
        cell_of = np.full((nt, nb), -1, dtype=np.int64)
        for i, cell in enumerate(self.spec.cells):
            tiers = range(nt) if cell.tiers == "*" else []
            if cell.tiers != "*":
                tiers = []
                for tname in cell.tiers:
                    if tname not in tier_names:
                        raise InputError(
                            f"policy {self.name!r}: cells[{i}].tiers: unknown tier {tname!r}; "
                            f"allowed: {', '.join(tier_names)} or '*'"
                        )
                    tiers.append(tier_names.index(tname))
            buckets = range(nb) if cell.buckets == "*" else [BUCKETS.index(b) for b in cell.buckets]
            for t in tiers:
                for b in buckets:
                    if cell_of[t, b] < 0:
                        cell_of[t, b] = i
        cells = self.spec.cells
        col = lambda f: np.array([getattr(c, f) for c in cells] + [0], dtype=float)  # noqa: E731
        self._tables = {
            "cell_of": cell_of,
            "freq": np.stack([col(f) for f in _FREQ_FIELDS], axis=1),  # (cells+1, channels)
            "hour": np.stack(
                [col("message_hour"), col("message_hour"), col("message_hour"), col("call_hour"), col("visit_hour"), col("message_hour")],
                axis=1,
            ).astype(np.int64),
            "visit_from_dpd": col("visit_from_dpd"),
            "offer": np.array([OFFER_INDEX[c.offer] for c in cells] + [0], dtype=np.int8),
            "plan_months": col("plan_months").astype(np.int8),
            "discount": col("settlement_discount").astype(np.float32),
        }
        self._tier_names = tier_names

    def decide(self, obs: Observation) -> Requests:
        """Today's requests from the table."""
        if self._tables is None or self._tier_names != tuple(obs.tier_names):
            self.prepare(obs.tier_names)
        tb = self._tables
        acc = np.flatnonzero(obs.active)
        if self.spec.pause_on_promise:
            acc = acc[(obs.promise_due_day[acc] < 0) & ~obs.in_plan[acc]]
        cell = tb["cell_of"][obs.tier[acc], obs.bucket[acc]] if len(acc) else np.zeros(0, np.int64)
        keep = cell >= 0
        acc, cell = acc[keep], cell[keep]
        parts = []
        day = obs.day
        for c in range(len(CHANNELS)):
            f = tb["freq"][cell, c]
            if c == CHANNELS.index("visit"):
                f = np.where(obs.dpd[acc] >= tb["visit_from_dpd"][cell], f, 0.0)
            if self.spec.respect_opt_out:
                f = np.where(((obs.opted_out[acc] >> c) & 1) == 1, 0.0, f)
            on = f > 0
            if not on.any():
                continue
            a, fc, cc = acc[on], f[on], cell[on]
            phase = ((a * _GOLDEN + c * 0.3819660112501051) % 1.0) * 7.0
            k = (np.floor((day + 1 + phase) * fc / 7.0) - np.floor((day + phase) * fc / 7.0)).astype(np.int64)
            has = k > 0
            if not has.any():
                continue
            a, k, cc = a[has], k[has], cc[has]
            a_rep = np.repeat(a, k)
            c_rep = np.repeat(cc, k)
            starts = np.cumsum(k) - k
            j = np.arange(len(a_rep)) - np.repeat(starts, k)
            hour = np.minimum(tb["hour"][c_rep, c] + j, 23)
            parts.append(
                Requests(
                    account=a_rep.astype(np.int64),
                    channel=np.full(len(a_rep), c, dtype=np.int8),
                    hour=hour.astype(np.int8),
                    offer=tb["offer"][c_rep],
                    discount=tb["discount"][c_rep],
                    plan_months=tb["plan_months"][c_rep],
                    priority=self._priority(obs, a_rep),
                )
            )
        return Requests.concat(parts)

    def _priority(self, obs: Observation, acc: np.ndarray) -> np.ndarray:
        p = self.spec.priority
        if p == "expected_value":
            v = obs.balance[acc] * obs.score[acc].astype(float)
        elif p == "balance":
            v = obs.balance[acc].astype(float)
        elif p == "dpd":
            v = obs.dpd[acc].astype(float)
        elif p == "score":
            v = obs.score[acc].astype(float)
        else:
            v = 1.0 - obs.score[acc].astype(float)
        return v.astype(np.float32)

    def to_dict(self) -> dict:
        """The table as plain data, as written under ``[policy]`` in a policy file."""
        return self.spec.model_dump(mode="json")
