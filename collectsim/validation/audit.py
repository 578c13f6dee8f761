"""The audit: the contact log re-checked against the law, written from the rule texts.

The audit is an *independent* oracle. It shares nothing with the rule engine
(:mod:`collectsim.compliance`) or with the engine's rule presets (``PRESETS`` in
:mod:`collectsim.scenario.rules`): not their rule objects, not their channel lists, not
their code, not even the channel vocabulary (:mod:`collectsim.vocabulary.channels`). It
reads channel *names* from the log, classifies each with its own table,
:data:`CHANNEL_LAW` (what a contact on that channel is in law), and counts, per
requirement of :data:`REQUIREMENTS`, the legal categories that the requirement's text
counts. A mistake in the engine's presets (say, automated voice calls not counted as
telephone calls) therefore shows up here as violations instead of being repeated. From the
scenario it reads only the :class:`~collectsim.scenario.rules.RuleSet` *schema*: which
preset applies, and the user's ``extra`` rules, whose meaning the docstring of
:mod:`collectsim.scenario.rules` defines and which are checked here by their data with the
audit's own kernels.

Classification (:data:`CHANNEL_LAW`)
------------------------------------

============  ==========================================================  =============
channel       what it is in law                                           medium
============  ==========================================================  =============
``call``      telephone call placed by a person (a live agent)            telephone
``ivr``       telephone call by automated or prerecorded voice            telephone
``sms``       text message                                                text message
``email``     electronic mail                                             email
``visit``     in-person communication (field visit)                       in person
``letter``    written communication (paper mail)                          mail
============  ==========================================================  =============

The requirements and what each counts (:data:`REQUIREMENTS`; ``docs/audit.md`` quotes the
texts in full and lists every interpretive choice):

``us-reg-f`` (12 CFR part 1006, Regulation F)
    ``reg-f-inconvenient-time`` — §1006.6(b)(1)(i): "a time before 8:00 a.m. and after
    9:00 p.m. local time at the consumer's location is inconvenient"; any medium
    (comment 2(d)-1: "a communication may occur in person or by telephone, audio
    recording, paper document, mail, email, text message, ..."), attempts included.
    ``reg-f-opt-out`` — §1006.6(e) (the opt-out from electronic communications to an
    address or number) and §1006.14(h)(1) ("must not communicate or attempt to
    communicate with a person through a medium of communication if the person has
    requested that the debt collector not use that medium"): after an opt-out on a
    channel, no contact through the same *medium*. ``reg-f-7-in-7`` — §1006.14(b)(2):
    telephone calls placed "more than seven times within seven consecutive days"; counts
    telephone calls by any means (agent and automated voice), answered or not; not text
    messages or e-mails. ``reg-f-7-after-conversation`` — §1006.14(b)(2)(i)(B): a
    telephone call placed "within a period of seven consecutive days after having had a
    telephone conversation with the person ... The date of the telephone conversation is
    the first day"; a conversation is a right-party contact (``reached``) on a telephone
    call by any means (conservative: an automated call the debtor answers counts).
``us-ma`` (940 CMR 7.00, creditors)
    ``ma-inconvenient-time`` — 08:00–21:00, every medium (conservative: 940 CMR states the
    hours for telephone calls and visits). ``ma-opt-out`` — as Regulation F (a preset
    choice for a creditor). ``ma-2-per-7`` — 940 CMR 7.04(1)(f): "Initiating a
    communication with any debtor via telephone, either in person or via text messaging or
    recorded audio message, in excess of two such communications in each seven-day
    period": agent calls, automated voice and text messages, every executed attempt.
``cn-gbt-45251`` (GB/T 45251-2025 and the China Banking Association guideline of 2026)
    ``cn-quiet-22-08`` — no collection 22:00–08:00, any medium. ``cn-6-attempts-per-day``
    — at most 6 dial attempts a day, by any means (automated voice included), answered or
    not. ``cn-3-connected-per-day`` — at most 3 "effective" (connected) voice calls a day,
    "including intelligent voice": telephone calls with ``connected``.

Counting
--------
Contacts of one account are taken in execution order: by ``day``, then ``hour``, then
``seq``; two contacts with the same (account, day, hour, seq) make the order ambiguous and
the log is refused. A window of N days ending on day d is days d − N + 1 … d (calendar
days of the log: "seven consecutive days"). A contact **counted** by a cap is a violation
when, counting itself and every counted contact before it in the window, the count exceeds
the cap (the 8th telephone call within 7 days is one violation, the 9th another). A
contact counted by a conversation rule is a violation when an earlier conversation (in
execution order) of the same account lies in the window: on the conversation's day after
it, or on one of the next N − 1 days. A contact is a violation of an opt-out when an
earlier contact of the account (in execution order) opted out of its medium (presets) or,
for an ``extra`` ``opt_out`` rule, of any of the rule's channels (the schema: an opt-out
through any of them stops them all). A contact at hour h (h:00–h:59) is outside the allowed hours
``[start, end)`` when h < start or h >= end (conservative: a contact logged at hour 21 is
taken as "after 9:00 p.m."). Every executed contact counts toward a cap, including those
that are themselves violations. Results are violations per check name; two checks of the
same name (an ``extra`` rule named like a preset's) add up, as the engine's blocked counts do.

Speed: one validation pass; when the log is not in execution order yet, one stable counting
sort by account (a log appended day by day, as the engine's, is then in order within each
account; an account that is not is sorted by its (day, hour, seq) key); then one compiled
pass per check over compact columns (day, hour, channel code, a flag byte). All numba
(:func:`collectsim.kernels.njit`), O(rows × checks), no pandas group-by; extra memory about
11 bytes a row (1 when the log is already in execution order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collectsim.kernels import njit
from collectsim.scenario.rules import Rule, RuleSet

__all__ = [
    "audit",
    "StreamingAudit",
    "AuditLogError",
    "Requirement",
    "CHANNEL_LAW",
    "MEDIUM",
    "REQUIREMENTS",
    "TELEPHONE_LIVE",
    "TELEPHONE_AUTOMATED",
    "TEXT_MESSAGE",
    "EMAIL",
    "IN_PERSON",
    "WRITTEN",
]

# --------------------------------------------------------------------------------------
# What each channel of the log is in law (the audit's own table, written from the texts)
# --------------------------------------------------------------------------------------

#: A telephone call placed by a person (a collector speaking live). Regulation F
#: §1006.14(b)(2) counts it ("places a telephone call"), 940 CMR 7.04(1)(f) counts it
#: ("via telephone, either in person ..."), GB/T 45251 counts it (a voice call).
TELEPHONE_LIVE = "telephone call by a person"
#: A telephone call by automated or prerecorded voice (IVR, robo-call, "AI voice"). It is a
#: telephone call: it is placed to the person's number and rings the telephone (Regulation F
#: §1006.14(b)(1): "place telephone calls ... at the called number"); 940 CMR 7.04(1)(f)
#: names "recorded audio message"; GB/T 45251 names "intelligent voice" (智能语音).
TELEPHONE_AUTOMATED = "telephone call by automated or prerecorded voice"
#: A text message (SMS). Not a telephone call under Regulation F (comment 14(a)-1.i: a
#: collector sending numerous text messages "has not violated § 1006.14(b) through (h)");
#: counted by 940 CMR 7.04(1)(f) ("via text messaging").
TEXT_MESSAGE = "text message"
#: Electronic mail. Not a telephone call anywhere; an electronic medium with an opt-out
#: (Regulation F §1006.6(e)).
EMAIL = "electronic mail"
#: An in-person communication (field visit). A communication (comment 2(d)-1: "in person"),
#: not a telephone call.
IN_PERSON = "in-person communication"
#: A written communication on paper (letter, mail). A communication (comment 2(d)-1: "paper
#: document, mail"), not a telephone call.
WRITTEN = "written communication (mail)"

#: Channel name (as the engine logs it) → what a contact on it is in law. A channel the log
#: uses that is missing here cannot be audited against a preset: the audit refuses the log
#: rather than guess (add the channel here with its rule text first).
CHANNEL_LAW: dict[str, str] = {
    "call": TELEPHONE_LIVE,
    "ivr": TELEPHONE_AUTOMATED,
    "sms": TEXT_MESSAGE,
    "email": EMAIL,
    "visit": IN_PERSON,
    "letter": WRITTEN,
}

#: Legal category → its "medium of communication" (Regulation F §1006.14(h)(1)): an opt-out
#: on one channel forbids every channel of the same medium (conservative: a debtor who opts
#: out of automated calls is not called by an agent either).
MEDIUM: dict[str, str] = {
    TELEPHONE_LIVE: "telephone",
    TELEPHONE_AUTOMATED: "telephone",
    TEXT_MESSAGE: "text message",
    EMAIL: "email",
    IN_PERSON: "in person",
    WRITTEN: "mail",
}
_MEDIA: tuple[str, ...] = ("telephone", "text message", "email", "in person", "mail")

_TELEPHONE_CALLS = frozenset({TELEPHONE_LIVE, TELEPHONE_AUTOMATED})
_EVERY_MEDIUM = frozenset(MEDIUM)


# --------------------------------------------------------------------------------------
# The requirements, per jurisdiction, with the text they come from
# --------------------------------------------------------------------------------------

_HOURS, _OPT_OUT, _ATTEMPTS, _CONNECTED, _AFTER_CONVERSATION = range(5)
_TESTS = {"hours": _HOURS, "opt_out": _OPT_OUT, "attempts": _ATTEMPTS, "connected": _CONNECTED,
          "after_conversation": _AFTER_CONVERSATION}


@dataclass(frozen=True)
class Requirement:
    """One requirement of a jurisdiction as the audit reads it from its text.

    ``test``: ``hours`` (a counted contact only at ``start_hour <= hour < end_hour``),
    ``opt_out`` (no counted contact through a medium after an opt-out from it),
    ``attempts`` (at most ``cap`` counted contacts in any ``days`` consecutive days),
    ``connected`` (at most ``cap`` counted contacts with ``connected`` in any ``days``
    days), ``after_conversation`` (no counted contact on the day of a conversation after
    it, nor on the ``days`` − 1 days after it; a conversation is a counted contact with
    ``reached``). ``counts``: the legal categories (:data:`CHANNEL_LAW`) the text counts.
    """

    name: str
    test: str
    counts: frozenset[str]
    source: str
    text: str
    start_hour: int = 0
    end_hour: int = 24
    cap: int = 0
    days: int = 1


#: Preset name → its requirements (the check names are those of the engine's presets, so
#: that violations line up with blocked counts). ``docs/audit.md`` gives every choice.
REQUIREMENTS: dict[str, tuple[Requirement, ...]] = {
    "us-reg-f": (
        Requirement(
            "reg-f-inconvenient-time", "hours", _EVERY_MEDIUM, "12 CFR 1006.6(b)(1)(i)",
            "a debt collector must not communicate or attempt to communicate with a consumer in connection "
            "with the collection of any debt: (i) At any unusual time, or at a time that the debt collector "
            "knows or should know is inconvenient to the consumer. In the absence of the debt collector's "
            "knowledge of circumstances to the contrary, a time before 8:00 a.m. and after 9:00 p.m. local "
            "time at the consumer's location is inconvenient",
            start_hour=8, end_hour=21,
        ),
        Requirement(
            "reg-f-opt-out", "opt_out", _EVERY_MEDIUM, "12 CFR 1006.6(e); 12 CFR 1006.14(h)(1)",
            "§1006.6(e): each electronic communication must describe how the consumer can "
            "\"opt out of further electronic communications or attempts to communicate by the debt "
            "collector to that address or telephone number\"; §1006.14(h)(1): a debt collector \"must "
            "not communicate or attempt to communicate with a person through a medium of communication "
            "if the person has requested that the debt collector not use that medium to communicate "
            "with the person\"",
        ),
        Requirement(
            "reg-f-7-in-7", "attempts", _TELEPHONE_CALLS, "12 CFR 1006.14(b)(2)(i)(A), (ii)",
            "a debt collector is presumed to violate paragraph (b)(1) ... if the debt collector places a "
            "telephone call to a particular person in connection with the collection of a particular "
            "debt in excess of ... (A) More than seven times within seven consecutive days",
            cap=7, days=7,
        ),
        Requirement(
            "reg-f-7-after-conversation", "after_conversation", _TELEPHONE_CALLS,
            "12 CFR 1006.14(b)(2)(i)(B), (ii)",
            "(B) Within a period of seven consecutive days after having had a telephone conversation "
            "with the person in connection with the collection of such debt. The date of the telephone "
            "conversation is the first day of the seven-consecutive-day period.",
            days=7,
        ),
    ),
    "us-ma": (
        Requirement(
            "ma-inconvenient-time", "hours", _EVERY_MEDIUM, "940 CMR 7.04(1); 940 CMR 7.05(3)(e)",
            "placing telephone calls \"at times known to be times other than the normal waking hours of "
            "the person called, or if normal waking hours are not known, at any time other than between "
            "8:00 A.M. and 9:00 P.M.\" (the wording of 7.05(3)(e), for the debtor's household; the same "
            "hours bind calls to the debtor under 7.04(1), whose paragraph is not quoted here)",
            start_hour=8, end_hour=21,
        ),
        Requirement(
            "ma-opt-out", "opt_out", _EVERY_MEDIUM, "12 CFR 1006.6(e); 12 CFR 1006.14(h)(1) (preset choice)",
            "as reg-f-opt-out: no further communication through a medium the person opted out of",
        ),
        Requirement(
            "ma-2-per-7", "attempts", frozenset({TELEPHONE_LIVE, TELEPHONE_AUTOMATED, TEXT_MESSAGE}),
            "940 CMR 7.04(1)(f)",
            "It shall constitute an unfair or deceptive act or practice for a creditor to contact a debtor "
            "in any of the following ways: ... (f) Initiating a communication with any debtor via telephone, "
            "either in person or via text messaging or recorded audio message, in excess of two such "
            "communications in each seven-day period",
            cap=2, days=7,
        ),
    ),
    "cn-gbt-45251": (
        Requirement(
            "cn-quiet-22-08", "hours", _EVERY_MEDIUM, "GB/T 45251-2025; CBA guideline (2026)",
            "双方未约定时，催收作业不应在每日22:00至次日8:00进行 (GB/T 45251: unless agreed, no collection "
            "from 22:00 to 08:00 the next day); 未经债务人同意，严禁在每日晚22:00至次日早8:00进行电话催收、"
            "外访催收及其他催收 (CBA: no telephone, visit or other collection 22:00-08:00 without consent)",
            start_hour=8, end_hour=22,
        ),
        Requirement(
            "cn-6-attempts-per-day", "attempts", _TELEPHONE_CALLS, "CBA guideline (2026)",
            "债务人电话未接通的，催收人员对债务人同一联系方式尝试拨打次数当天不宜超过6次 (if the call is not "
            "answered, dial attempts to the same contact of the debtor should not exceed 6 that day)",
            cap=6, days=1,
        ),
        Requirement(
            "cn-3-connected-per-day", "connected", _TELEPHONE_CALLS, "GB/T 45251-2025",
            "以语音形式（含智能语音）进行交互式催收，与单一债务人主动有效通话每日不应超过3次 (interactive "
            "collection by voice, intelligent voice included: at most 3 actively placed effective calls "
            "with one debtor a day)",
            cap=3, days=1,
        ),
    ),
    "none": (),
}


class AuditLogError(ValueError):
    """The contact log cannot be audited: a column is missing or malformed, a value is out
    of range, two contacts share one place in the execution order, or a channel has no
    legal classification in :data:`CHANNEL_LAW`."""


# --------------------------------------------------------------------------------------
# The checks of one rule set, as arrays the kernel reads
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    name: str
    test: int
    preset: bool  # True: counts legal categories (CHANNEL_LAW); False: channel names (extra rule)
    counts: frozenset[str]
    start_hour: int
    end_hour: int
    cap: int
    days: int


def _checks(rule_set: RuleSet) -> list[_Check]:
    out = [
        _Check(r.name, _TESTS[r.test], True, r.counts, r.start_hour, r.end_hour, r.cap, r.days)
        for r in REQUIREMENTS[rule_set.preset]
    ]
    for r in rule_set.extra:
        out.append(_extra_check(r))
    return out


def _extra_check(r: Rule) -> _Check:
    """A user's rule by its data (kinds: :mod:`collectsim.scenario.rules`)."""
    names = frozenset(r.channels)
    if r.kind == "quiet_hours":
        return _Check(r.name, _HOURS, False, names, r.start_hour, r.end_hour, 0, 1)
    if r.kind == "opt_out":
        return _Check(r.name, _OPT_OUT, False, names, 0, 24, 0, 1)
    if r.kind == "max_attempts":
        return _Check(r.name, _ATTEMPTS, False, names, 0, 24, r.max_count, r.window_days)
    if r.kind == "max_connects":
        return _Check(r.name, _CONNECTED, False, names, 0, 24, r.max_count, r.window_days)
    if r.kind == "cooldown_after_conversation":
        return _Check(r.name, _AFTER_CONVERSATION, False, names, 0, 24, 0, r.window_days)
    raise AuditLogError(f"rule {r.name!r}: the audit has no check for kind {r.kind!r}")


