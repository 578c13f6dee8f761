"""The KPI catalogue: every KPI's name, label, unit and better direction, in one place.

Metrics compute the KPIs named here (:mod:`collectsim.results.kpis`; a test checks every
scalar KPI a run reports is catalogued), comparisons and the optimizer pick theirs from
here, and reports and the command line take labels, units and formats from here.

Units: ``money`` and ``count`` are portfolio totals (a comparison can report them per
1,000 accounts); ``share`` is a fraction (shown in %); ``per_1k`` is already per 1,000
accounts of the book, ``per_1k_worked`` per 1,000 accounts worked; ``ratio`` is a plain
ratio.
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
    "markdown_table",
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
        ``money``, ``count``, ``share``, ``per_1k``, ``per_1k_worked`` or ``ratio`` (module docstring).
    higher_is_better:
        ``True``/``False``, or ``None`` when neither direction is better.
    definition:
        How it is computed, in words (``docs/outputs.md`` shows them all).
    """

    name: str
    label: str
    unit: Literal["money", "count", "share", "per_1k", "per_1k_worked", "ratio"]
    higher_is_better: bool | None
    definition: str = ""

    @property
    def total(self) -> bool:
        """A portfolio total (money or count): divided by accounts when normalised."""
        return self.unit in ("money", "count")


def _k(name: str, label: str, unit: str, better: bool | None, definition: str = "") -> KpiInfo:
    return KpiInfo(name, label, unit, better, definition)  # type: ignore[arg-type]


#: Every scalar KPI, by name.
KPIS: dict[str, KpiInfo] = {
    k.name: k
    for k in (
        _k("net_value", "net value", "money", True,
           "discounted collected − discounted treatment cost + cured value + debt-sale value + residual value "
           "(docs/model.md §Valuation): what the strategy is worth to the lender"),
        _k("expected_loss", "expected loss", "money", False, "balance at entry − net value"),
        _k("net_value_rate", "net value rate", "share", True, "net value / balance at entry"),
        _k("discounted_treatment_cost", "discounted treatment cost", "money", False,
           "every day's contact and collector-team cost × e^(−ρ(t+1)/365)"),
        _k("cured_value", "value of cured balances", "money", True,
           "Σ over accounts cured in the horizon: outstanding balance × performing_value_rate × e^(−ρ(t+1)/365)"),
        _k("debt_sale_value", "debt-sale value", "money", True,
           "Σ over accounts charged off in the horizon: charged-off balance × debt_sale_rate × e^(−ρ(t+1)/365)"),
        _k("residual_value", "residual value of open accounts", "money", True,
           "the accounts still in collections at the horizon, run off under valuation.runoff_policy until they "
           "resolve: their discounted collections − costs + cured and debt-sale value"),
        _k("discounted_idle_team_cost", "discounted idle collector time", "money", False,
           "the part of the discounted team cost no account was worked for (portfolio only)"),
        _k("net_recovery", "net recovery", "money", True,
           "collected − treatment cost − settlement discounts given (primer §2; discounts count when `costs.settlement_discount_counts_as_cost`)"),
        _k("collected", "cash collected", "money", True,
           "cash received from the accounts over the horizon"),
        _k("recovery_rate", "recovery rate", "share", True,
           "collected / balance at entry"),
        _k("overdue_recovery_rate", "overdue recovery rate", "share", True,
           "Σ min(collected, arrears at entry) / arrears at entry: the share of the entry overdue amount repaid "
           "(≤ 100 %)"),
        _k("collected_over_entry_overdue", "cash collected over the entry overdue amount", "ratio", True,
           "collected / arrears at entry (uncapped: later instalments and balances count too)"),
        _k("discounted_collected", "discounted cash collected", "money", True,
           "Σ payments of the horizon × e^(−ρ(t+1)/365), ρ = valuation.discount_rate_per_year"),
        _k("discounted_recovery_rate", "discounted recovery rate", "share", True,
           "discounted collected / balance at entry"),
        _k("treatment_cost", "treatment cost", "money", False,
           "contact costs (per executed contact) + collector team costs (per working day) + direct effort cost"),
        _k("effort_cost", "direct effort cost", "money", False,
           "units of direct effort × costs.effort_cost_per_unit (part of the treatment cost)"),
        _k("discounts_given", "settlement discounts", "money", False,
           "balance forgiven by accepted settlements"),
        _k("charged_off_balance", "balance charged off", "money", False,
           "balance written off at the charge-off DPD"),
        _k("outstanding_balance", "balance outstanding", "money", False,
           "balance still owed at the horizon (cured accounts' balances included)"),
        _k("lost_clv", "customer lifetime value lost", "money", False,
           "Σ over churned customers of their segment's customer lifetime value"),
        _k("initial_balance", "balance at entry", "money", None,
           "balance of the book at entry"),
        _k("overdue_at_entry", "overdue at entry", "money", None,
           "arrears of the book at entry"),
        _k("cure_rate", "cure rate", "share", True,
           "accounts cured (arrears paid, back to current) / accounts"),
        _k("paid_rate", "paid-in-full rate", "share", True,
           "accounts that paid their whole balance / accounts"),
        _k("settled_rate", "settled rate", "share", None,
           "accounts that accepted a settlement / accounts"),
        _k("chargeoff_rate", "charge-off rate", "share", False,
           "balance charged off / balance at entry"),
        _k("contact_rate", "contact rate", "share", True,
           "agent call attempts that were answered (by anyone) / call attempts (primer §4: 20–30 %)"),
        _k("rpc_rate", "right-party-contact rate", "share", True,
           "agent call attempts that reached the debtor themself / call attempts (primer §4: < 30 % of connects)"),
        _k("ptp_rate", "promise-to-pay rate", "share", True,
           "promises to pay / conversations"),
        _k("kept_rate", "promise kept rate", "share", True,
           "promises kept / promises due"),
        _k("churn_rate", "churn rate", "share", False,
           "resolved customers (cured, paid, settled) who leave / resolved customers"),
        _k("cost_to_collect", "cost to collect", "ratio", False,
           "treatment cost / collected"),
        _k("complaints_per_1k_accounts", "complaints per 1,000 accounts", "per_1k", False,
           "complaints × 1,000 / accounts in the book (a fixed denominator: comparable across policies)"),
        _k("complaints_per_1k_worked", "complaints per 1,000 accounts worked", "per_1k_worked", False,
           "complaints × 1,000 / accounts worked (contacted at least once)"),
        _k("complaints", "complaints", "count", False,
           "complaints drawn by executed contacts"),
        _k("churned", "customers lost", "count", False,
           "resolved customers who leave after collections"),
        _k("unworked", "requests left unworked", "count", False,
           "allowed agent-channel attempts the collectors had no minutes for"),
        _k("optouts", "opt-outs", "count", False,
           "opt-outs from a channel"),
        _k("effort_units", "direct effort units", "count", None,
           "units of direct effort applied (each raises λ by the segment's delta2; docs/model.md §Direct effort)"),
        _k("conversations", "conversations", "count", True,
           "right-party conversations (a reached call or visit; one per account and day)"),
        _k("accounts_worked", "accounts worked", "count", None,
           "accounts with at least one executed contact"),
        _k("requested", "contacts requested", "count", None,
           "contacts the policy asked for (accounts still in collections)"),
        _k("accounts", "accounts", "count", None,
           "accounts in the book (or tier)"),
        _k("field_visits_reached", "field visits that reached the debtor", "count", None,
           "field visits that reached the debtor"),
        _k("violations_total", "rule violations found by the audit", "count", False,
           "executed contacts the independent audit finds against a rule (always 0)"),
        *(_k(f"contacts.{c}", f"{c} contacts", "count", None, f"executed {c} contacts") for c in CHANNELS),
    )
}

