"""The optimizer's objective: how a replication is scored and which caps a policy must meet.

:class:`Objective` scores a replication's KPIs (``scalar`` mode: one weighted value; ``pareto``
mode: several), turns the caps into Optuna constraints, and says whether mean KPIs are
feasible. :func:`paired_stats` is the paired difference against the champion as plain data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from collectsim.experiments.compare.stats import paired_difference, t_interval
from collectsim.experiments.optimize.settings import ObjectiveSettings
from collectsim.results.catalogue import OPTIMIZE_RECORDED

__all__ = ["Objective", "CAP_KPI", "is_missing", "compact_kpis", "mean_kpis", "paired_stats", "t_ci"]

#: Cap fields of ``[optimize.objective]`` and the KPI each caps.
CAP_KPI = {
    "max_complaints_per_1k_accounts": "complaints_per_1k_accounts",
    "max_complaints_per_1k_worked": "complaints_per_1k_worked",
    "max_treatment_cost": "treatment_cost",
    "max_churn_rate": "churn_rate",
}


@dataclass(frozen=True)
class Objective:
    """How replications are scored and which caps a policy must meet.

    Parameters
    ----------
    mode:
        ``scalar`` or ``pareto``.
    lambda_churn, lambda_complaint:
        Weights of the scalar objective
        ``measure − lambda_churn·lost_clv − lambda_complaint·complaints`` (also used in
        pareto mode to pick one recommended policy from the front).
    measure:
        The money the lender maximizes: ``net_value`` (default) or ``net_recovery``.
    churn:
        Pareto mode's churn objective (``lost_clv`` or ``churn_rate``).
    caps:
        Hard caps ``{kpi: maximum}`` on the mean over replications.
    """

    mode: str = "scalar"
    lambda_churn: float = 0.0
    lambda_complaint: float = 0.0
    churn: str = "lost_clv"
    caps: dict[str, float] = field(default_factory=dict)
    measure: str = "net_value"

    @classmethod
    def from_settings(cls, s: ObjectiveSettings) -> Objective:
        """Build from the ``[optimize.objective]`` table."""
        caps = {kpi: getattr(s, key) for key, kpi in CAP_KPI.items() if getattr(s, key) is not None}
        return cls(s.mode, s.lambda_churn, s.lambda_complaint, s.churn, caps, s.measure)

    @property
    def names(self) -> list[str]:
        """Names of the study's objective values."""
        return ["objective"] if self.mode == "scalar" else [self.measure, "complaints_per_1k_accounts", self.churn]

    @property
    def directions(self) -> list[str]:
        """Optuna directions of the objective values."""
        return ["maximize"] if self.mode == "scalar" else ["maximize", "minimize", "minimize"]

    def scalar(self, k: dict) -> float:
        """The scalar objective of one replication's (or a mean's) KPIs."""
        return float(k[self.measure] - self.lambda_churn * k["lost_clv"] - self.lambda_complaint * k["complaints"])

    def formula(self) -> str:
        """The scalar objective as text."""
        return f"{self.measure} - {self.lambda_churn:g} * lost_clv - {self.lambda_complaint:g} * complaints"

    def values(self, mean: dict) -> list[float]:
        """The study's objective values for mean KPIs."""
        if self.mode == "scalar":
            return [self.scalar(mean)]
        churn = mean[self.churn]
        return [float(mean[self.measure]), float(mean["complaints_per_1k_accounts"]),
                0.0 if is_missing(churn) else float(churn)]

    def constraints(self, mean: dict) -> dict[str, float]:
        """Optuna constraint values (≤ 0 is feasible): ``(mean − cap) / cap`` per cap."""
        out = {}
        for kpi, cap in self.caps.items():
            v = mean.get(kpi)
            v = 0.0 if is_missing(v) else float(v)
            out[f"max_{kpi}"] = (v - cap) / cap if cap > 0 else v - cap
        return out

    def feasible(self, mean: dict) -> bool:
        """True if the mean KPIs meet every cap."""
        return all(v <= 0.0 for v in self.constraints(mean).values())

    def describe(self) -> dict:
        """Plain-data description (for provenance and validation.json)."""
        d: dict[str, Any] = {"mode": self.mode, "measure": self.measure, "scalar": self.formula()}
        if self.mode == "pareto":
            d["objectives"] = dict(zip(self.names, self.directions, strict=True))
        d["caps"] = {f"max_{k}": v for k, v in self.caps.items()}
        return d


def is_missing(v: Any) -> bool:
    """True for None or NaN (a KPI that could not be computed)."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def compact_kpis(kpis: dict) -> dict[str, float]:
    """The recorded KPIs of one replication as floats (None becomes NaN)."""
    return {k: (float("nan") if kpis.get(k) is None else float(kpis[k])) for k in OPTIMIZE_RECORDED}


def mean_kpis(rows: Sequence[dict]) -> dict[str, float]:
    """Mean of each recorded KPI over replications (NaN-aware; NaN when none is finite)."""
    out = {}
    for k in OPTIMIZE_RECORDED:
        v = np.array([r[k] for r in rows], dtype=float)
        out[k] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    return out


def paired_stats(
    a: Sequence[float], b: Sequence[float], level: float = 0.95, higher_is_better: bool | None = True
) -> dict[str, Any]:
    """Mean paired difference ``a − b`` with a Student-t confidence interval, as plain data.

    A thin wrapper over :func:`collectsim.experiments.compare.stats.paired_difference` (the one home
    of the comparison statistics).

    Parameters
    ----------
    a, b:
        Per-seed values of a candidate and of the champion on the same seeds (same order).
    level:
        Confidence level of the interval.
    higher_is_better:
        Direction of the KPI (for ``share_better``).

    Returns
    -------
    dict
        ``mean_diff``, ``sd`` (of the differences), ``n``, ``ci`` ([low, high]), ``level``,
        ``p_value`` (two-sided paired t test), ``ci_excludes_zero``, ``relative`` (mean
        difference / |mean of b|) and ``share_better`` (share of seeds on which ``a`` is
        better; ties count one half).
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    res = paired_difference(y, x, level=level, higher_is_better=higher_is_better)
    iv = res.interval
    ok = np.isfinite(x) & np.isfinite(y)
    d = x[ok] - y[ok]
    base = float(y[ok].mean()) if ok.any() else float("nan")
    finite = math.isfinite(iv.low) and math.isfinite(iv.high)
    return {
        "n": iv.n,
        "level": level,
        "mean_diff": iv.estimate,
        "sd": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
        "ci": [iv.low, iv.high],
        "p_value": res.p_value,
        "ci_excludes_zero": bool(finite and (iv.low > 0 or iv.high < 0)),
        "relative": (iv.estimate / abs(base)) if base and math.isfinite(base) else None,
        "share_better": res.p_better,
    }


def t_ci(x: Sequence[float], level: float = 0.95) -> list[float]:
    """The Student-t confidence interval of the mean of ``x`` as ``[low, high]``."""
    iv = t_interval(x, level)
    return [iv.low, iv.high]
