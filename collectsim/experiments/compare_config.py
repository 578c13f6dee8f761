"""Schema of the ``[compare]`` table of an experiment file, and the KPIs a comparison knows.

Example (``experiments/compare.toml``)::

    [compare]
    champion = "seed-champion"
    challengers = ["sms-only", "max-legal", "policies/challenger.toml"]
    reps = 10
    headline = "net_recovery"       # the KPI of the headline sentence and of --target-ci
    per_accounts = 1000             # money and counts per 1,000 accounts (0: portfolio totals)

    [[compare.variants]]
    name = "recession"
    description = "unemployment shock from day 30"
    overrides = { shock = { start_day = 30, stress_multiplier = 4.0 } }

:data:`KPIS` is the catalogue of KPI names a comparison accepts, each with its unit, its
better direction and whether it is a portfolio total (normalised per ``per_accounts``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from collectsim.sim.channels import CHANNELS

__all__ = ["CompareSettings", "Variant", "KpiInfo", "KPIS", "DEFAULT_KPIS", "check_kpi"]


@dataclass(frozen=True)
class KpiInfo:
    """What a comparison needs to know about one KPI.

    Attributes
    ----------
    label:
        Words for reports ("net recovery").
    unit:
        ``money``, ``count`` (portfolio totals), ``share`` (a fraction, shown in %),
        ``per_1k_worked`` (already per 1,000 accounts worked) or ``ratio``.
    higher_is_better:
        ``True``/``False``, or ``None`` when neither direction is better.
    total:
        A portfolio total (money or count), divided by accounts × ``per_accounts`` when
        the comparison normalises.
    """

    label: str
    unit: Literal["money", "count", "share", "per_1k_worked", "ratio"]
    higher_is_better: bool | None
    total: bool = False


def _money(label: str, better: bool | None) -> KpiInfo:
    return KpiInfo(label, "money", better, True)


def _count(label: str, better: bool | None) -> KpiInfo:
    return KpiInfo(label, "count", better, True)


def _share(label: str, better: bool | None) -> KpiInfo:
    return KpiInfo(label, "share", better, False)


#: Scalar KPIs of :func:`collectsim.experiments.replicate.flat_kpis` a comparison accepts.
KPIS: dict[str, KpiInfo] = {
    "net_recovery": _money("net recovery", True),
    "collected": _money("cash collected", True),
    "recovery_rate": _share("recovery rate", True),
    "overdue_recovery_rate": _share("overdue recovery rate", True),
    "discounted_collected": _money("discounted cash collected", True),
    "discounted_recovery_rate": _share("discounted recovery rate", True),
    "treatment_cost": _money("treatment cost", False),
    "discounts_given": _money("settlement discounts", False),
    "charged_off_balance": _money("balance charged off", False),
    "outstanding_balance": _money("balance outstanding", False),
    "lost_clv": _money("customer lifetime value lost", False),
    "initial_balance": _money("balance at entry", None),
    "overdue_at_entry": _money("overdue at entry", None),
    "cure_rate": _share("cure rate", True),
    "paid_rate": _share("paid-in-full rate", True),
    "settled_rate": _share("settled rate", None),
    "chargeoff_rate": _share("charge-off rate", False),
    "rpc_rate": _share("right-party-contact rate", True),
    "ptp_rate": _share("promise-to-pay rate", True),
    "kept_rate": _share("promise kept rate", True),
    "churn_rate": _share("churn rate", False),
    "cost_to_collect": KpiInfo("cost to collect", "ratio", False, False),
    "complaints_per_1k": KpiInfo("complaints per 1,000 accounts worked", "per_1k_worked", False, False),
    "complaints": _count("complaints", False),
    "churned": _count("customers lost", False),
    "unworked": _count("requests left unworked", False),
    "optouts": _count("opt-outs", False),
    "conversations": _count("conversations", True),
    "accounts_worked": _count("accounts worked", None),
    "requested": _count("contacts requested", None),
    **{f"contacts.{c}": _count(f"{c} contacts", None) for c in CHANNELS},
}

#: KPIs compared when the experiment file names none.
DEFAULT_KPIS: tuple[str, ...] = (
    "net_recovery",
    "collected",
    "recovery_rate",
    "treatment_cost",
    "discounts_given",
    "cost_to_collect",
    "cure_rate",
    "chargeoff_rate",
    "rpc_rate",
    "kept_rate",
    "complaints_per_1k",
    "churn_rate",
    "lost_clv",
)


def check_kpi(name: str) -> str:
    """Return ``name`` if it is in :data:`KPIS`, else raise ``ValueError`` naming the allowed ones."""
    if name in KPIS:
        return name
    near = difflib.get_close_matches(name, list(KPIS), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(f"unknown KPI{hint}; allowed: {', '.join(KPIS)}")


KpiName = Annotated[str, AfterValidator(check_kpi)]


class Variant(BaseModel):
    """A what-if stress variant: the experiment's scenario with some fields overridden.

    ``overrides`` is deep-merged into the scenario's data (tables merge key by key; lists
    of named tables such as ``teams`` and ``segments`` merge item by item on ``name``;
    other lists are replaced) and the result is validated again as a scenario.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        ...,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_.+-]+$",
        description="Short name (letters, digits, _ . + -).",
    )
    description: str = Field("", description="One line saying what the variant stresses.")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Partial scenario data to merge in.")

    @model_validator(mode="after")
    def _not_base(self) -> "Variant":
        if self.name == "base":
            raise ValueError("'base' is reserved for the experiment's own scenario")
        return self


