"""The audit of the contact log (:mod:`collectsim.validation.audit`).

Three kinds of evidence:

* **injected violations are caught** — hand-written logs, one per requirement, each with
  the exact number of violations it holds, next to their compliant neighbours (exactly at
  a cap, the day after a window, channels a requirement does not count), which must give 0;
* **equivalence with a slow oracle** — :func:`oracle` below is a plain-Python audit written
  separately from the rule texts (its own reading of which channels each requirement
  counts, quadratic loops over each account's contacts, no sorting tricks); on random logs
  (several accounts, ties in hour, long gaps, shuffled rows, every input form) and random
  rule sets the compiled audit must give exactly the oracle's counts;
* **refusals** — a log that cannot be audited (a missing column, two contacts in one place
  of the execution order, an unclassified channel, a right-party contact that did not
  connect) is refused, never passed.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectsim.scenario import Rule, RuleSet
from collectsim.validation.audit import CHANNEL_LAW, REQUIREMENTS, AuditLogError, StreamingAudit, audit

NAMES = ("sms", "email", "ivr", "call", "visit", "letter")
REG_F, MA, CN = RuleSet(preset="us-reg-f"), RuleSet(preset="us-ma"), RuleSet(preset="cn-gbt-45251")

# ---------------------------------------------------------------------------------------
# Building logs by hand
# ---------------------------------------------------------------------------------------


def c(account, day, hour, channel, seq=0, *, connected=False, reached=False, opted_out=False) -> dict:
    """One executed contact (``reached`` implies ``connected``)."""
    return {"account": account, "day": day, "hour": hour, "seq": seq, "channel": channel,
            "connected": connected or reached, "reached": reached, "opted_out": opted_out}


def as_arrays(rows: list[dict], names=NAMES) -> tuple[dict, tuple[str, ...]]:
    """The engine's form: numpy columns, ``channel`` as int8 codes into ``names``."""
    idx = {n: i for i, n in enumerate(names)}
    log = {
        "account": np.array([r["account"] for r in rows], dtype=np.int64),
        "day": np.array([r["day"] for r in rows], dtype=np.int32),
        "hour": np.array([r["hour"] for r in rows], dtype=np.int8),
        "seq": np.array([r["seq"] for r in rows], dtype=np.int32),
        "channel": np.array([idx[r["channel"]] for r in rows], dtype=np.int8),
    }
    for b in ("connected", "reached", "opted_out"):
        log[b] = np.array([r[b] for r in rows], dtype=bool)
    return log, tuple(names)


def as_frame(rows: list[dict]) -> pd.DataFrame:
    """The DataFrame form: ``channel`` a Categorical of names."""
    df = pd.DataFrame(rows, columns=list(c(0, 0, 0, "sms")))
    df["channel"] = pd.Categorical(df["channel"], categories=list(NAMES))
    return df


def stream(rows: list[dict], rule_set: RuleSet, names=NAMES, shuffle: int | None = 0) -> dict[str, int]:
    """Feed ``rows`` to :class:`StreamingAudit` one day at a time, in increasing day order,
    each day's rows shuffled (``shuffle``: the seed; None keeps their order)."""
    auditor = StreamingAudit(rule_set, names)
    log, _ = as_arrays(rows, names)
    rng = np.random.default_rng(shuffle)
    for d in np.unique(log["day"]):
        idx = np.flatnonzero(log["day"] == d)
        if shuffle is not None:
            idx = rng.permutation(idx)
        auditor.add_day(day=int(d), **{k: v[idx] for k, v in log.items() if k != "day"})
    return auditor.violations()


def run(rows: list[dict], rule_set: RuleSet) -> dict[str, int]:
    """Audit ``rows`` in both input forms and fed day by day (all three must agree) and return the counts."""
    log, names = as_arrays(rows)
    a = audit(log, rule_set, channel_names=names)
    assert audit(as_frame(rows), rule_set) == a
    assert stream(rows, rule_set) == a
    return a


def daily(account: int, days, channel: str, hour: int = 10, **kw) -> list[dict]:
    """One contact a day on each of ``days``."""
    return [c(account, d, hour, channel, **kw) for d in days]


# ---------------------------------------------------------------------------------------
# Regulation F
# ---------------------------------------------------------------------------------------


