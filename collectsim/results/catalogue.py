"""The KPI catalogue: every KPI's name, label, unit and better direction, in one place.

Metrics compute the KPIs named here (:mod:`collectsim.results.kpis`; a test checks every
scalar KPI a run reports is catalogued), comparisons and the optimizer pick theirs from
here, and reports and the command line take labels, units and formats from here.

Units: ``money`` and ``count`` are portfolio totals (a comparison can report them per
1,000 accounts); ``share`` is a fraction (shown in %); ``per_1k_worked`` is already per
1,000 accounts worked; ``ratio`` is a plain ratio.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from collectsim.vocabulary.channels import CHANNELS

__all__ = [
    "KpiInfo",
    "KPIS",
    "RUN_SUMMARY",
    "COMPARE_DEFAULT",
    "OPTIMIZE_RECORDED",
    "OPTIMIZE_COMPARED",
    "check_kpi",
]


@dataclass(frozen=True)
class KpiInfo:
    """What reports, comparisons and the optimizer need to know about one KPI.

    Attributes
    ----------
    name:
        The key in ``SimulationResult.kpis`` (``contacts.sms`` for an entry of a dict KPI).
    label:
        Words for reports ("net recovery").
    unit:
        ``money``, ``count``, ``share``, ``per_1k_worked`` or ``ratio`` (module docstring).
    higher_is_better:
        ``True``/``False``, or ``None`` when neither direction is better.
    """

    name: str
    label: str
    unit: Literal["money", "count", "share", "per_1k_worked", "ratio"]
    higher_is_better: bool | None

    @property
    def total(self) -> bool:
        """A portfolio total (money or count): divided by accounts when normalised."""
        return self.unit in ("money", "count")


def _k(name: str, label: str, unit: str, better: bool | None) -> KpiInfo:
    return KpiInfo(name, label, unit, better)  # type: ignore[arg-type]


#: Every scalar KPI, by name.
KPIS: dict[str, KpiInfo] = {
    k.name: k
    for k in (
        _k("net_recovery", "net recovery", "money", True),
        _k("collected", "cash collected", "money", True),
        _k("recovery_rate", "recovery rate", "share", True),
        _k("overdue_recovery_rate", "overdue recovery rate", "share", True),
        _k("discounted_collected", "discounted cash collected", "money", True),
        _k("discounted_recovery_rate", "discounted recovery rate", "share", True),
        _k("treatment_cost", "treatment cost", "money", False),
        _k("discounts_given", "settlement discounts", "money", False),
        _k("charged_off_balance", "balance charged off", "money", False),
        _k("outstanding_balance", "balance outstanding", "money", False),
        _k("lost_clv", "customer lifetime value lost", "money", False),
        _k("initial_balance", "balance at entry", "money", None),
        _k("overdue_at_entry", "overdue at entry", "money", None),
        _k("cure_rate", "cure rate", "share", True),
        _k("paid_rate", "paid-in-full rate", "share", True),
        _k("settled_rate", "settled rate", "share", None),
        _k("chargeoff_rate", "charge-off rate", "share", False),
        _k("rpc_rate", "right-party-contact rate", "share", True),
        _k("ptp_rate", "promise-to-pay rate", "share", True),
        _k("kept_rate", "promise kept rate", "share", True),
        _k("churn_rate", "churn rate", "share", False),
        _k("cost_to_collect", "cost to collect", "ratio", False),
        _k("complaints_per_1k", "complaints per 1,000 accounts worked", "per_1k_worked", False),
        _k("complaints", "complaints", "count", False),
        _k("churned", "customers lost", "count", False),
        _k("unworked", "requests left unworked", "count", False),
        _k("optouts", "opt-outs", "count", False),
        _k("conversations", "conversations", "count", True),
        _k("accounts_worked", "accounts worked", "count", None),
        _k("requested", "contacts requested", "count", None),
        _k("accounts", "accounts", "count", None),
        _k("field_visits_reached", "field visits that reached the debtor", "count", None),
        _k("violations_total", "rule violations found by the audit", "count", False),
        *(_k(f"contacts.{c}", f"{c} contacts", "count", None) for c in CHANNELS),
    )
}

#: The KPIs ``collectsim run`` prints, in order (those a run reports).
RUN_SUMMARY: tuple[str, ...] = (
    "recovery_rate",
    "collected",
    "discounted_collected",
    "net_recovery",
    "cure_rate",
    "chargeoff_rate",
    "rpc_rate",
    "kept_rate",
    "complaints_per_1k",
    "churn_rate",
    "lost_clv",
    "violations_total",
)

#: KPIs a comparison reports when the experiment file names none.
COMPARE_DEFAULT: tuple[str, ...] = (
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

#: KPIs the optimizer records per replication for every trial (means in ``trials.csv``).
OPTIMIZE_RECORDED: tuple[str, ...] = (
    "net_recovery",
    "collected",
    "recovery_rate",
    "treatment_cost",
    "discounts_given",
    "complaints",
    "complaints_per_1k",
    "lost_clv",
    "churn_rate",
    "churned",
    "cure_rate",
    "chargeoff_rate",
    "unworked",
)

#: KPIs the optimizer compares with the champion on the validation seeds (besides the objective).
OPTIMIZE_COMPARED: tuple[str, ...] = (
    "net_recovery",
    "collected",
    "treatment_cost",
    "complaints_per_1k",
    "lost_clv",
    "churn_rate",
    "recovery_rate",
)


def check_kpi(name: str) -> str:
    """Return ``name`` if it is in :data:`KPIS`, else raise ``ValueError`` naming the allowed ones."""
    if name in KPIS:
        return name
    near = difflib.get_close_matches(name, list(KPIS), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(f"unknown KPI{hint}; allowed: {', '.join(KPIS)}")
