"""Hardened requests: a policy's bad output is refused with one line naming the policy and the
field (dtype, shape, range, finiteness), convertible lists are converted, and no account can
ask for so many contacts in one day that its random draws collide with another account's."""

from __future__ import annotations

import numpy as np
import pytest

import collectsim
from collectsim.errors import InputError
from collectsim.policies.base import Policy, Requests
from collectsim.scenario import Scenario
from collectsim.streams import REQUESTS_PER_ACCOUNT_DAY
from collectsim.vocabulary.channels import CALL, SMS
from collectsim.vocabulary.offers import OFFERS


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return Scenario.model_validate({"portfolio": {"accounts": 300, "horizon_days": 3}, "rules": {"preset": "none"}})


def _good(obs, channel=CALL) -> dict:
    acc = obs.active_index.astype(np.int64)
    m = len(acc)
    return {
        "account": acc,
        "channel": np.full(m, channel, dtype=np.int8),
        "hour": np.full(m, 10, dtype=np.int8),
        "offer": np.full(m, OFFERS.index("settlement"), dtype=np.int8),
        "discount": np.full(m, 0.3, dtype=np.float32),
        "plan_months": np.full(m, 6, dtype=np.int8),
        "priority": np.ones(m, dtype=np.float32),
    }


class Mutating(Policy):
    """Calls everyone with a settlement offer, then replaces one field by ``mutate(field_array)``."""

    def __init__(self, field: str, mutate, name: str = "bad-policy") -> None:
        self.field, self.mutate, self.name = field, mutate, name

    def decide(self, obs):
        d = _good(obs)
        d[self.field] = self.mutate(d[self.field])
        return Requests(**d)


def _set(j: int, value):
    def f(a):
        a = np.array(a, dtype=np.float64 if isinstance(value, float) else a.dtype)
        a[j] = value
        return a

    return f


BAD = {
    "nan discount": ("discount", _set(0, float("nan")), "discount[0] = nan"),
    "inf discount": ("discount", _set(1, float("inf")), "discount[1] = inf"),
    "negative discount": ("discount", _set(0, -0.1), "discount[0]"),
    "discount one": ("discount", _set(0, 1.0), "must be a fraction in [0, 1)"),
    "nan priority": ("priority", _set(0, float("nan")), "priority[0] = nan"),
    "fractional account": ("account", lambda a: a.astype(np.float64) + 0.5, "must be a whole number"),
    "nan account": ("account", _set(2, float("nan")), "account[2] = nan"),
    "account out of range": ("account", _set(0, 10**6), "must be a slot in [0, 300)"),
    "negative account": ("account", _set(0, -1), "account[0] = -1"),
    "plan_months zero": ("plan_months", _set(0, 0), "plan_months[0] = 0: must be a plan length of 1..127"),
    "plan_months negative": ("plan_months", _set(0, -5), "plan_months[0] = -5"),
    "plan_months too big for int8": ("plan_months", lambda a: np.full(len(a), 300), "plan_months[0] = 300"),
    "hour 24": ("hour", _set(0, 24), "hour[0] = 24: must be an hour 0..23"),
    "fractional hour": ("hour", lambda a: a.astype(np.float64) + 0.25, "hour[0] = 10.25"),
    "unknown channel": ("channel", _set(0, 99), "channel[0] = 99"),
    "unknown offer": ("offer", _set(0, 50), "offer[0] = 50"),
    "short field": ("hour", lambda a: a[:-1], "hour has length"),
    "two-dimensional": ("channel", lambda a: np.stack([a, a]), "must be one-dimensional"),
    "strings": ("offer", lambda a: np.array(["x"] * len(a)), "must hold numbers"),
    "booleans": ("channel", lambda a: np.ones(len(a), dtype=bool), "must hold numbers"),
    "huge float account": ("account", lambda a: np.full(len(a), 1e300), "account[0] = 1e+300"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_field_is_refused_naming_policy_and_field(tiny, case):
    field, mutate, expected = BAD[case]
    with pytest.raises(InputError) as e:
        collectsim.simulate(tiny, Mutating(field, mutate, name="my-strategy"), seed=1, days=2, value=False)
    msg = str(e.value)
    assert "policy 'my-strategy'" in msg and f"Requests.{field}" in msg and "\n" not in msg, msg
    assert expected in msg, msg


def test_nan_discount_no_longer_reaches_the_money(tiny):
    """The finding: a NaN discount used to pass and yield collected = -9.2e16."""
    with pytest.raises(InputError, match="discount"):
        collectsim.simulate(tiny, Mutating("discount", lambda a: np.full(len(a), np.nan, np.float32)), seed=2,
                            days=3, value=False)


def test_exact_lists_and_float_arrays_are_converted_and_give_identical_results(tiny):
    class AsGiven(Policy):
        name = "as-given"

        def __init__(self, convert):
            self.convert = convert

        def decide(self, obs):
            return Requests(**{k: self.convert(k, v) for k, v in _good(obs).items()})

    exact = collectsim.simulate(tiny, AsGiven(lambda k, v: v), seed=5, value=False)
    lists = collectsim.simulate(tiny, AsGiven(lambda k, v: v.tolist()), seed=5, value=False)
    floats = collectsim.simulate(tiny, AsGiven(lambda k, v: v.astype(np.float64)), seed=5, value=False)
    assert sum(exact.kpis["contacts"].values()) > 0
    for other in (lists, floats):
        assert other.kpis["collected"] == exact.kpis["collected"]
        assert other.kpis["contacts"] == exact.kpis["contacts"]


class Flood(Policy):
    """``k`` SMS requests for the first active account every day."""

    name = "flood"

    def __init__(self, k: int) -> None:
        self.k = k

    def decide(self, obs):
        a = int(obs.active_index[0])
        d = {k: v[:1].repeat(self.k) for k, v in _good(obs, channel=SMS).items()}
        d["account"] = np.full(self.k, a, dtype=np.int64)
        d["hour"] = (np.arange(self.k) % 24).astype(np.int8)  # unsorted within the account: sorted by the engine
        return Requests(**d)


def test_more_requests_than_the_counter_layout_holds_are_refused(tiny):
    """Beyond REQUESTS_PER_ACCOUNT_DAY an account's draws would be the next account's."""
    with pytest.raises(InputError) as e:
        collectsim.simulate(tiny, Flood(REQUESTS_PER_ACCOUNT_DAY + 1), seed=1, days=1, value=False)
    msg = str(e.value)
    assert "policy 'flood'" in msg and f"{REQUESTS_PER_ACCOUNT_DAY + 1:,} requests for account" in msg, msg
    assert f"at most {REQUESTS_PER_ACCOUNT_DAY:,}" in msg


def test_exactly_the_limit_is_allowed(tiny):
    r = collectsim.simulate(tiny, Flood(REQUESTS_PER_ACCOUNT_DAY), seed=1, days=1, value=False)
    assert r.kpis["requested"] == REQUESTS_PER_ACCOUNT_DAY


def test_validate_normalises_in_place_and_keeps_valueerror_compatibility():
    r = Requests(account=[0, 1], channel=[1.0, 0.0], hour=[9, 10], offer=[0, 0], discount=[0, 0],
                 plan_months=[6, 6], priority=[1, 2])
    r.validate(5, "p")
    assert r.account.dtype == np.int64 and r.channel.dtype == np.int8 and r.discount.dtype == np.float32
    assert isinstance(InputError("x"), ValueError)