def _tables(checks: list[_Check], names: tuple[str, ...], used: np.ndarray):
    """Per check and channel code: counted?, opt-out scope (an opt-out on a channel closes
    every channel of the same scope: its medium for a preset, the whole rule for an extra
    ``opt_out`` rule); refuses unclassified channels."""
    k, c = len(checks), len(names)
    counted = np.zeros((k, c), dtype=np.bool_)
    scope = np.full((k, c), -1, dtype=np.int64)
    for i, ch in enumerate(checks):
        for code, name in enumerate(names):
            if ch.preset:
                if name not in CHANNEL_LAW:
                    if used[code]:
                        raise AuditLogError(
                            f"channel {name!r} of the log has no legal classification (CHANNEL_LAW in "
                            f"collectsim/validation/audit.py): the audit cannot tell which requirements "
                            f"count it; check {ch.name!r} refused")
                    continue
                category = CHANNEL_LAW[name]
                if category in ch.counts:
                    counted[i, code] = True
                    scope[i, code] = _MEDIA.index(MEDIUM[category])
            elif name in ch.counts:
                counted[i, code] = True
                scope[i, code] = 0  # an extra rule's channels are one scope
    return counted, scope


# --------------------------------------------------------------------------------------
# Reading the log
# --------------------------------------------------------------------------------------

