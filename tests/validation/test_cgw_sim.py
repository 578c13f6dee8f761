"""The published-model check: the engine, reduced to Chehrazi, Glynn & Weber (2019), must
reproduce the no-action account value of the independent solution in
``collectsim.validation.cgw`` within Monte Carlo error.

The tolerance is 4 standard errors of the simulated mean (per-account fractions, so the
standard error is estimated from the run itself) plus the continuous-vs-daily
discretization error when comparing with the continuous solution; against the exact
expectation of the daily scheme only Monte Carlo error (and cent rounding, < 1e-4) remains.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from collectsim.experiments import load_experiment
from collectsim.model import CollectionsModel
from collectsim.policies import NoContact
from collectsim.validation.cgw import CGWParams, continuous_value, discrete_daily

ROOT = Path(__file__).resolve().parents[2]


def _simulate_fractions(days: int, lambda0: float, accounts: int, seed: int):
    exp = load_experiment(ROOT / "experiments" / "cgw-2019.toml", accounts=accounts, days=days)
    data = exp.scenario.model_dump()
    data["segments"][0]["lambda0_per_year"] = lambda0
    scenario = type(exp.scenario).model_validate(data)
    model = CollectionsModel(scenario, NoContact(), seed=seed, log_contacts=False)
    model.run_for(days)
    pop = model.borrowers
    b0 = pop.balance0.astype(float)
    collected = pop.collected / b0
    discounted = pop.discounted_collected_cents / b0
    model.remove_all_agents()
    return collected, discounted


def _check(sim: np.ndarray, expected: float, extra_tol: float = 0.0) -> None:
    se = sim.std(ddof=1) / math.sqrt(len(sim))
    z = (sim.mean() - expected) / se
    assert abs(sim.mean() - expected) <= 4 * se + extra_tol + 1e-4, (
        f"simulated {sim.mean():.6f} vs expected {expected:.6f}: z = {z:.2f} (se {se:.2e})"
    )


@pytest.mark.parametrize(
    ("days", "lambda0", "accounts"),
    [(365, 0.11, 100_000), (365, 1.0, 50_000), (730, 0.11, 50_000), (1825, 0.11, 40_000)],
)
def test_no_action_value_matches_independent_solution(days, lambda0, accounts):
    collected, discounted = _simulate_fractions(days, lambda0, accounts, seed=2019 + days)
    params = CGWParams(lambda0=lambda0)
    exact_daily = discrete_daily(params, days)
    cont = continuous_value(params, days / 365)
    disc_err = abs(cont["collected_fraction"] - exact_daily["collected_fraction"])
    _check(collected, exact_daily["collected_fraction"])
    _check(discounted, exact_daily["discounted_fraction"])
    _check(collected, cont["collected_fraction"], extra_tol=disc_err)
    disc_err_d = abs(cont["discounted_fraction"] - exact_daily["discounted_fraction"])
    _check(discounted, cont["discounted_fraction"], extra_tol=disc_err_d)


def test_check_has_power_against_a_wrong_model():
    """The same tolerance rejects a model without self-excitation (δ10 = δ11 = 0)."""
    collected, _ = _simulate_fractions(730, 1.0, 50_000, seed=7)
    wrong = discrete_daily(CGWParams(lambda0=1.0, delta10=0.0, delta11=0.0), 730)["collected_fraction"]
    se = collected.std(ddof=1) / math.sqrt(len(collected))
    assert abs(collected.mean() - wrong) > 4 * se + 1e-4


@pytest.mark.slow
def test_five_year_value_large_sample():
    collected, discounted = _simulate_fractions(1825, 0.11, 400_000, seed=5)
    params = CGWParams(lambda0=0.11)
    exact = discrete_daily(params, 1825)
    _check(collected, exact["collected_fraction"])
    _check(discounted, exact["discounted_fraction"])