def test_reg_f_eighth_telephone_call_in_seven_days_counts_automated_voice():
    # days 0..6: agent calls and IVR calls alternate (7 calls), then an 8th (IVR) on day 6
    rows = [c(1, d, 10, "ivr" if d % 2 else "call") for d in range(7)] + [c(1, 6, 11, "ivr", seq=1)]
    assert run(rows, REG_F)["reg-f-7-in-7"] == 1
    # IVR only: the same
    rows = daily(2, range(7), "ivr") + [c(2, 6, 12, "ivr", seq=1)]
    assert run(rows, REG_F)["reg-f-7-in-7"] == 1
    # ten calls on one day: the 8th, 9th and 10th are violations
    rows = [c(3, 0, 9 + i // 2, "call" if i % 2 else "ivr", seq=i) for i in range(10)]
    assert run(rows, REG_F)["reg-f-7-in-7"] == 3


def test_reg_f_seven_calls_the_day_after_a_block_and_texts_are_compliant():
    # exactly 7 calls in days 0..6, with texts and e-mails in between: not counted
    rows = daily(1, range(7), "call") + daily(1, range(7), "sms", hour=12) + daily(1, range(7), "email", hour=13)
    rows += [c(1, 3, 14, "sms", seq=1), c(1, 3, 15, "sms", seq=2), c(1, 3, 16, "visit", seq=3)]
    rows += [c(1, 4, 17, "letter", seq=1)]
    assert run(rows, REG_F) == dict.fromkeys(("reg-f-inconvenient-time", "reg-f-opt-out", "reg-f-7-in-7",
                                              "reg-f-7-after-conversation"), 0)
    # the 8th call falls on day 7: days 1..7 hold 7 calls
    rows = daily(2, range(8), "ivr")
    assert run(rows, REG_F)["reg-f-7-in-7"] == 0
    # ... but a 2nd call on day 7 makes 8 in days 1..7
    rows.append(c(2, 7, 11, "call", seq=1))
    assert run(rows, REG_F)["reg-f-7-in-7"] == 1


def test_reg_f_call_within_seven_days_after_a_conversation():
    # an agent call reaches the debtor on day 0; an IVR call on day 1 is a violation
    rows = [c(1, 0, 10, "call", reached=True), c(1, 1, 10, "ivr")]
    assert run(rows, REG_F)["reg-f-7-after-conversation"] == 1
    # an IVR conversation starts the period too (conservative), and the same day counts
    rows = [c(2, 5, 9, "ivr", reached=True), c(2, 5, 15, "call", seq=1), c(2, 11, 10, "call")]
    assert run(rows, REG_F)["reg-f-7-after-conversation"] == 2
    # day 6 after the conversation day is still inside (day 0 = day 1 of 7), day 7 is not
    rows = [c(3, 0, 9, "call", reached=True), c(3, 6, 9, "call"), c(3, 13, 9, "call")]
    assert run(rows, REG_F)["reg-f-7-after-conversation"] == 1
    # a call that itself reaches the debtor inside the period is a violation and restarts it
    rows = [c(4, 0, 9, "call", reached=True), c(4, 3, 9, "call", reached=True), c(4, 9, 9, "call")]
    assert run(rows, REG_F)["reg-f-7-after-conversation"] == 2


def test_reg_f_compliant_neighbours_of_a_conversation():
    rows = [
        c(1, 0, 9, "call"), c(1, 0, 10, "call", seq=1, reached=True),  # the call before it is fine
        c(1, 7, 9, "call"),  # day 7: the period (days 0..6) is over
        c(2, 0, 9, "call", connected=True),  # answered by a third party: no conversation with the person
        c(2, 1, 9, "call"),
        c(3, 0, 9, "visit", reached=True),  # a conversation in person is not a telephone conversation
        c(3, 1, 9, "call"),
        c(4, 0, 9, "sms", reached=True), c(4, 1, 9, "ivr"),  # a text read is not a conversation
        c(5, 0, 9, "call", reached=True), c(5, 1, 9, "sms"), c(5, 2, 9, "email"), c(5, 3, 9, "visit"),
        c(5, 4, 9, "letter"),  # what follows a conversation but is no telephone call
    ]
    assert run(rows, REG_F)["reg-f-7-after-conversation"] == 0


def test_reg_f_inconvenient_time_on_every_medium():
    rows = [c(1, 0, 21, "call"), c(2, 0, 21, "sms"), c(3, 0, 7, "email"), c(4, 0, 22, "visit"),
            c(5, 0, 0, "letter"), c(6, 0, 23, "ivr")]
    assert run(rows, REG_F)["reg-f-inconvenient-time"] == 6
    rows = [c(1, 0, 8, "call"), c(2, 0, 20, "sms"), c(3, 0, 8, "visit"), c(4, 0, 20, "ivr")]
    assert run(rows, REG_F)["reg-f-inconvenient-time"] == 0


def test_reg_f_opt_out_of_a_medium():
    rows = [
        c(1, 0, 10, "sms", reached=True, opted_out=True), c(1, 1, 10, "sms"),  # SMS after SMS opt-out
        c(2, 0, 10, "sms", opted_out=True, connected=True), c(2, 0, 11, "sms", seq=1),  # later the same day
        c(2, 0, 12, "sms", seq=2),
        c(3, 0, 10, "email", opted_out=True, connected=True), c(3, 4, 10, "email"),
        c(4, 0, 10, "ivr", opted_out=True, connected=True), c(4, 2, 10, "call"),  # telephone medium (conservative)
    ]
    assert run(rows, REG_F)["reg-f-opt-out"] == 5
    rows = [
        c(1, 0, 10, "sms", reached=True, opted_out=True), c(1, 1, 10, "email"), c(1, 1, 11, "call", seq=1),
        c(1, 2, 10, "ivr"), c(1, 3, 10, "visit"), c(1, 4, 10, "letter"),  # other media stay open
        c(2, 0, 9, "sms"), c(2, 0, 10, "sms", seq=1, opted_out=True, connected=True),  # before the opt-out
        c(3, 0, 10, "email", opted_out=True, connected=True), c(3, 1, 10, "sms"),
        c(4, 5, 10, "sms", opted_out=True, connected=True), c(5, 6, 10, "sms"),  # another account
    ]
    assert run(rows, REG_F)["reg-f-opt-out"] == 0


# ---------------------------------------------------------------------------------------
# Massachusetts
# ---------------------------------------------------------------------------------------


def test_ma_third_telephone_communication_in_seven_days_counts_texts_and_recorded_audio():
    rows = [c(1, 0, 10, "call"), c(1, 3, 10, "sms"), c(1, 6, 10, "ivr")]
    assert run(rows, MA)["ma-2-per-7"] == 1
    rows = [c(2, 0, 10, "sms"), c(2, 0, 11, "sms", seq=1), c(2, 1, 10, "sms"), c(2, 2, 10, "sms")]
    assert run(rows, MA)["ma-2-per-7"] == 2


def test_ma_compliant_neighbours():
    rows = [
        c(1, 0, 10, "call"), c(1, 6, 10, "sms"), c(1, 7, 10, "ivr"),  # day 7: days 1..7 hold 2
        c(2, 0, 10, "call"), c(2, 1, 10, "ivr"),  # exactly 2
        c(2, 2, 10, "email"), c(2, 3, 10, "visit"), c(2, 4, 10, "letter"), c(2, 4, 11, "email", seq=1),
    ]
    assert run(rows, MA) == {"ma-inconvenient-time": 0, "ma-opt-out": 0, "ma-2-per-7": 0}
    assert run([c(3, 0, 21, "email"), c(3, 1, 7, "letter")], MA)["ma-inconvenient-time"] == 2


# ---------------------------------------------------------------------------------------
# China
# ---------------------------------------------------------------------------------------


def test_cn_seventh_attempt_in_a_day():
    rows = [c(1, 0, 9 + i, "ivr" if i % 3 == 0 else "call", seq=i) for i in range(7)]
    assert run(rows, CN)["cn-6-attempts-per-day"] == 1
    rows = [c(2, 0, 9 + i, "call", seq=i) for i in range(9)]
    assert run(rows, CN)["cn-6-attempts-per-day"] == 3
    # exactly 6 calls a day on two days, with texts that are no dial attempts
    rows = [c(3, d, 9 + i, "call", seq=i) for d in (0, 1) for i in range(6)]
    rows += [c(3, 0, 20, "sms", seq=6), c(3, 0, 21, "email", seq=7), c(3, 1, 20, "visit", seq=6)]
    assert run(rows, CN) == {"cn-quiet-22-08": 0, "cn-6-attempts-per-day": 0, "cn-3-connected-per-day": 0}


def test_cn_fourth_connected_call_in_a_day():
    # four connected calls (one automated, one answered by a third party) among six attempts
    rows = [c(1, 0, 9, "call", connected=True), c(1, 0, 10, "call", seq=1),
            c(1, 0, 11, "ivr", seq=2, connected=True), c(1, 0, 12, "call", seq=3, reached=True),
            c(1, 0, 13, "call", seq=4), c(1, 0, 14, "call", seq=5, connected=True)]
    assert run(rows, CN)["cn-3-connected-per-day"] == 1
    assert run(rows, CN)["cn-6-attempts-per-day"] == 0
    # three connected a day, on consecutive days; connected texts and visits are no calls
    rows = [c(2, d, 9 + i, "call", seq=i, connected=True) for d in (0, 1) for i in range(3)]
    rows += [c(2, 0, 15, "sms", seq=3, connected=True), c(2, 0, 16, "visit", seq=4, reached=True)]
    assert run(rows, CN)["cn-3-connected-per-day"] == 0


def test_cn_quiet_hours_are_22_to_08():
    assert run([c(1, 0, 22, "call"), c(2, 0, 7, "sms"), c(3, 0, 23, "visit")], CN)["cn-quiet-22-08"] == 3
    assert run([c(1, 0, 21, "call"), c(2, 0, 8, "sms"), c(3, 0, 21, "letter")], CN)["cn-quiet-22-08"] == 0
    assert run([c(1, 0, 21, "call")], REG_F)["reg-f-inconvenient-time"] == 1  # 21:00 is allowed in China only


# ---------------------------------------------------------------------------------------
# Extra (user-defined) rules, checked from their data
# ---------------------------------------------------------------------------------------


def _extra(**kw) -> RuleSet:
    return RuleSet(preset="none", extra=[Rule(name="x", **kw)])


def test_extra_quiet_hours():
    rs = _extra(kind="quiet_hours", channels=["call", "visit"], start_hour=9, end_hour=17)
    rows = [c(1, 0, 8, "call"), c(1, 0, 17, "visit", seq=1), c(1, 0, 9, "call", seq=2), c(1, 0, 16, "visit", seq=3),
            c(1, 0, 3, "sms", seq=4)]
    assert run(rows, rs) == {"x": 2}


def test_extra_opt_out_closes_all_of_the_rules_channels():
    """An opt-out through any of the rule's channels stops all of them (the rule's channels
    are one medium: scenario/rules.py), not the channels outside the rule."""
    rs = _extra(kind="opt_out", channels=["ivr", "sms"])
    rows = [c(1, 0, 10, "ivr", opted_out=True, connected=True), c(1, 0, 11, "sms", seq=1), c(1, 1, 10, "ivr"),
            c(1, 1, 11, "call", seq=1), c(1, 2, 10, "sms"), c(2, 0, 10, "email", opted_out=True, connected=True),
            c(2, 1, 10, "email"), c(2, 1, 11, "sms", seq=1)]
    assert run(rows, rs) == {"x": 3}  # the SMS the same day, the IVR and the SMS later; not the call nor account 2
    # one rule per medium (the presets' way), same name: the counts add up, and each rule closes its own
    per_medium = RuleSet(preset="none", extra=[Rule(name="x", kind="opt_out", channels=["call", "ivr"]),
                                               Rule(name="x", kind="opt_out", channels=["sms"])])
    assert run(rows, per_medium) == {"x": 2}  # account 1's call (telephone) and account 1's day-1 IVR; no SMS


def test_extra_max_attempts():
    rs = _extra(kind="max_attempts", channels=["sms", "email"], max_count=2, window_days=3)
    rows = [c(1, 0, 10, "sms"), c(1, 1, 10, "email"), c(1, 2, 10, "sms"),  # 3rd in days 0..2
            c(1, 3, 10, "call"), c(1, 4, 10, "sms"), c(1, 6, 10, "sms"), c(1, 8, 10, "email")]
    assert run(rows, rs) == {"x": 1}
    assert run(rows, _extra(kind="max_attempts", channels=["sms"], max_count=0, window_days=1)) == {"x": 4}


def test_extra_max_connects_counts_connected_not_only_reached():
    rs = _extra(kind="max_connects", channels=["call"], max_count=1, window_days=2)
    rows = [c(1, 0, 10, "call", connected=True), c(1, 1, 10, "call", reached=True),  # 2 in days 0..1
            c(1, 1, 11, "call", seq=1), c(1, 3, 10, "call", connected=True), c(1, 3, 11, "sms", seq=1, reached=True)]
    assert run(rows, rs) == {"x": 1}


def test_extra_cooldown_after_conversation():
    rs = _extra(kind="cooldown_after_conversation", channels=["call", "visit"], window_days=3)
    rows = [c(1, 0, 10, "visit", reached=True), c(1, 0, 11, "call", seq=1), c(1, 2, 10, "visit"),
            c(1, 2, 11, "sms", seq=1), c(1, 3, 10, "call"),
            c(2, 0, 10, "sms", reached=True), c(2, 1, 10, "call")]  # an SMS is not on the rule's channels
    assert run(rows, rs) == {"x": 2}


def test_extra_rules_add_to_the_preset_and_same_names_add_up():
    rs = RuleSet(preset="us-reg-f", extra=[
        Rule(kind="max_attempts", name="reg-f-7-in-7", channels=["sms"], max_count=1, window_days=1),
        Rule(kind="max_attempts", name="lunch", channels=["sms"], max_count=5, window_days=1),
    ])
    rows = [c(1, 0, 10 + i, "sms", seq=i) for i in range(3)] + [c(1, 0, 22, "call", seq=3)]
    assert run(rows, rs) == {"reg-f-inconvenient-time": 1, "reg-f-opt-out": 0, "reg-f-7-in-7": 2,
                             "reg-f-7-after-conversation": 0, "lunch": 0}


# ---------------------------------------------------------------------------------------
# Input forms and refusals
# ---------------------------------------------------------------------------------------


def test_row_order_and_input_form_do_not_matter():
    rows = [c(a, d, h, NAMES[(a + d + h) % 6], seq=s, reached=(a * d + s) % 3 == 0, opted_out=(d + s) % 5 == 0)
            for a in (3, 1, 2) for d in (0, 1, 2, 5, 9, 30) for s, h in enumerate((6, 10, 10, 21, 22))]
    want = run(rows, REG_F)
    assert sum(want.values()) > 0
    rng = np.random.default_rng(7)
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    assert run(shuffled, REG_F) == want
    day_major = sorted(rows, key=lambda r: (r["day"], r["account"], r["hour"], r["seq"]))  # as the engine appends
    assert run(day_major, REG_F) == want
    # day-major, each account in day and hour order but seq reversed within an hour
    reversed_seq = sorted(rows, key=lambda r: (r["day"], r["account"], r["hour"], -r["seq"]))
    assert run(reversed_seq, REG_F) == want
    names = ("letter", "call", "fax", "ivr", "sms", "visit", "email")  # other codes, an unused name
    log, names = as_arrays(shuffled, names)
    assert audit(log, REG_F, channel_names=names) == want
    df = pd.DataFrame(shuffled)  # names as plain strings
    assert audit(df, REG_F) == want
    wide = {k: v.astype(np.int64) for k, v in as_arrays(rows)[0].items()}  # other integer widths
    assert audit(wide, REG_F, channel_names=NAMES) == want
    # the order within an hour decides: the opt-out comes first by seq, whatever the storage order
    two = [c(9, 0, 10, "sms", seq=1), c(9, 0, 10, "sms", seq=0, opted_out=True, connected=True)]
    assert run(two, REG_F)["reg-f-opt-out"] == 1


def test_empty_log_has_no_violations():
    log, names = as_arrays([])
    assert audit(log, CN, channel_names=names) == {"cn-quiet-22-08": 0, "cn-6-attempts-per-day": 0,
                                                   "cn-3-connected-per-day": 0}
    assert audit(log, RuleSet(preset="none"), channel_names=names) == {}


def test_a_log_that_cannot_be_audited_is_refused():
    rows = [c(1, 0, 10, "call"), c(1, 0, 10, "ivr")]  # same account, day, hour and seq
    with pytest.raises(AuditLogError, match="ambiguous"):
        run(rows, REG_F)
    log, names = as_arrays([c(1, 0, 10, "call")])
    del log["connected"]
    with pytest.raises(AuditLogError, match="connected"):
        audit(log, CN, channel_names=names)
    assert audit(log, REG_F, channel_names=names)["reg-f-7-in-7"] == 0  # Reg F needs no connected
    log, names = as_arrays([c(1, 0, 10, "call")], names=("call", "pager"))
    log["channel"][0] = 1
    with pytest.raises(AuditLogError, match="pager"):
        audit(log, REG_F, channel_names=names)
    assert audit(log, _extra(kind="max_attempts", channels=["call"], max_count=0), channel_names=names) == {"x": 0}
    log, names = as_arrays([c(1, 0, 10, "call")])
    log["reached"][0] = True
    with pytest.raises(AuditLogError, match="not connected"):
        audit(log, REG_F, channel_names=names)
    for column, value in (("hour", 24), ("day", -1), ("channel", 6)):
        log, names = as_arrays([c(1, 0, 10, "call")])
        log[column][0] = value
        with pytest.raises(AuditLogError):
            audit(log, REG_F, channel_names=names)
    with pytest.raises(AuditLogError, match="channel_names"):
        audit(as_arrays([c(1, 0, 10, "call")])[0], REG_F)


def test_the_classification_is_the_audits_own_and_covers_the_engines_channels():
    # the audit's table names every channel the engine logs (by name, not by import), and
    # counts automated voice as a telephone call wherever the texts count telephone calls
    assert set(CHANNEL_LAW) == set(NAMES)
    for preset in ("us-reg-f", "cn-gbt-45251"):
        phone = [r for r in REQUIREMENTS[preset] if r.test in ("attempts", "connected", "after_conversation")]
        assert len(phone) >= 2
        for r in phone:
            assert CHANNEL_LAW["ivr"] in r.counts and CHANNEL_LAW["call"] in r.counts
            assert CHANNEL_LAW["sms"] not in r.counts and CHANNEL_LAW["email"] not in r.counts
    (ma,) = [r for r in REQUIREMENTS["us-ma"] if r.name == "ma-2-per-7"]
    assert {n for n in NAMES if CHANNEL_LAW[n] in ma.counts} == {"call", "ivr", "sms"}


def test_the_audit_imports_nothing_of_the_engine_nor_its_channel_lists():
    tree = ast.parse(Path(sys.modules[audit.__module__].__file__).read_text())
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.setdefault(node.module, set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                imported.setdefault(a.name, set())
    ours = {m: names for m, names in imported.items() if m.startswith("collectsim")}
    assert ours == {"collectsim.kernels": {"njit"}, "collectsim.scenario.rules": {"Rule", "RuleSet"}}


# ---------------------------------------------------------------------------------------
# The oracle: a plain-Python audit written separately from the rule texts
# ---------------------------------------------------------------------------------------

PHONE = {"call", "ivr"}  # telephone calls, placed by a person or by automated/prerecorded voice
EVERY = set(NAMES)
MEDIUM_OF = {"call": "telephone", "ivr": "telephone", "sms": "text", "email": "email", "visit": "in person",
             "letter": "mail"}
#: preset -> (check name, test, channels counted, parameters)
ORACLE = {
    "us-reg-f": [("reg-f-inconvenient-time", "hours", EVERY, (8, 21)), ("reg-f-opt-out", "medium", EVERY, ()),
                 ("reg-f-7-in-7", "attempts", PHONE, (7, 7)),
                 ("reg-f-7-after-conversation", "conversation", PHONE, (7,))],
    "us-ma": [("ma-inconvenient-time", "hours", EVERY, (8, 21)), ("ma-opt-out", "medium", EVERY, ()),
              ("ma-2-per-7", "attempts", {"call", "ivr", "sms"}, (2, 7))],
    "cn-gbt-45251": [("cn-quiet-22-08", "hours", EVERY, (8, 22)), ("cn-6-attempts-per-day", "attempts", PHONE, (6, 1)),
                     ("cn-3-connected-per-day", "connected", PHONE, (3, 1))],
    "none": [],
}
_KIND = {"quiet_hours": "hours", "opt_out": "channel", "max_attempts": "attempts", "max_connects": "connected",
         "cooldown_after_conversation": "conversation"}


def oracle(rows: list[dict], rule_set: RuleSet) -> dict[str, int]:
    """Violations per check, by brute force over each account's contacts in execution order."""
    checks = list(ORACLE[rule_set.preset])
    for r in rule_set.extra:
        kind = _KIND[r.kind]
        params = {"hours": (r.start_hour, r.end_hour), "channel": (), "attempts": (r.max_count, r.window_days),
                  "connected": (r.max_count, r.window_days), "conversation": (r.window_days,)}[kind]
        checks.append((r.name, kind, set(r.channels), params))
    out = {name: 0 for name, *_ in checks}
    by_account = defaultdict(list)
    for row in rows:
        by_account[row["account"]].append(row)
    for contacts in by_account.values():
        contacts = sorted(contacts, key=lambda x: (x["day"], x["hour"], x["seq"]))
        for i, now in enumerate(contacts):
            earlier = contacts[:i]
            for name, kind, channels, p in checks:
                if now["channel"] not in channels:
                    continue
                if kind == "hours":
                    bad = not p[0] <= now["hour"] < p[1]
                elif kind == "medium":
                    bad = any(e["opted_out"] and MEDIUM_OF[e["channel"]] == MEDIUM_OF[now["channel"]] for e in earlier)
                elif kind == "channel":  # an extra opt_out rule: any of its channels closes them all
                    bad = any(e["opted_out"] and e["channel"] in channels for e in earlier)
                elif kind == "conversation":
                    bad = any(e["reached"] and e["channel"] in channels and now["day"] - e["day"] < p[0]
                              for e in earlier)
                else:
                    cap, window = p
                    if kind == "connected" and not now["connected"]:
                        continue
                    in_window = [e for e in earlier + [now] if e["channel"] in channels
                                 and now["day"] - e["day"] < window and (kind == "attempts" or e["connected"])]
                    bad = len(in_window) > cap
                out[name] += int(bad)
    return out


def test_the_oracle_agrees_with_the_hand_counts():
    rows = [c(1, d, 10, "ivr" if d % 2 else "call") for d in range(7)] + [c(1, 6, 11, "ivr", seq=1)]
    rows += [c(2, 0, 10, "call", reached=True), c(2, 1, 22, "ivr"), c(3, 0, 10, "sms", reached=True, opted_out=True),
             c(3, 1, 10, "sms"), c(3, 1, 11, "email", seq=1)]
    assert oracle(rows, REG_F) == {"reg-f-inconvenient-time": 1, "reg-f-opt-out": 1, "reg-f-7-in-7": 1,
                                   "reg-f-7-after-conversation": 1} == run(rows, REG_F)


_extra_rules = st.lists(
    st.builds(
        lambda kind, chans, cap, window, start, span, i: Rule(
            kind=kind, name=f"extra-{i}", channels=sorted(chans), max_count=cap, window_days=window,
            start_hour=start, end_hour=min(24, start + span)),
        st.sampled_from(sorted(_KIND)), st.sets(st.sampled_from(NAMES), min_size=1), st.integers(0, 4),
        st.integers(1, 10), st.integers(0, 22), st.integers(1, 24), st.integers(0, 2)),
    max_size=3,
)


@st.composite
def random_logs(draw):
    """Knobs from hypothesis, rows from a numpy generator seeded by hypothesis."""
    n = draw(st.integers(0, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    accounts = rng.integers(0, draw(st.integers(1, 6)), n) * draw(st.sampled_from([1, 7, 10**9]))
    hours = rng.choice(rng.integers(0, 24, draw(st.integers(1, 6))), n)  # few distinct hours: ties
    clusters = np.array(draw(st.lists(st.integers(0, 500), min_size=1, max_size=4)))  # long gaps between
    days = clusters[rng.integers(0, len(clusters), n)] + rng.integers(0, draw(st.integers(1, 15)), n)
    weights = rng.dirichlet(np.ones(len(NAMES)) * draw(st.sampled_from([0.3, 1.0, 5.0])))
    channel = rng.choice(len(NAMES), n, p=weights)
    p_conn, p_reach, p_opt = draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(st.sampled_from([0.0, 0.05, 0.3]))
    connected = rng.random(n) < p_conn
    reached = connected & (rng.random(n) < p_reach)
    opted = rng.random(n) < p_opt
    seq = rng.permutation(n)  # unique: execution order by (hour, seq) is never ambiguous
    return [c(int(accounts[i]), int(days[i]), int(hours[i]), NAMES[channel[i]], int(seq[i]),
              connected=bool(connected[i]), reached=bool(reached[i]), opted_out=bool(opted[i])) for i in range(n)]


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rows=random_logs(), preset=st.sampled_from(sorted(REQUIREMENTS)), extra=_extra_rules,
       form=st.sampled_from(["codes", "frame", "permuted-codes", "names"]),
       stored=st.sampled_from(["as drawn", "execution order", "day-major", "day-major, seq reversed"]))
def test_the_compiled_audit_equals_the_oracle_on_random_logs(rows, preset, extra, form, stored):
    rule_set = RuleSet(preset=preset, extra=extra)
    key = {"as drawn": None, "execution order": lambda r: (r["account"], r["day"], r["hour"], r["seq"]),
           "day-major": lambda r: (r["day"], r["account"], r["hour"], r["seq"]),
           "day-major, seq reversed": lambda r: (r["day"], r["account"], r["hour"], -r["seq"])}[stored]
    if key is not None:
        rows = sorted(rows, key=key)
    if form == "frame":
        got = audit(as_frame(rows), rule_set)
    elif form == "names":
        got = audit(pd.DataFrame(rows, columns=list(c(0, 0, 0, "sms"))), rule_set)
    else:
        order = NAMES if form == "codes" else ("visit", "fax", "letter", "sms", "call", "email", "ivr")
        log, order = as_arrays(rows, order)
        got = audit(log, rule_set, channel_names=order)
    assert got == oracle(rows, rule_set)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rows=random_logs(), preset=st.sampled_from(sorted(REQUIREMENTS)), extra=_extra_rules,
       shuffle=st.sampled_from([None, 0, 1]))
def test_the_streaming_audit_equals_the_oracle_on_random_logs(rows, preset, extra, shuffle):
    # the streaming audit indexes its state by account number: dense numbers (their ranks)
    ranks = {a: i for i, a in enumerate(sorted({r["account"] for r in rows}))}
    rows = [dict(r, account=ranks[r["account"]]) for r in rows]
    rule_set = RuleSet(preset=preset, extra=extra)
    assert stream(rows, rule_set, shuffle=shuffle) == oracle(rows, rule_set)


def test_the_streaming_audit_refuses_what_cannot_be_audited():
    auditor = StreamingAudit(REG_F, NAMES)
    log, _ = as_arrays([c(1, 5, 10, "call"), c(1, 5, 10, "ivr")])
    cols = {k: v for k, v in log.items() if k != "day"}
    with pytest.raises(AuditLogError, match="same hour 10 and seq 0"):
        auditor.add_day(day=5, **cols)
    auditor = StreamingAudit(REG_F, NAMES)
    auditor.add_day(day=5, **{k: v[:1] for k, v in cols.items()})
    with pytest.raises(AuditLogError, match="day 5 after day 5"):
        auditor.add_day(day=5, **{k: v[1:] for k, v in cols.items()})
    bad = dict(cols, hour=np.array([10, 24], dtype=np.int8), seq=np.array([0, 1]))
    with pytest.raises(AuditLogError, match="row 1: hour 24 is outside 0..23"):
        StreamingAudit(REG_F, NAMES).add_day(day=1, **bad)
    bad = dict(cols, reached=np.array([True, False]))
    with pytest.raises(AuditLogError, match="row 0: reached"):
        StreamingAudit(REG_F, NAMES).add_day(day=1, **bad)
    with pytest.raises(AuditLogError, match="no legal classification"):
        StreamingAudit(REG_F, ("fax",)).add_day(day=0, account=np.array([0]), hour=np.array([9]), seq=np.array([0]),
                                               channel=np.array([0]), connected=np.array([False]),
                                               reached=np.array([False]), opted_out=np.array([False]))
    # its state per account: us-reg-f keeps the days of the last 7 calls, the latest conversation, the opt-outs
    assert StreamingAudit(REG_F, NAMES).bytes_per_account == 7 * 4 + 2 + 4 + 1