_INT = {"account": np.int64, "day": np.int32, "hour": np.int8, "seq": np.int32}


def _int_column(log, name: str) -> np.ndarray:
    a = np.asarray(log[name])
    want = np.dtype(_INT[name])
    if a.dtype == want:
        return a
    if a.size == 0:
        return a.astype(want)
    if a.dtype.kind not in "iu":
        raise AuditLogError(f"column {name!r} must hold integers, not {a.dtype}")
    lo, hi = np.iinfo(want).min, np.iinfo(want).max
    if a.min() < lo or a.max() > hi:
        raise AuditLogError(f"column {name!r}: values outside {want} ({a.min()} .. {a.max()})")
    return a.astype(want)


def _bool_column(log, name: str) -> np.ndarray:
    a = np.asarray(log[name])
    if a.dtype != np.bool_:
        if a.size and a.dtype.kind not in "biu":
            raise AuditLogError(f"column {name!r} must hold booleans, not {a.dtype}")
        if a.size and ((a != 0) & (a != 1)).any():
            raise AuditLogError(f"column {name!r} must hold booleans (0/1)")
        a = a.astype(np.bool_)
    return a


def _channel_column(log, channel_names) -> tuple[np.ndarray, tuple[str, ...]]:
    col = log["channel"]
    dtype = getattr(col, "dtype", None)
    if isinstance(col, pd.Categorical) or isinstance(dtype, pd.CategoricalDtype):
        if channel_names is not None:
            raise AuditLogError("channel is categorical: channel_names must not be given as well")
        cat = col if isinstance(col, pd.Categorical) else col.cat
        names = tuple(str(x) for x in cat.categories)
        codes = np.asarray(cat.codes)
    else:
        a = np.asarray(col)
        if a.dtype.kind in "iu":
            if channel_names is None:
                raise AuditLogError("channel holds integer codes: give channel_names (code -> name)")
            names = tuple(str(x) for x in channel_names)
            codes = a
        elif a.size == 0:
            names, codes = (), np.zeros(0, dtype=np.int8)
        elif a.dtype.kind in "OUS":
            if channel_names is not None:
                raise AuditLogError("channel holds names: channel_names must not be given as well")
            uniq, codes = np.unique(a.astype(str), return_inverse=True)
            names = tuple(str(x) for x in uniq)
        else:
            raise AuditLogError(f"column 'channel' must hold names or integer codes, not {a.dtype}")
    if len(names) > 63:
        raise AuditLogError(f"{len(names)} channel names: the audit handles at most 63")
    if len(set(names)) != len(names):
        raise AuditLogError(f"channel names repeat: {names}")
    codes = np.asarray(codes)
    if codes.dtype != np.int8:
        if codes.size and (codes.min() < -128 or codes.max() > 127):
            raise AuditLogError("channel codes outside int8")
        codes = codes.astype(np.int8)
    return codes, names


# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------

_BAD_CODE, _BAD_HOUR, _BAD_DAY, _REACHED_NOT_CONNECTED = 1, 2, 3, 4
_MAX_DAY = 1 << 26  # days 0 .. 2**26 - 1 (184,000 years): the order key fits in 64 bits
# bits of the per-contact flag byte the checks read
_NEW_ACCOUNT, _CONNECTED_BIT, _REACHED_BIT, _OPTED_BIT = 1, 2, 4, 8


@njit
def _scan(account, day, hour, seq, code, n_codes, connected, reached, check_reached):
    """One pass: status (0: the values are valid), contacts per channel code, and whether
    the log is already in execution order. Branch-free; :func:`_first_bad` finds the row."""
    n = account.shape[0]
    used = np.zeros(n_codes + 1, dtype=np.int64)
    bad = False
    out_of_order = False
    for i in range(n):
        c = np.int64(code[i])
        h = hour[i]
        wrong = (c < 0) | (c >= n_codes) | (h < 0) | (h > 23) | (day[i] < 0) | (day[i] >= _MAX_DAY)
        if check_reached:
            wrong |= reached[i] & ~connected[i]
        bad |= wrong
        used[min(max(c, 0), n_codes)] += 1
        if i > 0:
            a0, a1 = account[i - 1], account[i]
            d0, d1 = day[i - 1], day[i]
            h0 = hour[i - 1]
            later = (d1 > d0) | ((d1 == d0) & ((h > h0) | ((h == h0) & (seq[i] > seq[i - 1]))))
            out_of_order |= (a1 < a0) | ((a1 == a0) & ~later)
    if bad:
        status, row = _first_bad(day, hour, code, n_codes, connected, reached, check_reached)
        return status, row, used[:n_codes], False
    return 0, -1, used[:n_codes], not out_of_order


