"""KPIs: the summary a collections manager reads (primer §2), computed from a finished model.

:func:`compute_kpis` turns the model's counters (:class:`~collectsim.agents.counters.Tally`)
and the per-account results on the borrower population into KPIs, portfolio-wide and per
observable risk tier, in one pass over the book. The names, labels, units and better
directions of the KPIs are the catalogue (:mod:`collectsim.results.catalogue`).
"""

from __future__ import annotations

import numpy as np

from collectsim.kernels import njit
from collectsim.model import CollectionsModel
from collectsim.vocabulary.accounts import BUCKETS, CURED, PAID, SETTLED
from collectsim.vocabulary.channels import CALL, CHANNELS, VISIT

__all__ = ["compute_kpis"]

def _safe(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


# per-tier totals gathered in one pass over the book (:func:`_tier_totals`)
(_N, _B0, _A0, _COLLECTED, _DISCOUNT, _CHARGED, _BALANCE, _CURED, _PAID, _SETTLED, _COMPLAINTS, _WORKED,
 _CHURNED, _OVERDUE_COLLECTED) = range(14)


@njit
def _tier_totals(n_tiers, n_segments, tier, segment, status, balance0, arrears0, collected, discount, charged_off,
                 balance, complaints, last_contact_day, churned, cost_cents):
    """Per tier: the integer totals above, churned customers by segment, cost (cents)."""
    tot = np.zeros((n_tiers, 14), dtype=np.int64)
    churn_seg = np.zeros((n_tiers, n_segments), dtype=np.int64)
    cost = np.zeros(n_tiers, dtype=np.float64)
    for i in range(len(tier)):
        k = tier[i]
        t = tot[k]
        t[_N] += 1
        t[_B0] += balance0[i]
        t[_A0] += arrears0[i]
        t[_COLLECTED] += collected[i]
        t[_OVERDUE_COLLECTED] += min(collected[i], arrears0[i])  # what repaid the entry arrears
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
        "overdue_recovery_rate": _safe(int(t[_OVERDUE_COLLECTED]), a0),
        "collected_over_entry_overdue": _safe(collected, a0),
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
        "complaints_per_1k_worked": _safe(1000.0 * complaints, worked) if worked else 0.0,
        "complaints_per_1k_accounts": _safe(1000.0 * complaints, n),
        "accounts_worked": worked,
        "churn_rate": _safe(churned, resolved),
        "churned": churned,
        "lost_clv": lost,
    }
    return out


def compute_kpis(model: CollectionsModel) -> tuple[dict, dict]:
    """KPIs of a finished model: portfolio-wide, and per observable risk tier (by tier name)."""
    pop = model.borrowers
    t = model.tally
    n_tiers = len(pop.tier_names)
    tot, churn_seg, tier_cost = _tier_totals(
        n_tiers, len(pop.clv_by_segment), pop.tier, pop.segment, pop.status, pop.balance0, pop.arrears0,
        pop.collected, pop.discount, pop.charged_off, pop.balance, pop.complaints, pop.last_contact_day,
        pop.churned, pop.cost_cents,
    )
    clv, dic = pop.clv_by_segment, pop.discount_is_cost
    total_cost = t.contact_cost_cents + t.team_cost_cents + t.effort_cost_cents
    overall = _block(tot.sum(axis=0), churn_seg.sum(axis=0), clv, total_cost, dic)
    calls = int(t.contacts[CALL])
    overall.update(
        {
            "contact_rate": _safe(t.connected[CALL], calls),
            "rpc_rate": _safe(t.reached[CALL], calls),
            "contact_rates": {c: _safe(t.connected[i], t.contacts[i]) for i, c in enumerate(CHANNELS)},
            "rpc_rates": {c: _safe(t.reached[i], t.contacts[i]) for i, c in enumerate(CHANNELS)},
            "ptp_rate": _safe(t.ptp_made, t.conversations),
            "kept_rate": _safe(t.ptp_kept, t.ptp_due),
            "unworked": int(sum(t.unworked.values())),
            "conversations": t.conversations,
            "field_visits_reached": int(t.reached[VISIT]),
            "contacts": {c: int(t.contacts[i]) for i, c in enumerate(CHANNELS)},
            "connected": {c: int(t.connected[i]) for i, c in enumerate(CHANNELS)},
            "reached": {c: int(t.reached[i]) for i, c in enumerate(CHANNELS)},
            "blocked": dict(model.rule_engine.blocked),
            "requested": t.requested,
            "roll_rates": _rolls(t.roll_num.sum(axis=0), t.roll_den.sum(axis=0)),
            "plans": {
                "offered": t.plans_offered,
                "accepted": t.plans_accepted,
                "broken": t.plans_broken,
            },
            "settlements": {"offered": t.settlements_offered, "accepted": t.settlements_accepted},
            "optouts": t.optouts,
            "effort_units": float(t.effort_units),
            "effort_cost": t.effort_cost_cents / 100.0,
            "unworked_by_team": {name: int(t.unworked.get(name, 0)) for name in model.teams},
            "utilisation": {name: team.utilisation(model.day + 1) for name, team in model.teams.items()},
        }
    )
    if pop.entries[1:].sum() > 0:  # an open book: the same KPIs by vintage (month of entry)
        vintage = (pop.entry_day // 30).astype(np.int64)
        months = int(vintage.max()) + 1
        vtot, vchurn, vcost = _tier_totals(
            months, len(pop.clv_by_segment), vintage, pop.segment, pop.status, pop.balance0, pop.arrears0,
            pop.collected, pop.discount, pop.charged_off, pop.balance, pop.complaints, pop.last_contact_day,
            pop.churned, pop.cost_cents,
        )
        overall["vintages"] = {
            f"month {m}": _block(vtot[m], vchurn[m], clv, float(vcost[m]), dic) for m in range(months) if vtot[m][_N]
        }
    tiers = {}
    for k, name in enumerate(pop.tier_names):
        block = _block(tot[k], churn_seg[k], clv, float(tier_cost[k]), dic)
        block["contacts"] = {c: int(pop.tier_contacts[k, i]) for i, c in enumerate(CHANNELS)}
        block["roll_rates"] = _rolls(t.roll_num[k], t.roll_den[k])
        block["contact_rate"] = _safe(pop.tier_connected[k, CALL], pop.tier_contacts[k, CALL])
        block["rpc_rate"] = _safe(pop.tier_reached[k, CALL], pop.tier_contacts[k, CALL])
        tiers[name] = block
    return overall, tiers


def _rolls(num: np.ndarray, den: np.ndarray) -> dict[str, float | None]:
    return {
        f"{BUCKETS[k]}->{BUCKETS[k + 1]}": _safe(num[k], den[k]) for k in range(len(BUCKETS) - 1)
    }
