"""Smaller copies of a fitted book (collectsim.experiments.calibrate.books)."""

from pathlib import Path

import numpy as np
import pytest

from collectsim.errors import InputError
from collectsim.experiments.calibrate.books import scaled_book


def _config():
    return {"portfolio": {"accounts": 100_000, "inflow_per_day": 500.0, "horizon_days": 61},
            "teams": [{"name": "phone", "headcount": 40, "minutes_per_day": 420.0},
                      {"name": "field", "headcount_per_100k": 6, "minutes_per_day": 420.0}]}


def test_a_larger_book_is_scaled_by_its_accounts_and_the_scale_is_what_it_holds_over_the_copy():
    cfg = _config()
    total = 100_000 + 60 * 500  # the stock and the inflow of days 1..60
    small, scale = scaled_book(cfg, 13_000)
    f = 13_000 / total
    assert small["portfolio"]["accounts"] == round(100_000 * f) and small["portfolio"]["inflow_per_day"] == pytest.approx(500 * f)
    # the same capacity per account: head counts in proportion, the rounding made up in minutes a day
    phone, field = small["teams"]
    assert phone["headcount"] == round(40 * f) and phone["minutes_per_day"] == pytest.approx(420 * 40 * f / round(40 * f))
    assert field["headcount"] == 1 and field["minutes_per_day"] == pytest.approx(420 * 6 * f)  # 0.6 of a collector
    held = small["portfolio"]["accounts"] + int(60 * small["portfolio"]["inflow_per_day"] + 1e-9)
    assert scale == pytest.approx(total / held) and cfg == _config()  # the original untouched


def test_a_book_not_larger_is_copied_unchanged_and_bad_sizes_are_refused():
    small, scale = scaled_book(_config(), 10**6)
    assert small == _config() and scale == 1.0
    for bad in (0, -5, 2.5, True):
        with pytest.raises(InputError, match="check accounts"):
            scaled_book(_config(), bad)


def test_a_smaller_copy_predicts_the_full_books_statistics_and_their_spread():
    """The premise of the rescaled bands, checked on the engine: the quickstart book at 6,000
    accounts and its copy at 1,000 (scale 6), 20 replications each. Per statistic the means
    agree within 3 combined standard errors, and the copy's variance / scale over the full
    book's is an F(19, 19) draw: |log| within 3 of its sd (√(2·ψ'(9.5)) = 0.47; without the
    rescaling log 6 = 1.8 would lie outside)."""
    from scipy.special import polygamma

    import collectsim
    from collectsim.experiments.calibrate.statistics import simulated_statistics
    from collectsim.experiments.files import experiment_from_dict
    from collectsim.experiments.run import resolved_config

    root = Path(__file__).resolve().parents[2]
    exp = collectsim.load_experiment(root / "experiments" / "quickstart.toml", accounts=6000, days=45)
    cfg = resolved_config(exp, exp.run.policy, exp.run.seed, 45)
    small_cfg, scale = scaled_book(cfg, 1000)
    assert scale == pytest.approx(6.0, rel=0.01)
    small = experiment_from_dict(small_cfg, name="small")

    def measures(s):
        ch = s["channel_rates"].set_index("channel")
        conv = s["conversations"].set_index("channel")
        out = s["outcomes"].set_index("status")
        return np.array([ch.loc["call", "contact_rate"], ch.loc["call", "rpc_rate"], ch.loc["sms", "rpc_rate"],
                         conv.loc["all", "promise_rate"], out.loc["cured", "share"],
                         s["recovery_curve"]["recovery_rate"].iloc[-1]])

    R = 20
    full = np.array([measures(s) for s in simulated_statistics(exp, exp.run.policy, range(100, 100 + R))])
    part = np.array([measures(s) for s in simulated_statistics(small, small.run.policy, range(200, 200 + R))])
    se = np.sqrt(full.var(axis=0, ddof=1) / R + part.var(axis=0, ddof=1) / R)
    assert np.all(np.abs(full.mean(axis=0) - part.mean(axis=0)) <= 3 * se)
    log_ratio = np.log(part.var(axis=0, ddof=1) / scale / full.var(axis=0, ddof=1))
    sd = float(np.sqrt(2 * polygamma(1, (R - 1) / 2)))
    assert np.all(np.abs(log_ratio) <= 3 * sd), log_ratio
