"""What a result is worth: net value and its parts, each derived again from its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

import collectsim
from collectsim.experiments import load_experiment
from collectsim.results import VALUE_PARTS
from collectsim.scenario import Scenario
from collectsim.validation.cgw import CGWParams, discrete_daily

POLICIES = sorted(collectsim.BUILTIN_POLICIES)
_SIGN = {"discounted_treatment_cost": -1.0}


def _scenario(product: str = "card", rho: float = 0.06, **extra) -> Scenario:
    data = {"portfolio": {"accounts": 2500, "horizon_days": 60, "product": product},
            "valuation": {"discount_rate_per_year": rho},
            "costs": {"effort_cost_per_unit": 6.0}}  # (priced for cgw-threshold; no other policy uses it)
    data.update(extra)
    return Scenario.model_validate(data)


def _sum_of_parts(block: dict) -> float:
    return sum(_SIGN.get(p, 1.0) * block[p] for p in VALUE_PARTS)


@pytest.mark.parametrize("rho", [0.0, 0.06])
@pytest.mark.parametrize("product", ["card", "instalment"])
@pytest.mark.parametrize("policy", POLICIES)
def test_net_value_is_the_sum_of_its_parts_to_the_cent(policy, product, rho):
    r = collectsim.simulate(_scenario(product, rho), policy, seed=4)
    k = r.kpis
    assert abs(k["net_value"] - _sum_of_parts(k)) < 0.005
    assert abs(k["expected_loss"] - (k["initial_balance"] - k["net_value"])) < 0.005
    for block in r.tiers.values():
        assert abs(block["net_value"] - _sum_of_parts(block)) < 0.005
    # the tiers carry every part but the idle collector time, which only the portfolio carries
    tiers_total = sum(b["net_value"] for b in r.tiers.values())
    assert abs(tiers_total - k["discounted_idle_team_cost"] - k["net_value"]) < 0.01
    assert k["runoff"]["still_open_accounts"] == 0, "a card or instalment book resolves in its run-off"


@pytest.mark.parametrize("policy", ["seed-champion", "max-legal", "cgw-threshold"])
def test_discounted_cash_and_cost_are_the_daily_series_discounted(policy):
    rho = 0.09
    r = collectsim.simulate(_scenario(rho=rho), policy, seed=2)
    factor = np.exp(-rho * (r.daily["day"].to_numpy() + 1) / 365.0)
    assert r.kpis["discounted_collected"] == pytest.approx(float(r.daily["collected"] @ factor), abs=0.01)
    assert r.kpis["discounted_treatment_cost"] == pytest.approx(float(r.daily["cost"] @ factor), abs=0.01)
    assert r.kpis["discounted_collected"] < r.kpis["collected"]


def test_with_par_values_and_no_cost_the_only_loss_is_what_settlements_forgave():
    """ρ = 0, cured and charged-off balances at par, contacts free: every cent of the book is
    collected, cured (still owed, at par), charged off (at par) or forgiven. So the expected
    loss is exactly the settlement discounts — whatever happened in the horizon or the run-off."""
    free = {c: {"cost_per_contact": 0.0} for c in collectsim.Scenario().channels}
    sc = _scenario(
        rho=0.0,
        valuation={"discount_rate_per_year": 0.0, "performing_value_rate": 1.0, "debt_sale_rate": 1.0},
        channels=free,
        teams=[{"name": "phone", "headcount": 20, "cost_per_day": 0.0},
               {"name": "field", "headcount": 2, "cost_per_day": 0.0}],
    )
    for policy in ("seed-champion", "no-contact"):
        r = collectsim.simulate(sc, policy, seed=8)
        k = r.kpis
        assert k["runoff"]["open_accounts"] > 0 and k["runoff"]["still_open_accounts"] == 0
        assert abs(k["expected_loss"] - k["discounts_given"] - k["runoff"]["discounts_given"]) < 0.01, policy


def test_common_random_numbers_hold_through_the_runoff():
    """Two policies that differ only for the low-risk tier value the other tiers identically."""
    from collectsim.policies import Cell, RuleTablePolicy, RuleTableSpec

    sc = _scenario()
    base = [Cell(tiers=["high", "medium"], sms_per_week=2, call_per_week=1, offer="ptp")]
    a = collectsim.simulate(sc, RuleTablePolicy(RuleTableSpec(name="a", cells=base)), seed=9)
    b = collectsim.simulate(
        sc, RuleTablePolicy(RuleTableSpec(name="b", cells=[*base, Cell(tiers=["low"], sms_per_week=3)])), seed=9
    )
    for tier in ("high", "medium"):
        assert a.tiers[tier]["residual_value"] == b.tiers[tier]["residual_value"]
    assert a.tiers["low"]["net_value"] != b.tiers["low"]["net_value"]


def test_runoff_can_be_switched_off_and_then_leaves_the_open_book_unvalued():
    r = collectsim.simulate(_scenario(valuation={"runoff_max_days": 0}), "sms-only", seed=3)
    k = r.kpis
    assert k["residual_value"] == 0.0 and k["runoff"]["days"] == 0
    assert k["runoff"]["unvalued_balance"] == pytest.approx(k["runoff"]["open_balance"])
    assert k["runoff"]["unvalued_balance"] > 0


def _cgw_runoff(accounts: int, horizon: int, runoff: int, seed: int) -> tuple[float, float, float]:
    exp = load_experiment("experiments/cgw-2019.toml", accounts=accounts, days=horizon)
    sc = exp.scenario.model_copy(update={"valuation": exp.scenario.valuation.model_copy(
        update={"runoff_max_days": runoff})})
    r = collectsim.simulate(sc, "no-contact", seed=seed, audit=False)
    w0 = 100.0 * accounts
    return r.kpis["discounted_collected"] / w0, r.kpis["residual_value"] / w0, r.kpis["runoff"]["days"]


def _cgw_check(accounts: int, horizon: int, runoff: int, seed: int) -> None:
    """The residual of the published model is its no-action continuation value: horizon cash
    plus residual is the value of the whole (horizon + run-off) days, computed independently
    (collectsim.validation.cgw.discrete_daily); the residual alone is the difference."""
    params = CGWParams()
    whole = discrete_daily(params, horizon + runoff)["discounted_fraction"]
    head = discrete_daily(params, horizon)["discounted_fraction"]
    fractions = []
    for s in range(4):  # four independent books give a standard error of the mean
        h, res, days = _cgw_runoff(accounts, horizon, runoff, seed + s)
        assert days == runoff
        fractions.append((h, res))
    h, res = np.array(fractions).T
    se_total = (h + res).std(ddof=1) / math.sqrt(len(h))
    se_res = res.std(ddof=1) / math.sqrt(len(res))
    assert abs((h + res).mean() - whole) < 4 * se_total + 1e-12, ((h + res).mean(), whole, se_total)
    assert abs(res.mean() - (whole - head)) < 4 * se_res + 1e-12, (res.mean(), whole - head, se_res)


def test_published_model_residual_is_its_no_action_continuation_value():
    _cgw_check(accounts=3000, horizon=365, runoff=3 * 365, seed=101)


@pytest.mark.slow
def test_published_model_residual_over_sixty_years():
    _cgw_check(accounts=20000, horizon=365, runoff=60 * 365, seed=2019)