@njit
def _first_bad(day, hour, code, n_codes, connected, reached, check_reached):
    """The first invalid row and what is wrong with it."""
    for i in range(day.shape[0]):
        c = code[i]
        if c < 0 or c >= n_codes:
            return _BAD_CODE, i
        if hour[i] < 0 or hour[i] > 23:
            return _BAD_HOUR, i
        if day[i] < 0 or day[i] >= _MAX_DAY:
            return _BAD_DAY, i
        if check_reached and reached[i] and not connected[i]:
            return _REACHED_NOT_CONNECTED, i
    return 0, -1


@njit
def _flags_in_order(account, connected, reached, opted, has_connected, has_reached, has_opted, flags):
    """The flag byte of every contact of a log already in execution order."""
    n = account.shape[0]
    for i in range(n):
        f = 0
        if i == 0 or account[i] != account[i - 1]:
            f |= _NEW_ACCOUNT
        if has_connected and connected[i]:
            f |= _CONNECTED_BIT
        if has_reached and reached[i]:
            f |= _REACHED_BIT
        if has_opted and opted[i]:
            f |= _OPTED_BIT
        flags[i] = f


@njit
def _scatter_by_account(account, lo, start, day, hour, seq, code, connected, reached, opted, has_connected, has_reached,
                        has_opted, day_out, hour_out, seq_out, code_out, flags):
    """Group the log by account, stably (a counting sort on ``account − lo``, dense account
    numbers; ``start`` has one zero more than there are numbers): the compact columns (day,
    hour, seq, code, flag byte) in account order, each account's contacts in stored order."""
    n = account.shape[0]
    m = start.shape[0] - 1
    for i in range(n):
        start[account[i] - lo + 1] += 1
    for a in range(m):
        start[a + 1] += start[a]
    for i in range(n):
        a = account[i] - lo
        p = start[a]
        start[a] = p + 1
        f = 0
        if has_connected and connected[i]:
            f |= _CONNECTED_BIT
        if has_reached and reached[i]:
            f |= _REACHED_BIT
        if has_opted and opted[i]:
            f |= _OPTED_BIT
        day_out[p] = day[i]
        hour_out[p] = hour[i]
        seq_out[p] = seq[i]
        code_out[p] = code[i]
        flags[p] = f
    begin = 0  # start[a] is now the end of account a
    for a in range(m):
        if start[a] > begin:
            flags[begin] |= _NEW_ACCOUNT
        begin = start[a]


@njit
def _key(day, hour, seq, i):
    """The execution-order key of contact ``i`` within its account (day < 2**26)."""
    return ((np.int64(day[i]) * 24 + np.int64(hour[i])) << 32) + (np.int64(seq[i]) + (1 << 31))


@njit
def _order_within_accounts(day, hour, seq, code, flags):
    """Put each account's contacts (grouped, flags marking where each account starts) in
    execution order, in place; returns the first position where two contacts of an account
    share one key (−1: none)."""
    n = day.shape[0]
    b = 0
    while b < n:
        e = b + 1
        while e < n and not flags[e] & _NEW_ACCOUNT:
            e += 1
        in_order = True
        for i in range(b + 1, e):
            if _key(day, hour, seq, i) <= _key(day, hour, seq, i - 1):
                in_order = False
                break
        if not in_order:
            keys = np.empty(e - b, dtype=np.int64)
            for i in range(b, e):
                keys[i - b] = _key(day, hour, seq, i)
            perm = np.argsort(keys, kind="mergesort")
            first = flags[b] & _NEW_ACCOUNT
            d2, h2, s2, c2, f2 = day[b:e].copy(), hour[b:e].copy(), seq[b:e].copy(), code[b:e].copy(), flags[b:e].copy()
            for j in range(e - b):
                q = perm[j]
                day[b + j] = d2[q]
                hour[b + j] = h2[q]
                seq[b + j] = s2[q]
                code[b + j] = c2[q]
                flags[b + j] = f2[q] & ~_NEW_ACCOUNT
            flags[b] |= first
        for i in range(b + 1, e):
            if _key(day, hour, seq, i) == _key(day, hour, seq, i - 1):
                return i
        b = e
    return -1


# The checks: each walks the compact columns once, in execution order, with the state of
# the current account in local variables (reset where the flag byte says a new account starts).


@njit
def _hours(hour, code, counted, start_hour, end_hour):
    """Counted contacts at an hour outside [start_hour, end_hour)."""
    v = 0
    for i in range(hour.shape[0]):
        h = hour[i]
        if counted[code[i]] and (h < start_hour or h >= end_hour):
            v += 1
    return v


@njit
def _opt_out(code, flags, scope_bit):
    """Counted contacts after an earlier opt-out, of the same account, from their scope
    (``scope_bit[code]``: the bit of its medium, or of the extra rule, 0 when not counted)."""
    v = 0
    opted = np.int64(0)
    for i in range(code.shape[0]):
        f = np.int64(flags[i])
        opted *= 1 - (f & _NEW_ACCOUNT)
        bit = scope_bit[code[i]]
        v += (opted & bit) != 0
        opted |= bit * ((f >> 3) & 1)  # _OPTED_BIT
    return v


@njit
def _cap(day, code, flags, counted, need_connected, cap, window):
    """Counted contacts (with ``connected`` when ``need_connected``) that, counting
    themselves, exceed ``cap`` within the ``window`` days ending on their day.

    A counted contact exceeds the cap when at least ``cap`` earlier counted contacts of the
    account lie in its window, that is (days never decrease within an account) when the
    ``cap``-th most recent earlier one does: a ring of the last ``cap`` counted days.
    """
    mask = _CONNECTED_BIT if need_connected else 0
    v = 0
    if cap == 0:
        for i in range(day.shape[0]):
            v += np.int64(counted[code[i]]) & np.int64((flags[i] & mask) == mask)
        return v
    ring = np.zeros(cap, dtype=np.int64)  # days of the last ``cap`` counted contacts
    j = 0  # the oldest of them (next to be replaced)
    m = 0  # counted contacts of the account so far
    for i in range(day.shape[0]):
        f = flags[i]
        keep = 1 - np.int64(f & _NEW_ACCOUNT)  # a new account starts with nothing counted
        m *= keep
        j *= keep
        w = np.int64(counted[code[i]]) & np.int64((f & mask) == mask)
        d = np.int64(day[i])
        oldest = ring[j]
        v += w & np.int64(m >= cap) & np.int64(oldest >= d - window + 1)
        ring[j] = d if w else oldest
        nxt = j + 1
        nxt = 0 if nxt == cap else nxt
        j = nxt if w else j
        m += w
    return v


