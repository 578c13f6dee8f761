"""Counters the model fills day by day, and the KPIs computed from them.

:class:`Tally` holds the running totals (portfolio-wide, per day and per channel).
Per-account results (collected, complaints, churn, ...) live on the borrower population;
:func:`kpis` turns both into the summary a collections manager reads (primer §2), overall
and per observable risk tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from collectsim.sim.channels import CALL, CHANNELS, VISIT
from collectsim.sim.rng import njit
from collectsim.sim.scenario import BUCKETS

__all__ = ["Tally", "kpis", "KPI_NAMES", "STATUS_NAMES", "ACTIVE", "CURED", "PAID", "SETTLED", "CHARGED_OFF"]

#: Account status codes.
ACTIVE, CURED, PAID, SETTLED, CHARGED_OFF = range(5)
STATUS_NAMES: tuple[str, ...] = ("active", "cured", "paid", "settled", "charged_off")

#: Names of the scalar KPIs in ``summary.json["kpis"]`` (plus the dicts roll_rates,
#: contacts, blocked, violations).
KPI_NAMES: tuple[str, ...] = (
    "accounts",
    "initial_balance",
    "collected",
    "recovery_rate",
    "overdue_at_entry",
    "overdue_recovery_rate",
    "net_recovery",
    "treatment_cost",
    "discounts_given",
    "charged_off_balance",
    "outstanding_balance",
    "cure_rate",
    "paid_rate",
    "settled_rate",
    "chargeoff_rate",
    "rpc_rate",
    "ptp_rate",
    "kept_rate",
    "cost_to_collect",
    "complaints",
    "complaints_per_1k",
    "accounts_worked",
    "churn_rate",
    "churned",
    "lost_clv",
    "unworked",
)


@dataclass
class Tally:
    """Running portfolio-wide counters (money in cents)."""

    n_channels: int = len(CHANNELS)
    contacts: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), np.int64))
    reached: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), np.int64))
    contact_cost_cents: float = 0.0
    team_cost_cents: float = 0.0
    ptp_made: int = 0
    ptp_due: int = 0
    ptp_kept: int = 0
    plans_offered: int = 0
    plans_accepted: int = 0
    plans_broken: int = 0
    settlements_offered: int = 0
    settlements_accepted: int = 0
    conversations: int = 0
    optouts: int = 0
    unworked: dict[str, int] = field(default_factory=dict)
    requested: int = 0
    #: roll-rate accumulators: numerator/denominator per (tier, bucket)
    roll_num: np.ndarray | None = None
    roll_den: np.ndarray | None = None
    #: today's figures, reset each day (for the daily series)
    today: dict[str, float] = field(default_factory=dict)

    def new_day(self) -> None:
        """Reset the daily figures."""
        self.today = {
            "collected": 0.0,
            "cost": 0.0,
            "complaints": 0.0,
            "optouts": 0.0,
            "blocked": 0.0,
            "requested": 0.0,
            "rpcs": 0.0,
            "ptps": 0.0,
            **{f"contacts_{c}": 0.0 for c in CHANNELS},
        }


def _safe(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


# per-tier totals gathered in one pass over the book (:func:`_tier_totals`)
(_N, _B0, _A0, _COLLECTED, _DISCOUNT, _CHARGED, _BALANCE, _CURED, _PAID, _SETTLED, _COMPLAINTS, _WORKED,
 _CHURNED) = range(13)


@njit
def _tier_totals(n_tiers, n_segments, tier, segment, status, balance0, arrears0, collected, discount, charged_off,
                 balance, complaints, last_contact_day, churned, cost_cents):
    """Per tier: the integer totals above, churned customers by segment, cost (cents)."""
    tot = np.zeros((n_tiers, 13), dtype=np.int64)
    churn_seg = np.zeros((n_tiers, n_segments), dtype=np.int64)
    cost = np.zeros(n_tiers, dtype=np.float64)
    for i in range(len(tier)):
        k = tier[i]
        t = tot[k]
        t[_N] += 1
        t[_B0] += balance0[i]
        t[_A0] += arrears0[i]
        t[_COLLECTED] += collected[i]
        t[_DISCOUNT] += discount[i]
        t[_CHARGED] += charged_off[i]
        t[_BALANCE] += balance[i]
        st = status[i]
        t[_CURED] += st == CURED
        t[_PAID] += st == PAID
        t[_SETTLED] += st == SETTLED
        t[_COMPLAINTS] += complaints[i]
        t[_WORKED] += last_contact_day[i] >= 0
        if churned[i]:
            t[_CHURNED] += 1
            churn_seg[k, segment[i]] += 1
        cost[k] += cost_cents[i]
    return tot, churn_seg, cost


def _block(t: np.ndarray, churn_seg: np.ndarray, clv_by_segment: np.ndarray, cost_cents: float,
           discount_is_cost: int) -> dict:
    """KPIs of a group of accounts from its totals ``t`` (see :func:`_tier_totals`)."""
    n = int(t[_N])
    b0, a0 = int(t[_B0]), int(t[_A0])
    collected, discounts, charged = int(t[_COLLECTED]), int(t[_DISCOUNT]), int(t[_CHARGED])
    complaints, worked, churned = int(t[_COMPLAINTS]), int(t[_WORKED]), int(t[_CHURNED])
    resolved = int(t[_CURED] + t[_PAID] + t[_SETTLED])
    lost = float((clv_by_segment * churn_seg).sum())
    cents = 100.0
    out = {
        "accounts": n,
        "initial_balance": b0 / cents,
        "collected": collected / cents,
        "recovery_rate": _safe(collected, b0),
        "overdue_at_entry": a0 / cents,
        "overdue_recovery_rate": _safe(collected, a0),
        "net_recovery": (collected - cost_cents - discounts * discount_is_cost) / cents,
        "treatment_cost": cost_cents / cents,
        "discounts_given": discounts / cents,
        "charged_off_balance": charged / cents,
        "outstanding_balance": int(t[_BALANCE]) / cents,
        "cure_rate": _safe(int(t[_CURED]), n),
        "paid_rate": _safe(int(t[_PAID]), n),
        "settled_rate": _safe(int(t[_SETTLED]), n),
        "chargeoff_rate": _safe(charged, b0),
        "cost_to_collect": _safe(cost_cents, collected),
        "complaints": complaints,
        "complaints_per_1k": _safe(1000.0 * complaints, worked) if worked else 0.0,
        "accounts_worked": worked,
        "churn_rate": _safe(churned, resolved),
        "churned": churned,
        "lost_clv": lost,
    }
    return out


def kpis(model) -> tuple[dict, dict]:
    """Summary KPIs overall and per risk tier for a finished :class:`CollectionsModel`."""
    pop = model.borrowers
    t: Tally = model.tally
    n_tiers = len(pop.tier_names)
    tot, churn_seg, tier_cost = _tier_totals(
        n_tiers, len(pop.clv_by_segment), pop.tier, pop.segment, pop.status, pop.balance0, pop.arrears0,
        pop.collected, pop.discount, pop.charged_off, pop.balance, pop.complaints, pop.last_contact_day,
        pop.churned, pop.cost_cents,
    )
    clv, dic = pop.clv_by_segment, pop.discount_is_cost
    total_cost = t.contact_cost_cents + t.team_cost_cents
    overall = _block(tot.sum(axis=0), churn_seg.sum(axis=0), clv, total_cost, dic)
    calls = int(t.contacts[CALL])
    overall.update(
        {
            "rpc_rate": _safe(t.reached[CALL], calls),
            "ptp_rate": _safe(t.ptp_made, t.conversations),
            "kept_rate": _safe(t.ptp_kept, t.ptp_due),
            "unworked": int(sum(t.unworked.values())),
            "conversations": t.conversations,
            "field_visits_reached": int(t.reached[VISIT]),
            "contacts": {c: int(t.contacts[i]) for i, c in enumerate(CHANNELS)},
            "reached": {c: int(t.reached[i]) for i, c in enumerate(CHANNELS)},
            "blocked": dict(model.rules.blocked),
            "requested": t.requested,
            "roll_rates": _rolls(t.roll_num.sum(axis=0), t.roll_den.sum(axis=0)),
            "plans": {
                "offered": t.plans_offered,
                "accepted": t.plans_accepted,
                "broken": t.plans_broken,
            },
            "settlements": {"offered": t.settlements_offered, "accepted": t.settlements_accepted},
            "optouts": t.optouts,
            "unworked_by_team": dict(t.unworked),
        }
    )
    if model.spec.portfolio.discount_rate_per_year is not None:
        overall["discounted_collected"] = float(pop.discounted_collected_cents.sum()) / 100.0
        overall["discounted_recovery_rate"] = _safe(
            float(pop.discounted_collected_cents.sum()), float(pop.balance0.sum())
        )
    segments = {}
    for k, name in enumerate(pop.tier_names):
        block = _block(tot[k], churn_seg[k], clv, float(tier_cost[k]), dic)
        block["contacts"] = {c: int(pop.tier_contacts[k, i]) for i, c in enumerate(CHANNELS)}
        block["roll_rates"] = _rolls(t.roll_num[k], t.roll_den[k])
        block["rpc_rate"] = _safe(pop.tier_reached[k, CALL], pop.tier_contacts[k, CALL])
        segments[name] = block
    return overall, segments


def _rolls(num: np.ndarray, den: np.ndarray) -> dict[str, float | None]:
    return {
        f"{BUCKETS[k]}->{BUCKETS[k + 1]}": _safe(num[k], den[k]) for k in range(len(BUCKETS) - 1)
    }
