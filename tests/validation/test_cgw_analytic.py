"""Tests of :mod:`collectsim.validation.cgw` on its own (no simulator involved).

Checks limits and closed-form special cases of both methods (the continuous affine/Riccati
solution and the exact dynamic programme of the daily scheme), their agreement up to the
discretization error stated in the module docstring, the first-order shrinking of that
error with the step, and a plain Monte Carlo of the continuous Hawkes model.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from collectsim.validation.cgw import (
    CGWParams,
    continuous_value,
    continuous_value_infinite,
    discrete_daily,
    discretization_error,
)

KEYS = ("collected_fraction", "discounted_fraction")
REF = CGWParams()
REF_HIGH = CGWParams(lambda0=1.0)


def _integrated_intensity(p: CGWParams, t: float) -> float:
    """∫_0^t λ(s) ds for the deterministic intensity (no self-excitation)."""
    return p.lambda_inf * t + (p.lambda0 - p.lambda_inf) * (-math.expm1(-p.kappa * t)) / p.kappa


# --------------------------------------------------------------------------- limits


def test_zero_horizon_collects_nothing() -> None:
    assert continuous_value(REF, 0.0) == {"collected_fraction": 0.0, "discounted_fraction": 0.0}
    assert discrete_daily(REF, 0) == {"collected_fraction": 0.0, "discounted_fraction": 0.0}
    assert discretization_error(REF, 0) == {"collected_fraction": 0.0, "discounted_fraction": 0.0}


def test_collected_fraction_increases_with_horizon() -> None:
    horizons = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 20.0]
    for p in (REF, REF_HIGH):
        for key in KEYS:
            values = [continuous_value(p, t)[key] for t in horizons]
            assert all(b > a for a, b in pairwise(values)), (key, values)
            assert values[-1] < 1.0
    days = [0, 30, 365, 730]
    values = [discrete_daily(REF, d)["collected_fraction"] for d in days]
    assert all(b > a for a, b in pairwise(values))


def test_collected_fraction_increases_with_lambda0() -> None:
    lam0s = [0.0, 0.05, 0.11, 0.5, 1.0, 3.0]
    for key in KEYS:
        cont = [continuous_value(CGWParams(lambda0=lam), 2.0)[key] for lam in lam0s]
        assert all(b > a for a, b in pairwise(cont)), (key, cont)
        disc = [discrete_daily(CGWParams(lambda0=lam), 365)[key] for lam in lam0s]
        assert all(b > a for a, b in pairwise(disc)), (key, disc)


def test_infinite_horizon_is_the_limit_of_finite_horizons() -> None:
    for p in (REF, REF_HIGH):
        inf = continuous_value_infinite(p)
        assert continuous_value(p, 50.0)["discounted_fraction"] < inf
        assert continuous_value(p, 800.0)["discounted_fraction"] == pytest.approx(inf, abs=1e-12)
        assert 0.0 < inf < 1.0


def test_no_discounting_makes_discounted_equal_collected() -> None:
    p = CGWParams(rho=0.0, lambda0=0.7)
    for value in (continuous_value(p, 3.0), discrete_daily(p, 3 * 365)):
        assert value["discounted_fraction"] == pytest.approx(value["collected_fraction"], abs=1e-11)


@settings(max_examples=25, deadline=None, database=None)
@given(
    lambda_inf=st.floats(0.0, 2.0),
    kappa=st.floats(0.2, 5.0),
    delta10=st.floats(0.0, 0.5),
    delta11=st.floats(0.0, 1.5),
    rho=st.floats(0.0, 0.5),
    r_min=st.floats(0.01, 1.0),
    width=st.floats(0.0, 1.0),
    lambda0=st.floats(0.0, 3.0),
    days=st.integers(1, 120),
)
def test_fractions_are_ordered_probabilities(
    lambda_inf: float,
    kappa: float,
    delta10: float,
    delta11: float,
    rho: float,
    r_min: float,
    width: float,
    lambda0: float,
    days: int,
) -> None:
    r_max = r_min + width * (1.0 - r_min)
    p = CGWParams(lambda_inf, kappa, delta10, delta11, rho, r_min, r_max, lambda0)
    for value in (continuous_value(p, days / 365), discrete_daily(p, days)):
        collected, discounted = value["collected_fraction"], value["discounted_fraction"]
        assert 0.0 <= discounted <= collected + 1e-12
        assert collected < 1.0
    err = discretization_error(p, days)
    assert abs(err["collected_fraction"]) < 5e-3


# --------------------------------------------------------------------------- closed forms


def test_constant_intensity_without_excitation_matches_poisson() -> None:
    lam, t = 0.8, 3.0
    p = CGWParams(lambda_inf=lam, lambda0=lam, delta10=0.0, delta11=0.0, kappa=1.3, rho=0.07)
    rate = lam * p.mean_r
    got = continuous_value(p, t)
    assert got["collected_fraction"] == pytest.approx(-math.expm1(-rate * t), rel=1e-11)
    expected = rate / (rate + p.rho) * -math.expm1(-(rate + p.rho) * t)
    assert got["discounted_fraction"] == pytest.approx(expected, rel=1e-11)
    assert continuous_value_infinite(p) == pytest.approx(rate / (rate + p.rho), rel=1e-11)


def test_ou_intensity_without_excitation_matches_closed_form() -> None:
    p = CGWParams(lambda0=2.5, lambda_inf=0.2, kappa=0.9, delta10=0.0, delta11=0.0, rho=0.1)
    t = 4.0
    er = p.mean_r

    def m(s: float) -> float:
        return math.exp(-er * _integrated_intensity(p, s))

    def lam(s: float) -> float:
        return p.lambda_inf + (p.lambda0 - p.lambda_inf) * math.exp(-p.kappa * s)

    discounted, _ = quad(
        lambda s: math.exp(-p.rho * s) * er * lam(s) * m(s), 0.0, t, epsabs=1e-14, epsrel=1e-13
    )
    got = continuous_value(p, t)
    assert got["collected_fraction"] == pytest.approx(1.0 - m(t), rel=1e-11)
    assert got["discounted_fraction"] == pytest.approx(discounted, rel=1e-10)


def test_discrete_without_excitation_matches_direct_product() -> None:
    p = CGWParams(
        lambda0=1.7,
        lambda_inf=0.3,
        kappa=0.5,
        delta10=0.0,
        delta11=0.0,
        r_min=0.2,
        r_max=0.9,
        rho=0.08,
    )
    days, dt = 400, 1.0 / 365
    lam, owed, discounted = p.lambda0, 1.0, 0.0
    for d in range(days):
        big = p.lambda_inf * dt + (lam - p.lambda_inf) * (-math.expm1(-p.kappa * dt)) / p.kappa
        pay = -math.expm1(-big) * p.mean_r  # E[fraction paid today | balance]
        discounted += math.exp(-p.rho * (d + 1) * dt) * pay * owed
        owed *= 1.0 - pay
        lam = p.lambda_inf + (lam - p.lambda_inf) * math.exp(-p.kappa * dt)
    got = discrete_daily(p, days)
    assert got["collected_fraction"] == pytest.approx(1.0 - owed, rel=1e-11)
    assert got["discounted_fraction"] == pytest.approx(discounted, rel=1e-11)


def test_full_repayment_gives_first_event_probability_in_both_methods() -> None:
    # R = 1: the balance is gone at the first repayment, before excitation can matter, so
    # both the continuous model and the daily scheme collect P(N_T > 0) = 1 - e^{-Λ(T)}.
    p = CGWParams(r_min=1.0, r_max=1.0, lambda0=0.9, delta11=3.0)
    expected = -math.expm1(-_integrated_intensity(p, 2.0))
    assert continuous_value(p, 2.0)["collected_fraction"] == pytest.approx(expected, rel=1e-11)
    assert discrete_daily(p, 730)["collected_fraction"] == pytest.approx(expected, rel=1e-11)


# --------------------------------------------------------------------------- discretization


#: (lambda0, days) -> (collected err, discounted err), as stated in the module docstring.
STATED_ERRORS = {
    (0.11, 365): (9.75e-06, 1.42e-05),
    (0.11, 1825): (2.57e-05, 4.23e-05),
    (1.0, 365): (1.62e-04, 1.87e-04),
    (1.0, 1825): (1.23e-04, 1.77e-04),
}


@pytest.mark.parametrize(("lambda0", "days"), sorted(STATED_ERRORS))
def test_continuous_and_daily_agree_within_stated_error(lambda0: float, days: int) -> None:
    p = CGWParams(lambda0=lambda0)
    cont = continuous_value(p, days / 365)
    disc = discrete_daily(p, days)
    err = discretization_error(p, days)
    for key, stated in zip(KEYS, STATED_ERRORS[(lambda0, days)], strict=True):
        assert err[key] == pytest.approx(cont[key] - disc[key], abs=1e-15)
        assert 0.0 < err[key] < 2.1e-4
        assert err[key] < 6e-4 * cont[key]
        assert err[key] == pytest.approx(stated, rel=0.01)


def test_discretization_error_is_first_order_in_the_step() -> None:
    for p in (REF, REF_HIGH):
        coarse = discretization_error(p, 365, days_per_year=365)  # one year, 365 steps
        fine = discretization_error(p, 3650, days_per_year=3650)  # one year, 3650 steps
        for key in KEYS:
            assert abs(fine[key]) < abs(coarse[key])
            assert 8.0 < coarse[key] / fine[key] < 12.0


def test_discrete_grid_error_is_negligible() -> None:
    for p in (REF, REF_HIGH):
        base = discrete_daily(p, 1825)
        finer = discrete_daily(p, 1825, grid_step=0.025)
        higher = discrete_daily(p, 1825, lambda_max=30.0)
        for key in KEYS:
            assert finer[key] == pytest.approx(base[key], abs=1e-10)
            assert higher[key] == pytest.approx(base[key], abs=1e-10)


# --------------------------------------------------------------------------- Monte Carlo


def _simulate_hawkes(
    p: CGWParams, horizon: float, n_paths: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact simulation (Dassios & Zhao 2013) of the continuous model; needs λ0 >= λ∞.

    Between events the intensity is ``λ∞ + x e^{-κs}`` with excess ``x >= 0``, so the wait
    is the minimum of a Poisson(λ∞) wait and the first event of the decaying part, whose
    total mass ``x/κ`` may be exhausted first (then it never fires).
    Returns per path (fraction collected by ``horizon``, discounted fraction collected).
    """
    assert p.lambda0 >= p.lambda_inf
    rng = np.random.default_rng(seed)
    excess = np.full(n_paths, p.lambda0 - p.lambda_inf)
    t = np.zeros(n_paths)
    owed = np.ones(n_paths)
    discounted = np.zeros(n_paths)
    alive = np.arange(n_paths)
    while alive.size:
        x = excess[alive]
        u1, u2 = rng.random(alive.size), rng.random(alive.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = 1.0 + p.kappa * np.log(u1) / x
            s1 = np.where(d > 0.0, -np.log(d) / p.kappa, np.inf)
        s2 = -np.log(u2) / p.lambda_inf if p.lambda_inf > 0 else np.full(alive.size, np.inf)
        wait = np.minimum(s1, s2)
        t_event = t[alive] + wait
        fires = t_event <= horizon
        idx, wait, t_event, x = alive[fires], wait[fires], t_event[fires], x[fires]
        r = rng.uniform(p.r_min, p.r_max, idx.size)
        discounted[idx] += np.exp(-p.rho * t_event) * r * owed[idx]
        owed[idx] *= 1.0 - r
        excess[idx] = x * np.exp(-p.kappa * wait) + p.delta10 + p.delta11 * r
        t[idx] = t_event
        alive = idx
    return 1.0 - owed, discounted


@pytest.mark.parametrize(
    ("params", "horizon", "seed"),
    [
        (REF_HIGH, 2.0, 20190601),
        (CGWParams(lambda0=0.5, delta10=0.1, delta11=1.2, kappa=1.0), 1.5, 7),
    ],
)
def test_monte_carlo_agrees_with_continuous_value(
    params: CGWParams, horizon: float, seed: int
) -> None:
    n = 20_000
    collected, discounted = _simulate_hawkes(params, horizon, n, seed)
    exact = continuous_value(params, horizon)
    for key, sample in zip(KEYS, (collected, discounted), strict=True):
        se = sample.std(ddof=1) / math.sqrt(n)
        assert abs(sample.mean() - exact[key]) < 4.0 * se, (key, sample.mean(), exact[key], se)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kappa": 0.0}, "kappa"),
        ({"kappa": -1.0}, "kappa"),
        ({"r_min": 0.0}, "r_min"),
        ({"r_min": 0.5, "r_max": 0.4}, "r_max"),
        ({"r_max": 1.2}, "r_max"),
        ({"lambda_inf": -0.1}, "lambda_inf"),
        ({"lambda0": float("nan")}, "lambda0"),
        ({"delta11": -0.5}, "delta11"),
        ({"rho": -0.01}, "rho"),
        ({"delta10": "0.02"}, "delta10"),
    ],
)
def test_bad_parameters_are_rejected_with_their_name(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        CGWParams(**kwargs)


def test_bad_horizons_are_rejected_with_their_name() -> None:
    with pytest.raises(ValueError, match=r"horizon_years = -1\.0: must be >= 0"):
        continuous_value(REF, -1.0)
    with pytest.raises(ValueError, match="horizon_days"):
        discrete_daily(REF, -5)
    with pytest.raises(ValueError, match="horizon_days"):
        discrete_daily(REF, 36.5)
    with pytest.raises(ValueError, match="days_per_year"):
        discrete_daily(REF, 10, days_per_year=0)
    with pytest.raises(ValueError, match="horizon_days"):
        discretization_error(REF, -1)
    with pytest.raises(ValueError, match="rho"):
        continuous_value_infinite(CGWParams(rho=0.0))
    with pytest.raises(ValueError, match="params"):
        continuous_value({"kappa": 0.7}, 1.0)  # type: ignore[arg-type]