@njit
def _after_conversation(day, code, flags, counted, window):
    """Counted contacts on the day of an earlier conversation (a counted contact with
    ``reached``) of the account or on the ``window`` − 1 days after it."""
    v = 0
    last = np.int64(-(1 << 40))  # day of the account's latest conversation (none: far past)
    for i in range(day.shape[0]):
        f = np.int64(flags[i])
        d = np.int64(day[i])
        last = -(1 << 40) if f & _NEW_ACCOUNT else last
        w = np.int64(counted[code[i]])
        v += w & np.int64(last >= d - window + 1)
        conv = w & ((f >> 2) & 1)  # _REACHED_BIT
        last = d if conv else last
    return v


# --------------------------------------------------------------------------------------
# The audit
# --------------------------------------------------------------------------------------


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view: DataFrame columns are read-only, so every kernel sees one type."""
    v = a.view()
    v.flags.writeable = False
    return v


def audit(log, rule_set: RuleSet, channel_names=None) -> dict[str, int]:
    """Re-check a contact log against the law; return the violations per check name.

    ``log``: a pandas DataFrame or a mapping of numpy arrays, one row per *executed*
    contact, with columns ``account``, ``day`` (0-based), ``hour`` (0–23, local time),
    ``seq`` (execution order within the account's day), ``channel`` (a Categorical of
    names, an array of names, or integer codes with ``channel_names``: code → name),
    ``connected`` (answered or delivered, by anyone), ``reached`` (right-party contact;
    implies ``connected``) and ``opted_out`` (this contact made the debtor opt out of its
    channel); a column no check needs may be absent. ``rule_set``: the scenario's
    :class:`~collectsim.scenario.rules.RuleSet` — the preset's requirements
    (:data:`REQUIREMENTS`, written from the rule texts) and the ``extra`` rules, checked
    from their data. Raises :class:`AuditLogError` for a log that cannot be audited.
    """
    if not isinstance(rule_set, RuleSet):
        raise TypeError(f"rule_set must be a collectsim.scenario.RuleSet, not {type(rule_set).__name__}")
    if not isinstance(log, (pd.DataFrame, Mapping)):
        raise TypeError(f"log must be a DataFrame or a mapping of arrays, not {type(log).__name__}")
    checks = _checks(rule_set)
    out = dict.fromkeys((ch.name for ch in checks), 0)
    needs = {c: [ch.name for ch in checks] for c in ("account", "day", "hour", "seq", "channel")}
    column = {_OPT_OUT: "opted_out", _CONNECTED: "connected", _AFTER_CONVERSATION: "reached"}
    for ch in checks:
        if ch.test in column:
            needs.setdefault(column[ch.test], []).append(ch.name)
    missing = [f"{c!r} (needed by {', '.join(names)})" for c, names in needs.items() if names and c not in log]
    if missing:
        raise AuditLogError(f"the contact log has no column {'; '.join(missing)}")
    account, day, hour, seq = (_read_only(_int_column(log, c)) for c in ("account", "day", "hour", "seq"))
    n = account.shape[0]
    if not (day.shape[0] == hour.shape[0] == seq.shape[0] == n):
        raise AuditLogError("the log's columns differ in length")
    if n == 0 or not checks:
        return out
    code, names = _channel_column(log, channel_names)
    code = _read_only(code)
    present = {b: b in log for b in ("connected", "reached", "opted_out")}
    connected, reached, opted = (
        _read_only(_bool_column(log, b) if present[b] else np.zeros(0, dtype=np.bool_))
        for b in ("connected", "reached", "opted_out"))
    for a in (code, *(x for x, b in zip((connected, reached, opted), present.values(), strict=True) if b)):
        if a.shape[0] != n:
            raise AuditLogError("the log's columns differ in length")
    has = (present["connected"], present["reached"], present["opted_out"])
    both = present["connected"] and present["reached"]
    status, row, used, in_order = _scan(account, day, hour, seq, code, len(names), connected, reached, both)
    if status:
        what = {_BAD_CODE: f"channel code {code[row]} has no name (channel_names: {names})",
                _BAD_HOUR: f"hour {hour[row]} is outside 0..23",
                _BAD_DAY: f"day {day[row]} is outside 0..{_MAX_DAY - 1}",
                _REACHED_NOT_CONNECTED: "reached (a right-party contact) but not connected"}[status]
        raise AuditLogError(f"contact log row {row}: {what}")
    counted, scope = _tables(checks, names, used > 0)

    flags = np.empty(n, dtype=np.uint8)
    if in_order:
        _flags_in_order(account, connected, reached, opted, *has, flags)
    else:
        day, hour, code = _sorted_columns(account, day, hour, seq, code, connected, reached, opted, has, flags)
    flags = _read_only(flags)
    for k, ch in enumerate(checks):
        if ch.test == _HOURS:
            v = _hours(hour, code, counted[k], ch.start_hour, ch.end_hour)
        elif ch.test == _OPT_OUT:
            v = _opt_out(code, flags, np.where(scope[k] >= 0, np.int64(1) << np.maximum(scope[k], 0), 0))
        elif ch.test in (_ATTEMPTS, _CONNECTED):
            v = _cap(day, code, flags, counted[k], ch.test == _CONNECTED, ch.cap, ch.days)
        else:
            v = _after_conversation(day, code, flags, counted[k], ch.days)
        out[ch.name] += int(v)
    return out


def _sorted_columns(account, day, hour, seq, code, connected, reached, opted, has, flags):
    """Day, hour and code in execution order (and ``flags`` filled), from a log stored in
    another order: grouped by account with a stable counting sort (a log appended day by
    day, as the engine's, is then already in execution order within each account), then
    each account's contacts that are not yet in order sorted by (day, hour, seq)."""
    n = account.shape[0]
    lo, hi = int(account.min()), int(account.max())
    if hi - lo < n:
        rank, m = account, hi - lo + 1
    else:  # sparse account numbers: their dense ranks
        uniq, rank = np.unique(account, return_inverse=True)
        lo, m = 0, len(uniq)
    day_s, hour_s, seq_s, code_s = np.empty_like(day), np.empty_like(hour), np.empty_like(seq), np.empty_like(code)
    _scatter_by_account(_read_only(rank.astype(np.int64, copy=False)), lo, np.zeros(m + 1, dtype=np.int64), day, hour, seq, code, connected, reached,
                        opted, *has, day_s, hour_s, seq_s, code_s, flags)
    del rank
    dup = _order_within_accounts(day_s, hour_s, seq_s, code_s, flags)
    if dup >= 0:
        raise AuditLogError(f"two contacts of one account have the same day {day_s[dup]}, hour {hour_s[dup]} and "
                            f"seq {seq_s[dup]}: the execution order is ambiguous")
    return _read_only(day_s), _read_only(hour_s), _read_only(code_s)


# --------------------------------------------------------------------------------------
# The same audit, fed one day at a time (the engine's run: no log kept)
# --------------------------------------------------------------------------------------

_NO_CONVERSATION = np.int32(-(1 << 30))  # the day of "no conversation yet": far past
_NO_STATE = (np.zeros((0, 0), dtype=np.int32), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint8))