#: The KPIs ``collectsim run`` prints, in order (those a run reports).
RUN_SUMMARY: tuple[str, ...] = (
    "net_value",
    "expected_loss",
    "collected",
    "recovery_rate",
    "overdue_recovery_rate",
    "net_recovery",
    "cure_rate",
    "chargeoff_rate",
    "rpc_rate",
    "kept_rate",
    "complaints_per_1k_accounts",
    "complaints_per_1k_worked",
    "churn_rate",
    "lost_clv",
    "unworked",
    "violations_total",
)

#: KPIs a comparison reports when the experiment file names none.
COMPARE_DEFAULT: tuple[str, ...] = (
    "net_value",
    "discounted_collected",
    "cured_value",
    "residual_value",
    "discounted_treatment_cost",
    "expected_loss",
    "collected",
    "recovery_rate",
    "overdue_recovery_rate",
    "net_recovery",
    "cure_rate",
    "chargeoff_rate",
    "rpc_rate",
    "kept_rate",
    "complaints_per_1k_accounts",
    "complaints_per_1k_worked",
    "churn_rate",
    "lost_clv",
    "unworked",
)

#: KPIs the optimizer records per replication for every trial (means in ``trials.csv``).
OPTIMIZE_RECORDED: tuple[str, ...] = (
    "net_value",
    "discounted_collected",
    "discounted_treatment_cost",
    "cured_value",
    "debt_sale_value",
    "residual_value",
    "expected_loss",
    "net_recovery",
    "collected",
    "recovery_rate",
    "treatment_cost",
    "discounts_given",
    "complaints",
    "complaints_per_1k_accounts",
    "complaints_per_1k_worked",
    "lost_clv",
    "churn_rate",
    "churned",
    "cure_rate",
    "chargeoff_rate",
    "unworked",
)

#: KPIs the optimizer compares with the champion on the validation seeds (besides the objective).
OPTIMIZE_COMPARED: tuple[str, ...] = (
    "net_value",
    "discounted_collected",
    "cured_value",
    "residual_value",
    "discounted_treatment_cost",
    "expected_loss",
    "net_recovery",
    "collected",
    "treatment_cost",
    "discounts_given",
    "complaints_per_1k_accounts",
    "complaints_per_1k_worked",
    "lost_clv",
    "churn_rate",
    "recovery_rate",
    "unworked",
)


def check_kpi(name: str) -> str:
    """Return ``name`` if it is in :data:`KPIS`, else raise ``ValueError`` naming the allowed ones."""
    if name in KPIS:
        return name
    near = difflib.get_close_matches(name, list(KPIS), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(f"unknown KPI{hint}; allowed: {', '.join(KPIS)}")


def markdown_table() -> str:
    """The catalogue as a Markdown table (``docs/outputs.md`` holds it; a test keeps it current)."""
    better = {True: "higher", False: "lower", None: "—"}
    rows = ["| KPI | label | unit | better | definition |", "| --- | --- | --- | --- | --- |"]
    for k in KPIS.values():
        rows.append(f"| `{k.name}` | {k.label} | {k.unit} | {better[k.higher_is_better]} | {k.definition} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - python -m collectsim.results.catalogue
    print(markdown_table(), end="")
