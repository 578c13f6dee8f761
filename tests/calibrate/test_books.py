"""Smaller copies of a fitted book (collectsim.experiments.calibrate.books)."""

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