@njit
def _day_order(account, hour, seq):
    """0 when the day's rows are in (account, hour, seq) order with no key twice; 1 when they
    are not in order; 2 + i when rows i − 1 and i share one (account, hour, seq)."""
    for i in range(1, account.shape[0]):
        a0, a1 = account[i - 1], account[i]
        if a1 < a0:
            return 1
        if a1 == a0:
            if hour[i] < hour[i - 1] or (hour[i] == hour[i - 1] and seq[i] < seq[i - 1]):
                return 1
            if hour[i] == hour[i - 1] and seq[i] == seq[i - 1]:
                return 2 + i
    return 0


@njit
def _day_bad(day, account, hour, code, n_codes, connected, reached, limit):
    """The first invalid row of one day (−1: none) and what is wrong with it."""
    if day < 0 or day >= _MAX_DAY:
        return _BAD_DAY, 0
    for i in range(account.shape[0]):
        c = code[i]
        if c < 0 or c >= n_codes:
            return _BAD_CODE, i
        if hour[i] < 0 or hour[i] > 23:
            return _BAD_HOUR, i
        if reached[i] and not connected[i]:
            return _REACHED_NOT_CONNECTED, i
        if account[i] < 0 or account[i] >= limit:
            return 5, i
    return 0, -1


@njit
def _day_opt_out(account, code, opted, scope_bit, state):
    """:func:`_opt_out` for one day; ``state[a]``: the scopes account ``a`` opted out of."""
    v = 0
    for i in range(account.shape[0]):
        a = account[i]
        bit = scope_bit[code[i]]
        v += (state[a] & bit) != 0
        if opted[i]:
            state[a] |= bit
    return v


@njit
def _day_cap(day, account, code, connected, counted, need_connected, cap, window, ring, pos, seen):
    """:func:`_cap` for one day; per account ``a``: ``ring[a]`` the days of its last ``cap``
    counted contacts, ``pos[a]`` the oldest of them, ``seen[a]`` how many it has (at most ``cap``)."""
    v = 0
    lo = np.int64(day) - window + 1
    for i in range(account.shape[0]):
        if not counted[code[i]] or (need_connected and not connected[i]):
            continue
        if cap == 0:
            v += 1
            continue
        a = account[i]
        j = np.int64(pos[a])
        if seen[a] >= cap and ring[a, j] >= lo:
            v += 1
        ring[a, j] = day
        j += 1
        pos[a] = 0 if j == cap else j
        if seen[a] < cap:
            seen[a] += 1
    return v


@njit
def _day_after_conversation(day, account, code, reached, counted, window, last):
    """:func:`_after_conversation` for one day; ``last[a]``: the day of account ``a``'s latest conversation."""
    v = 0
    lo = np.int64(day) - window + 1
    for i in range(account.shape[0]):
        if not counted[code[i]]:
            continue
        a = account[i]
        if last[a] >= lo:
            v += 1
        if reached[i]:
            last[a] = day
    return v


