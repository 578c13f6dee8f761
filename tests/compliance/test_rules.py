"""The rule engine against the independent audit, on random request streams."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectsim.compliance import RuleEngine
from collectsim.scenario import PRESETS, Rule, RuleSet
from collectsim.validation.audit import audit
from collectsim.vocabulary import CHANNELS


def _drive(rules, n_accounts, days, requests_per_day, reach_p, seed):
    """Feed random requests through the engine exactly as the model does; return the log."""
    rng = np.random.default_rng(seed)
    eng = RuleEngine(rules, n_accounts)
    opted = np.zeros(n_accounts, dtype=np.uint8)
    rows = []
    for day in range(days):
        m = requests_per_day
        acc = rng.integers(0, n_accounts, m)
        ch = rng.integers(0, len(CHANNELS), m).astype(np.int64)
        hour = rng.integers(0, 24, m).astype(np.int64)
        order = np.lexsort((hour, acc))
        acc, ch, hour = acc[order], ch[order], hour[order]
        starts = np.r_[0, np.flatnonzero(np.diff(acc)) + 1]
        seq = np.arange(m) - np.repeat(starts, np.diff(np.r_[starts, m]))
        ok = eng.pre_filter(day, acc, ch, hour, opted)
        acc, ch, hour, seq = acc[ok], ch[ok], hour[ok], seq[ok]
        connected = rng.random(len(acc)) < reach_p
        reached = connected & (rng.random(len(acc)) < 0.5)
        optout = reached & (rng.random(len(acc)) < 0.2)  # on every channel, every medium
        ok = eng.during_execution(acc, ch, connected, reached, optout)
        keep = ok & (rng.random(len(acc)) < 0.8)  # collectors run out of time on some
        acc, ch, hour, seq = acc[keep], ch[keep], hour[keep], seq[keep]
        connected, reached, optout = connected[keep], reached[keep], optout[keep]
        eng.record(day, acc, ch, connected, reached)
        np.bitwise_or.at(opted, acc[optout], (1 << ch[optout]).astype(np.uint8))
        for a, c, h, s, n, r, o in zip(acc, ch, hour, seq, connected, reached, optout, strict=True):
            rows.append({"account": a, "day": day, "hour": h, "seq": s, "channel": CHANNELS[c], "connected": n,
                         "reached": r, "opted_out": o})
    return pd.DataFrame(rows), eng


@pytest.mark.parametrize("preset", sorted(PRESETS))
@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n_accounts=st.integers(1, 6),
    per_day=st.integers(0, 40),
    reach_p=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_engine_output_always_passes_the_audit(preset, n_accounts, per_day, reach_p, seed):
    log, _ = _drive(PRESETS[preset], n_accounts, 20, per_day, reach_p, seed)
    if len(log):
        found = audit(log, RuleSet(preset=preset))
        assert not any(found.values()), found


@settings(max_examples=15, deadline=None)
@given(
    cap=st.integers(0, 5),
    window=st.integers(1, 10),
    kind=st.sampled_from(["max_attempts", "max_connects", "cooldown_after_conversation"]),
    seed=st.integers(0, 10_000),
)
def test_custom_rules_are_enforced(cap, window, kind, seed):
    rules = [Rule(kind=kind, name="r", channels=["call", "sms"], max_count=cap, window_days=window)]
    log, eng = _drive(rules, 3, 25, 30, 0.5, seed)
    if len(log):
        assert audit(log, RuleSet(preset="none", extra=rules)) == {"r": 0}
    assert eng.blocked["r"] > 0  # 30 requests a day on 3 accounts always hit the cap


def test_engine_does_not_overblock_hours():
    rules = PRESETS["us-reg-f"][:1]
    eng = RuleEngine(rules, 1)
    hours = np.arange(24)
    ok = eng.pre_filter(0, np.zeros(24, dtype=np.int64), np.full(24, 3), hours, np.zeros(1, np.uint8))
    assert list(hours[ok]) == list(range(8, 21))
    assert eng.blocked["reg-f-inconvenient-time"] == 11


def test_an_opt_out_through_any_of_a_rules_channels_stops_all_of_them():
    """opt_out is per rule (one medium): an IVR opt-out stops agent calls under [call, ivr],
    before execution (earlier days) and during it (the same day); channels outside the rule
    are not stopped; same-named rules add up their blocked counts."""
    rules = [Rule(kind="opt_out", name="o", channels=["call", "ivr"]), Rule(kind="opt_out", name="o", channels=["sms"])]
    call, ivr, sms = (CHANNELS.index(c) for c in ("call", "ivr", "sms"))
    eng = RuleEngine(rules, 2)
    opted = np.array([1 << ivr, 0], dtype=np.uint8)  # account 0 opted out of IVR on an earlier day
    acc = np.array([0, 0, 0, 1, 1, 1])
    ch = np.array([call, ivr, sms, ivr, call, sms])
    hour = np.array([9, 10, 11, 9, 10, 11])
    ok = eng.pre_filter(0, acc, ch, hour, opted)
    assert ok.tolist() == [False, False, True, True, True, True]
    # account 1: its 9:00 IVR call would opt it out, so its 10:00 agent call is stopped, its SMS is not
    yes = np.ones(6, dtype=bool)
    ok = eng.during_execution(acc, ch, yes, yes, optout=np.array([False, False, False, True, False, False]), ok=ok)
    assert ok.tolist() == [False, False, True, True, False, True]
    assert eng.blocked == {"o": 3}


def test_presets_count_telephone_calls_by_any_means_and_opt_out_per_medium():
    """What the rule texts count (docs/audit.md): IVR is a telephone call in every cap and
    cooldown of a preset; every preset opt-out is one rule per medium."""
    by_name = {p: {} for p in PRESETS}
    for p, rules in PRESETS.items():
        for r in rules:
            by_name[p].setdefault(r.name, []).append(sorted(r.channels))
    for name in ("reg-f-7-in-7", "reg-f-7-after-conversation"):
        assert by_name["us-reg-f"][name] == [["call", "ivr"]]
    for name in ("cn-6-attempts-per-day", "cn-3-connected-per-day"):
        assert by_name["cn-gbt-45251"][name] == [["call", "ivr"]]
    assert by_name["us-ma"]["ma-2-per-7"] == [["call", "ivr", "sms"]]
    media = [["call", "ivr"], ["sms"], ["email"], ["visit"], ["letter"]]
    assert by_name["us-reg-f"]["reg-f-opt-out"] == media and by_name["us-ma"]["ma-opt-out"] == media
    assert not any(r.kind == "opt_out" for r in PRESETS["cn-gbt-45251"])
