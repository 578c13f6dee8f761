"""The simulated moments' statistics: the data's side and the engine's side are one estimator.

The method of simulated moments is consistent only when the moments of the data and those of
the simulated books are the same function of a history. A history written by ``collectsim
synth``'s code and the book the moments simulate, run from the same configuration and seed,
must therefore give identical moments and influence functions; and each moment is counted
once more from the raw tables by its definition."""

from __future__ import annotations

import numpy as np
import pytest

from collectsim.experiments.calibrate.moments import JOINT_MOMENTS, _simulated_moments, data_moments
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.synth import simulate_history

_CFG = {"portfolio": {"accounts": 2500, "horizon_days": 50}}


@pytest.fixture(scope="module")
def history():
    exp = experiment_from_dict(_CFG, name="m")
    return simulate_history(exp, policy="seed-champion", seed=3)


def test_the_data_and_the_simulated_books_give_the_same_moments_for_the_same_run(history):
    m_data, psi_data, counts = data_moments(history)
    m_sim, psi_sim = _simulated_moments(_CFG, "seed-champion", [3], None)
    assert len(m_data) == len(JOINT_MOMENTS) and counts["promises"] >= 10 and counts["plans"] >= 10
    np.testing.assert_allclose(m_sim, m_data, rtol=1e-12)
    # the same accounts' influences (the account order may differ): sorted per moment
    np.testing.assert_allclose(np.sort(psi_sim, axis=0), np.sort(psi_data, axis=0), atol=1e-15)


def test_each_moment_is_its_definition_on_the_raw_tables(history):
    """Cured or paid, and charged off, among the accounts there on day 0; promises and plans
    per right-party call or visit — counted with pandas from the tables as written."""
    h = history
    stock = set(h.accounts.loc[h.accounts["entry_day"] == 0, "account"])
    status = dict(zip(h.outcomes["account"], h.outcomes["status"].astype(str), strict=True))
    good = sum(status.get(a) in ("cured", "paid") for a in stock)
    lost = sum(status.get(a) == "charged_off" for a in stock)
    c = h.contacts
    talk = c[c["channel"].astype(str).isin(["call", "visit"])]
    rpc = talk["outcome"].astype(str).isin(["rpc", "promise", "plan", "settlement"]).sum()
    promises = (c["outcome"] == "promise").sum()
    plans = (c["outcome"] == "plan").sum()
    m, _, counts = data_moments(h)
    want = {"level": good / len(stock), "promise": promises / rpc, "plan": plans / rpc, "chargeoff": lost / len(stock)}
    for j, (key, *_rest) in enumerate(JOINT_MOMENTS):
        assert m[j] == pytest.approx(want[key], rel=1e-12), key
    assert (counts["rpcs"], counts["promises"], counts["plans"]) == (rpc, promises, plans)


def test_an_interval_as_wide_as_the_range_keeps_the_prior():
    """A moment parameter whose 95 % interval spans its allowed range is not identified (the
    likelihood fits' rule): a probability whose Wald interval 2 · 1.96 · s.e. reaches 1, a
    scale whose interval is as wide as [0, the field's upper bound]. The recovery study had
    plan acceptance at s.e. 3.8 (interval 1e-42 to 1) reported as identified before this."""
    from scipy.special import logit

    from collectsim.experiments.calibrate.moments import _estimate

    ok = _estimate("behaviour.plan_accept", "plan", 0.418, float(logit(0.5)), 0.4)
    assert ok.identified and ok.estimate == pytest.approx(0.5) and ok.se == pytest.approx(0.1)
    assert ok.ci95[0] < 0.5 < ok.ci95[1]
    # s.e. on the probability scale 0.25 · 2.1 = 0.525: 2 · 1.96 · 0.525 > 1
    wide = _estimate("behaviour.plan_accept", "plan", 0.418, float(logit(0.5)), 2.1)
    assert not wide.identified and wide.estimate == 0.418 and wide.se is None and "as wide" in wide.note
    lam = _estimate("segments.0.lambda_inf_per_year", "level", 339.0, 0.0, 0.2)
    assert lam.identified and lam.estimate == pytest.approx(339.0) and lam.se == pytest.approx(67.8)
    assert not _estimate("segments.0.lambda_inf_per_year", "level", 339.0, 0.0, 5.0).identified
    assert not _estimate("regimes.bankruptcy_per_year.1", "chargeoff", 2.0, 0.0, 1.8).identified  # 2·e^3.5 > 12
    assert _estimate("regimes.bankruptcy_per_year.1", "chargeoff", 2.0, 0.0, 0.3).identified