class StreamingAudit:
    """The audit of :func:`audit`, fed the executed contacts one day at a time.

    The same requirements (:data:`REQUIREMENTS` and the ``extra`` rules' data), the same
    classification (:data:`CHANNEL_LAW`) and the same counting as :func:`audit`, but no log
    is kept: per account it holds only what the checks need to remember — for a cap, the
    days of the account's last ``cap`` counted contacts; for a conversation rule, the day of
    its latest conversation; for an opt-out, the scopes it left — about 35 bytes per account
    under ``us-reg-f`` (:attr:`bytes_per_account`). A run of 10^7 accounts is audited in a
    few hundred MB instead of a log of 10^8 rows.

    ``channel_names``: code → channel name of the ``channel`` codes :meth:`add_day` gets.
    Days must come in increasing order (a day without contacts may be skipped); account
    numbers are non-negative and below 2^31 (the state is indexed by them and grows as
    higher numbers appear). Within a day, rows may come in any order; their execution order
    is (account, hour, seq), and two rows of one account with one (hour, seq) are refused.
    ``tests/validation/test_audit.py`` checks that it finds exactly what :func:`audit` finds
    on the same log.
    """

    _LIMIT = 1 << 31

    def __init__(self, rule_set: RuleSet, channel_names) -> None:
        if not isinstance(rule_set, RuleSet):
            raise TypeError(f"rule_set must be a collectsim.scenario.RuleSet, not {type(rule_set).__name__}")
        names = tuple(str(x) for x in channel_names)
        if len(names) > 63:
            raise AuditLogError(f"{len(names)} channel names: the audit handles at most 63")
        if len(set(names)) != len(names):
            raise AuditLogError(f"channel names repeat: {names}")
        self.names = names
        self.checks = _checks(rule_set)
        self._counted, scope = _tables(self.checks, names, np.zeros(len(names), dtype=np.bool_))
        # scopes are the five media (a preset) or 0 (an extra rule): one byte of bits per account
        self._scope_bit = np.where(scope >= 0, np.int64(1) << np.maximum(scope, 0), 0).astype(np.uint8)
        self._unclassified = np.array([any(ch.preset for ch in self.checks) and n not in CHANNEL_LAW for n in names],
                                      dtype=np.bool_)
        self._out = dict.fromkeys((ch.name for ch in self.checks), 0)
        self._last_day = -1
        self._size = 0
        self._state: list[tuple[np.ndarray, ...]] = [self._new_state(ch, 0) for ch in self.checks]

    @staticmethod
    def _new_state(ch: _Check, n: int) -> tuple[np.ndarray, ...]:
        if ch.test == _OPT_OUT:
            return (np.zeros(n, dtype=np.uint8),)
        if ch.test in (_ATTEMPTS, _CONNECTED) and ch.cap > 0:
            small = np.uint8 if ch.cap < 256 else np.int32
            return np.zeros((n, ch.cap), dtype=np.int32), np.zeros(n, dtype=small), np.zeros(n, dtype=small)
        if ch.test == _AFTER_CONVERSATION:
            return (np.full(n, _NO_CONVERSATION, dtype=np.int32),)
        return ()

    def _grow(self, need: int) -> None:
        size = max(need, 2 * self._size, 1024)
        for k, ch in enumerate(self.checks):
            old = self._state[k]
            new = self._new_state(ch, size)
            for a, b in zip(old, new, strict=True):
                b[: a.shape[0]] = a
            self._state[k] = new
        self._size = size

    @property
    def bytes_per_account(self) -> int:
        """Bytes of state the audit keeps per account number."""
        return sum(a.nbytes for ch in self.checks for a in self._new_state(ch, 1))

    def add_day(self, *, day: int, account, hour, seq, channel, connected, reached, opted_out, **_ignored) -> None:
        """Audit one day's executed contacts (parallel arrays; ``channel``: integer codes)."""
        day = int(day)
        if day <= self._last_day:
            raise AuditLogError(f"contact log day {day} after day {self._last_day}: days must come in increasing order")
        self._last_day = day
        account = np.asarray(account).astype(np.int64, copy=False)
        n = account.shape[0]
        if n == 0 or not self.checks:
            return
        hour = np.asarray(hour).astype(np.int8, copy=False)
        seq = np.asarray(seq).astype(np.int64, copy=False)
        code = np.asarray(channel).astype(np.int8, copy=False)
        connected, reached, opted = (np.asarray(x).astype(np.bool_, copy=False) for x in (connected, reached, opted_out))
        if any(x.shape[0] != n for x in (hour, seq, code, connected, reached, opted)):
            raise AuditLogError(f"contact log day {day}: the columns differ in length")
        status, row = _day_bad(day, account, hour, code, len(self.names), connected, reached, self._LIMIT)
        if status:
            what = {_BAD_CODE: f"channel code {code[row]} has no name (channel_names: {self.names})",
                    _BAD_HOUR: f"hour {hour[row]} is outside 0..23",
                    _BAD_DAY: f"day {day} is outside 0..{_MAX_DAY - 1}",
                    _REACHED_NOT_CONNECTED: "reached (a right-party contact) but not connected",
                    5: f"account {account[row]} is outside 0..{self._LIMIT - 1}"}[status]
            raise AuditLogError(f"contact log day {day}, row {row}: {what}")
        if self._unclassified.any():
            bad = self._unclassified[code]
            if bad.any():
                name = self.names[code[np.argmax(bad)]]
                raise AuditLogError(
                    f"channel {name!r} of the log has no legal classification (CHANNEL_LAW in "
                    f"collectsim/validation/audit.py): the audit cannot tell which requirements count it")
        order = _day_order(account, hour, seq)
        if order == 1:
            perm = np.lexsort((seq, hour, account))
            account, hour, seq, code = account[perm], hour[perm], seq[perm], code[perm]
            connected, reached, opted = connected[perm], reached[perm], opted[perm]
            order = _day_order(account, hour, seq)
        if order >= 2:
            i = order - 2
            raise AuditLogError(f"two contacts of account {account[i]} on day {day} have the same hour {hour[i]} and "
                                f"seq {seq[i]}: the execution order is ambiguous")
        top = int(account.max()) + 1
        if top > self._size:
            self._grow(top)
        for k, ch in enumerate(self.checks):
            st = self._state[k]
            if ch.test == _HOURS:
                v = _hours(hour, code, self._counted[k], ch.start_hour, ch.end_hour)
            elif ch.test == _OPT_OUT:
                v = _day_opt_out(account, code, opted, self._scope_bit[k], st[0])
            elif ch.test in (_ATTEMPTS, _CONNECTED):
                ring, pos, seen = st or _NO_STATE  # a cap of 0 remembers nothing
                v = _day_cap(day, account, code, connected, self._counted[k], ch.test == _CONNECTED, ch.cap, ch.days,
                             ring, pos, seen)
            else:
                v = _day_after_conversation(day, account, code, reached, self._counted[k], ch.days, st[0])
            self._out[ch.name] += int(v)

    def violations(self) -> dict[str, int]:
        """The violations found so far, per check name (as :func:`audit` returns them)."""
        return dict(self._out)
