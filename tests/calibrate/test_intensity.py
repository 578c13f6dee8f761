"""The repayment intensity's simulated likelihood (collectsim/experiments/calibrate/intensity.py).

The oracle is the engine: histories it simulated at known parameters, whose fit must find
them (the likelihood's kernel shares no code with the engine's ``_repay``, ``_act`` and
``_age``: it is written from docs/model.md). The analytic gradient is checked against
central differences of the likelihood itself, and the replay's day table against the
tables it was read from."""

from __future__ import annotations

import numpy as np
import pytest

from collectsim.experiments.calibrate.intensity import (
    INTENSITY_PARAMETERS,
    _Model,
    fit_intensity,
    intensity_data,
    loglik_accounts,
)
from collectsim.experiments.calibrate.state import DAY_BANKRUPT, DAY_HAZARD, DAY_PAID
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.synth import simulate_history

_BASE = {"portfolio": {"accounts": 3000, "horizon_days": 60}}


def _scaled(level=1.0, contact=1.0, excitation=1.0, relaxation=1.0) -> dict:
    from collectsim.experiments.run import resolved_config

    exp = experiment_from_dict(_BASE, name="base")
    cfg = resolved_config(exp, "seed-champion", 42, 60)
    for seg in cfg["segments"]:
        seg["lambda_inf_per_year"] *= level
        seg["delta2"] *= contact
        seg["delta10"] *= excitation
        seg["delta11"] *= excitation
        seg["kappa_per_year"] *= relaxation
    return cfg


@pytest.fixture(scope="module")
def truth_and_history():
    """A history whose intensity is off the base's: the level × 0.6, the contacts' impulse × 1.7."""
    cfg = _scaled(level=0.6, contact=1.7)
    exp = experiment_from_dict(cfg, name="truth")
    return exp, simulate_history(exp, policy="seed-champion", seed=5)


def test_the_gradient_is_the_likelihoods_derivative(truth_and_history):
    exp, h = truth_and_history
    sc = exp.scenario
    data = intensity_data(h, sc, accounts=800, seed=1)
    m = _Model(sc, 0)
    x = np.log([0.8, 1.3, 0.7, 1.6, 1.4])
    ll, g = loglik_accounts(data, sc, np.exp(x), model=m)
    assert data.n == 800 and np.isfinite(ll).all()
    for k in range(len(INTENSITY_PARAMETERS)):
        e = np.zeros(len(INTENSITY_PARAMETERS))
        e[k] = 1e-5
        num = (loglik_accounts(data, sc, np.exp(x + e), model=m)[0]
               - loglik_accounts(data, sc, np.exp(x - e), model=m)[0]) / 2e-5
        np.testing.assert_allclose(g[:, k], num, rtol=1e-4, atol=1e-5)


def test_the_day_table_counts_what_the_tables_hold(truth_and_history):
    """Every payment day of an account without a plan or a settlement is a repayment day at
    risk, every charge-off before the charge-off DPD a bankruptcy day; with plans in the
    history (their instalments are not repayments) fewer days are repayment days than
    payment days."""
    exp, h = truth_and_history
    data = intensity_data(h, exp.scenario)
    paid = h.payments.groupby(["account", "day"]).size()
    plans = h.contacts[h.contacts["outcome"] == "plan"]
    assert data.n == len(h.accounts)
    # with plans in the history, some payment days are plan instalments: fewer repayment days
    assert len(plans) > 0 and data.payments < len(paid)
    in_plan_accounts = set(h.contacts.loc[h.contacts["outcome"].isin(["plan", "settlement"]), "account"])
    clean = paid[~paid.index.get_level_values(0).isin(in_plan_accounts)]
    rows = np.searchsorted(data.account, clean.index.get_level_values(0).to_numpy())
    days = clean.index.get_level_values(1).to_numpy()
    assert (data.flags[rows, days] & DAY_PAID).all()
    assert (data.flags[rows, days] & DAY_HAZARD).all()
    co = h.outcomes[h.outcomes["status"] == "charged_off"]
    bankrupt = int((data.flags & DAY_BANKRUPT).astype(bool).sum())
    assert 0 < bankrupt <= len(co)


def test_the_fit_recovers_an_intensity_off_the_base(truth_and_history):
    """Fitted from the base (level 1, impulse 1), the level and the impulse come out within
    3 standard errors of the truth (0.6 and 1.7 times the base's), and the base's own values
    lie outside their 95 % intervals: the test has the power to fail."""
    exp, h = truth_and_history
    base = experiment_from_dict(_scaled(), name="base").scenario
    est = {e.name: e for e in fit_intensity(h, base)}
    for name, factor in (("segments.0.lambda_inf_per_year", 0.6), ("segments.0.delta2", 1.7)):
        e = est[name]
        truth = factor * e.prior
        assert e.identified, e
        assert abs(e.estimate - truth) <= 3 * e.se, (name, e.estimate, truth, e.se)
        assert not (e.ci95[0] <= e.prior <= e.ci95[1]), (name, e.ci95, e.prior)
    # one scale per parameter: the segments' ratios keep the base's
    r = est["segments.1.lambda_inf_per_year"].estimate / est["segments.0.lambda_inf_per_year"].estimate
    assert r == pytest.approx(base.segments[1].lambda_inf_per_year / base.segments[0].lambda_inf_per_year)


def test_without_contacts_the_impulse_keeps_its_prior():
    exp = experiment_from_dict({"portfolio": {"accounts": 1500, "horizon_days": 40}}, name="quiet")
    h = simulate_history(exp, policy="no-contact", seed=2)
    est = {e.name: e for e in fit_intensity(h, exp.scenario)}
    e = est["segments.0.delta2"]
    assert not e.identified and e.estimate == e.prior and "0 events" in e.note
    assert est["segments.0.lambda_inf_per_year"].identified
