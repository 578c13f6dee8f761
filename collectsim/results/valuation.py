"""What a result is worth: the economic value of a strategy, part by part (docs/model.md §Valuation).

A lender values a collections strategy by the present value of what it brings in::

    net_value = discounted_collected − discounted_treatment_cost
                + cured_value + debt_sale_value + residual_value

* ``discounted_collected``: every payment of the horizon × e^{−ρ(t+1)/365} (day t);
* ``discounted_treatment_cost``: every day's contact and collector-team cost, discounted;
* ``cured_value``: a cured account's outstanding balance is a performing loan again, worth
  ``performing_value_rate`` per unit (par less its expected re-default loss), at its cure day;
* ``debt_sale_value``: a charged-off balance × ``debt_sale_rate`` (sold or placed), at its
  charge-off day;
* ``residual_value``: the accounts still in collections at the horizon, valued by running the
  model on after the horizon under the run-off policy until each resolves or charges off
  (:meth:`collectsim.model.CollectionsModel.run_off`): the same four parts for the run-off.

All at day 0 with the scenario's ``valuation`` rates; ``expected_loss = balance at entry −
net_value``. Per tier the same, with the treatment cost booked to the tier's accounts (the
collectors' idle minutes are a portfolio cost no tier carries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collectsim.model import CollectionsModel
from collectsim.vocabulary.accounts import ACTIVE, CHARGED_OFF, CURED
from collectsim.vocabulary.units import CENTS_PER_UNIT, DT

__all__ = ["BookAtHorizon", "book_at_horizon", "compute_value", "VALUE_PARTS"]

#: The parts of net value, in the order they are reported (signs: + + + −, see the module docstring).
VALUE_PARTS: tuple[str, ...] = (
    "discounted_collected",
    "discounted_treatment_cost",
    "cured_value",
    "debt_sale_value",
    "residual_value",
)


@dataclass(frozen=True)
class BookAtHorizon:
    """What the valuation needs from the model at the horizon, by account number."""

    day: int  #: the first day after the horizon
    discounted_collected: np.ndarray  #: cents, per account
    discounted_cost: np.ndarray  #: cents booked to each account
    open: np.ndarray  #: still in collections
    balance: np.ndarray  #: outstanding balance, cents
    discount: np.ndarray  #: settlement discounts given so far, cents
    portfolio_discounted_cost: float  #: cents, every day's whole cost (idle team time included)


def book_at_horizon(model: CollectionsModel) -> BookAtHorizon:
    """Take what the valuation needs from ``model`` at the end of its horizon."""
    pop = model.borrowers
    order = np.argsort(pop.account_id[: pop.n])

    def by_account(a: np.ndarray) -> np.ndarray:
        return a[order].copy()

    return BookAtHorizon(
        day=model.day + 1,
        discounted_collected=by_account(pop.discounted_collected_cents),
        discounted_cost=by_account(pop.discounted_cost_cents),
        open=by_account(pop.status == ACTIVE),
        balance=by_account(pop.balance),
        discount=by_account(pop.discount),
        portfolio_discounted_cost=float(model.tally.discounted_cost_cents),
    )


def compute_value(model: CollectionsModel, horizon: BookAtHorizon, runoff_days: int, runoff_policy: str,
                  ) -> tuple[dict, dict]:
    """Net value and its parts, portfolio-wide and per tier, for a model run to the end of its
    run-off (``runoff_days`` after ``horizon``, every account in the slot of its number)."""
    pop = model.borrowers
    val = model.valuation
    n_tiers = len(pop.tier_names)
    rho = pop.rho
    resolved = pop.resolved_day.astype(np.int64)
    disc_at_resolution = np.exp(-rho * (resolved + 1) * DT)
    in_horizon = (resolved >= 0) & (resolved < horizon.day)
    in_runoff = resolved >= horizon.day
    cured = pop.status == CURED
    charged = pop.status == CHARGED_OFF
    cured_value = np.where(cured, val.performing_value_rate * pop.balance * disc_at_resolution, 0.0)
    sale_value = np.where(charged, val.debt_sale_rate * pop.charged_off * disc_at_resolution, 0.0)
    residual = (
        pop.discounted_collected_cents - horizon.discounted_collected
        - (pop.discounted_cost_cents - horizon.discounted_cost)
        + np.where(in_runoff, cured_value + sale_value, 0.0)
    )
    still_open = pop.status == ACTIVE
    end_disc = float(np.exp(-rho * (horizon.day + runoff_days) * DT))

    def block(mask: np.ndarray | None, cost: float) -> dict:
        sel = slice(None) if mask is None else mask

        def total(a: np.ndarray) -> float:
            return float(a[sel].sum())

        parts = {
            "discounted_collected": total(horizon.discounted_collected),
            "discounted_treatment_cost": cost,
            "cured_value": total(np.where(in_horizon, cured_value, 0.0)),
            "debt_sale_value": total(np.where(in_horizon, sale_value, 0.0)),
            "residual_value": total(residual),
        }
        net = (parts["discounted_collected"] - parts["discounted_treatment_cost"] + parts["cured_value"]
               + parts["debt_sale_value"] + parts["residual_value"])
        b0 = total(pop.balance0)
        out = {k: v / CENTS_PER_UNIT for k, v in parts.items()}
        out["net_value"] = net / CENTS_PER_UNIT
        out["expected_loss"] = (b0 - net) / CENTS_PER_UNIT
        out["net_value_rate"] = net / b0 if b0 else None
        out["discounted_recovery_rate"] = parts["discounted_collected"] / b0 if b0 else None
        return out

    overall = block(None, horizon.portfolio_discounted_cost)
    allocated = float(horizon.discounted_cost.sum())
    overall["discounted_idle_team_cost"] = (horizon.portfolio_discounted_cost - allocated) / CENTS_PER_UNIT
    runoff_collected = pop.discounted_collected_cents - horizon.discounted_collected
    runoff_cost = pop.discounted_cost_cents - horizon.discounted_cost
    overall["runoff"] = {
        "policy": runoff_policy,
        "days": int(runoff_days),
        "open_accounts": int(horizon.open.sum()),
        "open_balance": float(horizon.balance[horizon.open].sum()) / CENTS_PER_UNIT,
        "collected": float(runoff_collected.sum()) / CENTS_PER_UNIT,
        "treatment_cost": float(runoff_cost.sum()) / CENTS_PER_UNIT,
        "cured_value": float(cured_value[in_runoff].sum()) / CENTS_PER_UNIT,
        "debt_sale_value": float(sale_value[in_runoff].sum()) / CENTS_PER_UNIT,
        "chargeoff_balance": float(pop.charged_off[in_runoff & charged].sum()) / CENTS_PER_UNIT,
        "discounts_given": float((pop.discount - horizon.discount).sum()) / CENTS_PER_UNIT,
        "cured_accounts": int((in_runoff & cured).sum()),
        "charged_off_accounts": int((in_runoff & charged).sum()),
        "still_open_accounts": int(still_open.sum()),
        "unvalued_balance": float(pop.balance[still_open].sum()) / CENTS_PER_UNIT,
        "unvalued_bound": float(pop.balance[still_open].sum()) * end_disc / CENTS_PER_UNIT,
    }
    tiers = {}
    tier_cost = np.bincount(pop.tier, weights=horizon.discounted_cost, minlength=n_tiers)
    for k, name in enumerate(pop.tier_names):
        tiers[name] = block(pop.tier == k, float(tier_cost[k]))
    return overall, tiers