class CompareSettings(BaseModel):
    """Settings of ``collectsim compare`` (each can be overridden on the command line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    champion: str | None = Field(
        None, description="The production policy (built-in name or policy file); default: [run].policy."
    )
    challengers: list[str] = Field(
        default_factory=list, description="Challenger policies (built-in names or policy files)."
    )
    reps: int = Field(8, ge=2, le=10_000, description="Replications (seeds) per policy; at least 2 for an interval.")
    target_ci: float | None = Field(
        None,
        gt=0.0,
        description=(
            "Add replications until the 95% CI half-width of every challenger's headline "
            "difference is at most this (in the headline's reported unit), or max_reps is hit."
        ),
    )
    max_reps: int | None = Field(
        None, ge=2, le=10_000, description="Cap on replications when target_ci is set (default: max(40, reps))."
    )
    headline: KpiName = Field("net_recovery", description="KPI of the headline sentence and of target_ci.")
    headline_also: list[KpiName] = Field(
        default_factory=lambda: ["complaints_per_1k", "churn_rate"],
        description="Side effects named in the headline sentence.",
    )
    per_accounts: int = Field(
        1000, ge=0, le=10_000_000, description="Report money and counts per this many accounts (0: totals)."
    )
    kpis: list[KpiName] = Field(default_factory=lambda: list(DEFAULT_KPIS), min_length=1, description="KPIs compared.")
    level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of every interval.")
    test: Literal["t", "wilcoxon"] = Field(
        "t", description="Paired test of the p-values: paired t or Wilcoxon signed-rank."
    )
    correction: Literal["holm", "none"] = Field(
        "holm", description="Multiple-comparison correction across challengers (per KPI)."
    )
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="First seed (replication i uses seed + i); default: [run].seed."
    )
    variants: list[Variant] = Field(default_factory=list, description="What-if stress variants.")

    @model_validator(mode="after")
    def _check(self) -> "CompareSettings":
        names = [v.name for v in self.variants]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"variant names must be distinct; repeated: {', '.join(sorted(dup))}")
        if self.max_reps is not None and self.max_reps < self.reps:
            raise ValueError(f"max_reps ({self.max_reps}) must be >= reps ({self.reps})")
        return self

    @property
    def reps_cap(self) -> int:
        """The replication cap in force: ``max_reps``, else the larger of 40 and ``reps``."""
        return self.max_reps if self.max_reps is not None else max(40, self.reps)

    def all_kpis(self) -> list[str]:
        """``kpis`` plus the headline KPIs, in order and without repeats."""
        return list(dict.fromkeys([self.headline, *self.kpis, *self.headline_also]))
