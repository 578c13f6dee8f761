"""The accounts' observable state replayed from a collections history (docs/data.md, "Replayed state").

A history records each account as it entered collections (balance, arrears, DPD, instalment),
every payment and every contact with its outcome. That is enough to re-run the engine's
bookkeeping of days past due and arrears (``docs/model.md`` §3.2) account by account, in the
day's phase order (§3: age, then the contacts, then the payments):

- **age**: while in collections and not in a plan, ``d ← d + 1``; when ``d ≡ 1 (mod 30)``
  an instalment falls due, ``A ← min(B, A + m)`` (not for product ``recovery``);
- **contacts** see that DPD (:func:`contact_dpd`); an outcome ``plan`` starts a plan
  (DPD stops ageing from the next day; instalments due 7 days later, then every 30 days),
  an outcome ``settlement`` ends the account that day (settled);
- **payments** (the day's total): ``B ← B − p``, ``A ← max(A − p, 0)``; ``B = 0`` paid,
  else ``A = 0`` cured (leaves collections, DPD 0), else DPD rolls back to the oldest
  unpaid instalment, ``d ← min(d, ((d − 1) mod 30) + 1 + 30(⌈A/m⌉ − 1))``; product
  ``recovery``: no cure, no roll-back.

Plans follow the engine's ``_pay_plans`` and ``_reage``: on a due day the plan's instalment
``⌈B/k⌉`` is paid or the plan breaks (DPD ages again from the next day). ``k`` is not in the
history: the first due day's payment ``p`` is taken as the instalment when some plan length
``k`` (1..127) gives ``⌈B/k⌉ = p`` exactly (the replay then knows the instalment, and the
plan's length ``k = ⌈B/p⌉``; when ``p`` is exactly the arrears the account is cured either
way and the length is left unknown, since the account may have missed the instalment and
paid its arrears itself); a due day without that payment is a break (a payment of another
amount on it is a payment of the account's own after the break, as the engine allows).
After ``reage_after`` kept instalments the account is re-aged (cured).

Exits: an account leaves collections at the end of the day of its ``outcomes`` row when the
history has one (which also covers what the tables cannot show, such as a charge-off on a
bankruptcy notice), or when the replay says so (paid, cured, settled); without an
``outcomes`` table it is charged off at the charge-off DPD. Everything is one numba kernel
over the accounts sorted by number (:func:`replay`), O(account-days + rows).

What is not replayed: the tier after a behavioural re-score (the history holds the tier at
entry) and latent state (regime, intensity). Roll rates (:func:`roll_rates`) are measured as
the engine's ``close_day`` measures them (``docs/outputs.md``): every 30 days, the accounts in
collections at the start of a cycle, by tier and bucket, and the share of them one bucket
later or charged off at its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.history import CONTACT_OUTCOMES, STATUSES, History
from collectsim.kernels import njit
from collectsim.scenario.schema import PRODUCT_CHARGEOFF_DPD
from collectsim.vocabulary.accounts import BUCKETS
from collectsim.vocabulary.channels import CHANNELS, VISIT

__all__ = ["Replay", "replay", "DAY_IN", "DAY_HAZARD", "DAY_PAID", "DAY_CLOSE", "DAY_BANKRUPT", "contact_dpd", "daily_dpd", "roll_rates", "tiers_of", "NOT_IN_COLLECTIONS",
           "EXIT_STATUSES", "cents", "codes_of"]

#: DPD reported for an account not in collections (not yet entered, or left).
NOT_IN_COLLECTIONS = -1
#: Exit status codes of :attr:`Replay.exit_status` (0: still in collections at the end of the history).
EXIT_STATUSES: tuple[str, ...] = ("active", *STATUSES)
_CURED, _PAID, _SETTLED, _CHARGED_OFF = (EXIT_STATUSES.index(s) for s in STATUSES)
_PROMISE, _PLAN, _SETTLEMENT = (CONTACT_OUTCOMES.index(o) for o in ("promise", "plan", "settlement"))
_NEVER = np.int64(2**62)
_CHARGED_OFF = EXIT_STATUSES.index("charged_off")
#: :attr:`Replay.day_flags` bits. In collections that day (its regime moves, its contacts land):
DAY_IN = np.uint8(1)
#: the repayment intensity runs (not in a plan, not settled: the engine's ``_repay`` sees it):
DAY_HAZARD = np.uint8(2)
#: it made a repayment (its fraction R of the arrears in :attr:`Replay.day_r`):
DAY_PAID = np.uint8(4)
#: still active as the day closes (exposed to a bankruptcy notice):
DAY_CLOSE = np.uint8(8)
#: charged off that day before the charge-off DPD (a bankruptcy notice; read from the outcomes table):
DAY_BANKRUPT = np.uint8(16)
_MAX_PLAN_MONTHS = 127  # the largest plan a policy can request (Requests.validate)


def cents(x) -> np.ndarray:
    """Currency units (two decimals) as the engine's integer cents."""
    return np.rint(np.asarray(x, dtype=np.float64) * 100.0).astype(np.int64)


@dataclass(frozen=True)
class Replay:
    """The replayed state of a history (arrays by account in ascending account number, and by
    contact row in the contacts table's own order).

    ``sample_days`` are the days at whose end ``sample_dpd`` holds each account's DPD
    (:data:`NOT_IN_COLLECTIONS` when it is not in collections then). ``exposure`` (when asked
    for) counts, per account, the days in collections by DPD bucket and channel on which a
    rule table would have been asked to contact it (see :func:`replay`)."""

    account: np.ndarray  #: int64: account numbers, ascending
    tier: np.ndarray  #: int64: tier index of each account (-1: unknown)
    entry_day: np.ndarray  #: int64
    exit_day: np.ndarray  #: int64: the day it left collections (-1: still in collections)
    exit_status: np.ndarray  #: int8: code into EXIT_STATUSES
    contact_dpd: np.ndarray  #: int64: DPD as the contact's day's contacts begin (after that day's ageing)
    contact_paused: np.ndarray  #: bool: the account surely had a plan or a promise running (a pausing table skips it)
    contact_opted_out: np.ndarray  #: bool: the account had opted out of the contact's channel on an earlier day
    plan_months: np.ndarray  #: int64: outcome plan: its length inferred from the first instalment (0: unknown)
    settlement_discount: np.ndarray  #: float64: outcome settlement: 1 − paid / balance (NaN otherwise)
    days_in_bucket: np.ndarray  #: int64 (accounts, 6): days in collections by DPD bucket (as contacts begin)
    sample_days: np.ndarray  #: int64
    sample_dpd: np.ndarray  #: int64 (accounts, len(sample_days)): DPD at the end of each sample day
    exposure: np.ndarray | None  #: float64 (accounts, 6, channels), or None
    counts: np.ndarray | None  #: float64 (accounts, 6, channels): the contacts booked against ``exposure``, or None
    mismatched_exits: int  #: accounts the replay saw leave before their outcomes row says (data inconsistent with the engine)
    day_flags: np.ndarray | None = None  #: uint8 (accounts, days): what each day was to the repayment process (``DAY_*`` bits), or None
    day_r: np.ndarray | None = None  #: float32 (accounts, days): a repayment's fraction R of the arrears due (``DAY_PAID`` days)


def _index(h: History) -> tuple[np.ndarray, np.ndarray]:
    """Accounts sorted by number: (numbers, the accounts table's row of each)."""
    acc = h.accounts["account"].to_numpy(dtype=np.int64)
    order = np.argsort(acc, kind="stable")
    return acc[order], order


def _csr(acc_idx: np.ndarray, day: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row order by (account, day), stable, and each account's first position (length n + 1)."""
    order = np.lexsort((day, acc_idx))
    ptr = np.searchsorted(acc_idx[order], np.arange(n + 1), side="left")
    return order, ptr.astype(np.int64)


def codes_of(values: pd.Series, vocabulary) -> np.ndarray:
    """The index in ``vocabulary`` of each value of a text (or categorical) column; -1 for a
    value not in it (the reader has refused those) or missing."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    index = {v: i for i, v in enumerate(vocabulary)}
    lookup = np.array([index.get(str(v), -1) for v in cat.cat.categories] + [-1], dtype=np.int64)
    return lookup[cat.cat.codes.to_numpy()]  # (code -1, a missing value, maps to -1)


def tiers_of(h: History, tier_cutoffs=None, n_tiers: int | None = None) -> np.ndarray:
    """Each account's tier index (in the accounts table's row order): the ``tier`` column, else
    the ``score`` cut at ``tier_cutoffs`` as the engine cuts it (``docs/model.md`` §2:
    ``searchsorted(cutoffs, score, side="right")``), else -1 for every account."""
    a = h.accounts
    if "tier" in a.columns:
        tier = a["tier"].to_numpy(dtype=np.int64)
        if n_tiers is not None and len(tier) and tier.max() >= n_tiers:
            j = int(np.flatnonzero(tier >= n_tiers)[0])
            raise InputError(f"accounts: column 'tier', row {j + 1}: tier {int(tier[j])} is not an index into the "
                             f"experiment's scoring.tier_names (0..{n_tiers - 1})")
        return tier
    if "score" in a.columns and tier_cutoffs is not None:
        return np.searchsorted(np.asarray(tier_cutoffs, dtype=float), a["score"].to_numpy(dtype=np.float64),
                               side="right").astype(np.int64)
    return np.full(len(a), -1, dtype=np.int64)


def replay(h: History, *, sample_days=None, reage_after: int = 3, chargeoff_dpd: int | None = None,
           tier_cutoffs=None, n_tiers: int | None = None, exposure: bool = False, visit_from=None,
           pause_on_promise: bool = True, respect_opt_out: bool = True, ptp_days_max: int = 7,
           channels_used=None, days_table: bool = False) -> Replay:
    """Replay every account of ``h`` through the engine's DPD and arrears mechanics (module docstring).

    Parameters
    ----------
    sample_days:
        Days at whose end to record each account's DPD (default: every 30th day, 29, 59, …,
        the ends of the engine's roll-rate cycles).
    reage_after:
        Kept plan instalments after which the engine re-ages an account
        (``behaviour.reage_after_payments``).
    chargeoff_dpd:
        Used only when the history has no ``outcomes`` table: accounts reaching it are
        charged off (default: the product's, as ``portfolio.chargeoff_dpd``; 0 = never).
    tier_cutoffs, n_tiers:
        How to find tiers when the accounts table has no ``tier`` column (see :func:`tiers_of`).
    exposure:
        Also book, per account, bucket and channel, the account-days at risk of a rule table's
        contact and the contacts made on them (:attr:`Replay.exposure`, :attr:`Replay.counts`):
        not while a plan runs or a promise runs (if ``pause_on_promise``), not on a channel
        opted out of on an earlier day (if ``respect_opt_out``), visits only from
        ``visit_from[tier, bucket]`` DPD (an array (tiers, 6); default 0), and not in a cell
        whose ``channels_used[tier, bucket, channel]`` is false (default: all true) for what
        moves between cells. A promise runs from the day after it was made to its
        ``promise_day`` when the contacts table gives one; else to the first payment within
        ``ptp_days_max`` days (kept) or, with none, to a due day taken as uniform on the days
        up to ``ptp_days_max`` or to the day before the account's next contact, whichever is
        first (a pausing table does not contact it while the promise runs): each of those days
        is at risk with the probability that the promise fell due before it. A day after which
        the account's state changes (another bucket, a pause, an opt-out, leaving collections)
        is booked half in its own bucket and half in the next day's (see :func:`_book`).
    ptp_days_max:
        The longest promise (``behaviour.ptp_days_max``).
    days_table:
        Also return, per account and day, what the day was to the self-exciting repayment
        process (:attr:`Replay.day_flags`, bits :data:`DAY_IN` … :data:`DAY_BANKRUPT`) and a
        repayment's fraction of the arrears due (:attr:`Replay.day_r`): the input of
        :mod:`~collectsim.experiments.calibrate.intensity` (accounts × days bytes: call it on
        a sample of a large history).
    """
    n_acc = len(h.accounts)
    acc, rows = _index(h)
    a = h.accounts.iloc[rows]
    tier = tiers_of(h, tier_cutoffs, n_tiers)[rows]
    days = int(h.days)
    if sample_days is None:
        sample_days = np.arange(29, days, 30, dtype=np.int64)
    sample_days = np.asarray(sample_days, dtype=np.int64)
    if len(sample_days) and (sample_days.min() < 0 or sample_days.max() >= days):
        raise InputError(f"sample_days: must lie in the history's window 0..{days - 1}")
    product = a["product"].astype(str).to_numpy()
    recovery = product == "recovery"
    if chargeoff_dpd is None:
        chargeoff = np.array([PRODUCT_CHARGEOFF_DPD[p] for p in product], dtype=np.int64) if n_acc else np.zeros(0, np.int64)
    else:
        chargeoff = np.full(n_acc, int(chargeoff_dpd), dtype=np.int64)

    # outcomes: the day and status each account left
    out_day = np.full(n_acc, _NEVER, dtype=np.int64)
    out_status = np.zeros(n_acc, dtype=np.int8)
    o = h.outcomes
    has_outcomes = len(o) > 0
    if has_outcomes:
        k = np.searchsorted(acc, o["account"].to_numpy(dtype=np.int64))
        out_day[k] = o["day"].to_numpy(dtype=np.int64)
        out_status[k] = np.array([EXIT_STATUSES.index(s) for s in o["status"].astype(str)], dtype=np.int8)

    # payments: one total per account and day, in cents
    p = h.payments
    p_acc = np.searchsorted(acc, p["account"].to_numpy(dtype=np.int64))
    p_day = p["day"].to_numpy(dtype=np.int64)
    key = p_acc * (days + 1) + p_day
    uk, inv = np.unique(key, return_inverse=True)
    amount = np.zeros(len(uk), dtype=np.int64)
    np.add.at(amount, inv, cents(p["amount"].to_numpy(dtype=np.float64)))
    pay_acc, pay_day = uk // (days + 1), uk % (days + 1)
    pay_ptr = np.searchsorted(pay_acc, np.arange(n_acc + 1), side="left").astype(np.int64)

    # contacts, by account and day
    c = h.contacts
    c_acc = np.searchsorted(acc, c["account"].to_numpy(dtype=np.int64))
    c_day = c["day"].to_numpy(dtype=np.int64)
    order, con_ptr = _csr(c_acc, c_day, n_acc)
    con_out = codes_of(c["outcome"], CONTACT_OUTCOMES)
    con_ch = codes_of(c["channel"], CHANNELS)
    con_opt = c["opt_out"].to_numpy(dtype=bool)
    if "promise_day" in c.columns:
        promise_day = c["promise_day"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        promise_day = np.where(np.isnan(promise_day), -1, promise_day).astype(np.int64)
    else:
        promise_day = np.full(len(c), -1, dtype=np.int64)

    n_tier = int(n_tiers) if n_tiers is not None else int(max(tier.max(initial=-1) + 1, 1))
    vf = np.zeros((n_tier, len(BUCKETS)), dtype=np.int64) if visit_from is None else np.asarray(visit_from, np.int64)
    used = (np.ones((n_tier, len(BUCKETS), len(CHANNELS)), dtype=np.bool_) if channels_used is None
            else np.asarray(channels_used, dtype=np.bool_))
    res = _replay(
        a["entry_day"].to_numpy(dtype=np.int64), a["dpd"].to_numpy(dtype=np.int64), cents(a["balance"]),
        cents(a["arrears"]), np.maximum(cents(a["instalment"]), 1), recovery, chargeoff, out_day, out_status,
        has_outcomes, pay_ptr, pay_day.astype(np.int64), amount, con_ptr, c_day[order], con_out[order],
        con_ch[order], con_opt[order], promise_day[order], days, np.int64(reage_after), sample_days, np.maximum(tier, 0),
        vf, used, exposure, pause_on_promise, respect_opt_out, np.int64(ptp_days_max), len(CHANNELS), days_table,
    )
    (exit_day, exit_status, s_dpd, s_paused, s_opted, s_k, s_disc, in_bucket, sample_dpd, expo, count, mismatched,
     flags, r_day) = res

    def unsort(x):  # contact arrays back to the table's row order
        y = np.empty_like(x)
        y[order] = x
        return y

    return Replay(
        account=acc, tier=tier, entry_day=a["entry_day"].to_numpy(dtype=np.int64), exit_day=exit_day,
        exit_status=exit_status, contact_dpd=unsort(s_dpd), contact_paused=unsort(s_paused),
        contact_opted_out=unsort(s_opted), plan_months=unsort(s_k), settlement_discount=unsort(s_disc),
        days_in_bucket=in_bucket, sample_days=sample_days, sample_dpd=sample_dpd,
        exposure=expo if exposure else None, counts=count if exposure else None, mismatched_exits=int(mismatched),
        day_flags=flags if days_table else None, day_r=r_day if days_table else None,
    )


@njit
def _bucket(d):
    return min(max((d - 1) // 30, 0), 5)


@njit
def _replay(entry, dpd0, bal0, arr0, inst, recovery, chargeoff, out_day, out_status, has_outcomes, pay_ptr, pay_day,
            pay_amt, con_ptr, con_day, con_out, con_ch, con_opt, con_pday, days, reage_after, sample_days, tier,
            visit_from, uses, want_exposure, pause, respect, ptp_days_max, n_ch, want_days):
    """One pass over every account's days in collections (see :func:`replay`)."""
    n = len(entry)
    n_d = n if want_days else 0
    flags = np.zeros((n_d, days), dtype=np.uint8)
    r_day = np.zeros((n_d, days), dtype=np.float32)
    m = len(con_day)
    exit_day = np.full(n, -1, dtype=np.int64)
    exit_status = np.zeros(n, dtype=np.int8)
    s_dpd = np.full(m, -1, dtype=np.int64)
    s_paused = np.zeros(m, dtype=np.bool_)
    s_opted = np.zeros(m, dtype=np.bool_)
    s_k = np.zeros(m, dtype=np.int64)
    s_disc = np.full(m, np.nan)
    in_bucket = np.zeros((n, 6), dtype=np.int64)
    n_s = len(sample_days)
    sample_dpd = np.full((n, n_s), -1, dtype=np.int64)
    n_e = n if want_exposure else 0
    expo = np.zeros((n_e, 6, n_ch), dtype=np.float64)
    count = np.zeros((n_e, 6, n_ch), dtype=np.float64)
    w = np.zeros(n_ch)  # today's exposure weight per channel
    cnt = np.zeros(n_ch)  # today's contacts per channel
    prev_w = np.zeros(n_ch)  # yesterday's, not yet booked
    prev_cnt = np.zeros(n_ch)
    mismatched = 0
    for i in range(n):
        prev_b = -1
        d = dpd0[i]
        B = bal0[i]
        A = arr0[i]
        mi = inst[i]
        rec = recovery[i]
        in_plan = False
        plan_next = -1
        plan_paid = 0
        plan_amount = 0
        plan_row = -1  # the contact row of the running plan (its length is written there)
        plan_start_B = 0
        sure_until = -1  # last day a promise surely runs (a pausing table skips the account)
        pr_start = -1  # the last promise: made on pr_start, running to pr_end (exposure)
        pr_end = -1
        pr_uniform = False  # its due day unseen: uniform on pr_start+1..pr_end
        opted = 0
        jp = pay_ptr[i]
        jc = con_ptr[i]
        js = 0
        while js < n_s and sample_days[js] < entry[i]:
            js += 1
        t = entry[i]
        status = 0
        while t < days:
            # 1 age
            if not in_plan:
                d += 1
                if not rec and d % 30 == 1:
                    A = min(A + mi, B)
            b = _bucket(d)
            in_bucket[i, b] += 1
            paused_sure = in_plan or t <= sure_until
            if in_plan or not pause or t > pr_end:
                at_risk = 0.0 if in_plan and pause else 1.0
            elif pr_uniform:  # P(the promise fell due before today)
                at_risk = (t - pr_start - 1) / (pr_end - pr_start)
            else:
                at_risk = 0.0
            if want_exposure:
                for c in range(n_ch):
                    w[c] = at_risk
                    cnt[c] = 0.0
                    if respect and (opted >> c) & 1:
                        w[c] = 0.0
                    if c == VISIT and d < visit_from[tier[i], b]:
                        w[c] = 0.0
                    if not uses[tier[i], b, c]:
                        w[c] = -w[c]  # (exposed, but the cell makes no such contacts: nothing moves into it)
                if prev_b >= 0:  # book yesterday: split it with today when the state changed
                    _book(expo[i], count[i], prev_b, prev_w, prev_cnt, b, w)
            # 2-6 the day's contacts
            settled_today = False
            s_disc_row = -1
            new_opted = opted
            while jc < con_ptr[i + 1] and con_day[jc] < t:
                jc += 1  # (rows of days the replay has the account out of collections)
            while jc < con_ptr[i + 1] and con_day[jc] == t:
                s_dpd[jc] = d
                s_paused[jc] = paused_sure
                s_opted[jc] = (opted >> con_ch[jc]) & 1
                if want_exposure:
                    cnt[con_ch[jc]] += 1.0
                if con_opt[jc]:
                    new_opted |= 1 << con_ch[jc]
                o = con_out[jc]
                if o == 5:  # settlement
                    settled_today = True
                    s_disc_row = jc
                    s_disc[jc] = -1.0  # filled by the day's payment below
                elif o == 4 and not in_plan:  # plan: from tomorrow
                    in_plan = True
                    plan_next = t + 7
                    plan_paid = 0
                    plan_amount = 0
                    plan_row = jc
                    plan_start_B = B
                elif o == 3:  # promise
                    sure_until = max(sure_until, t + 1)
                    pr_start = t
                    pr_uniform = False
                    if con_pday[jc] > t:  # its due day is in the history
                        sure_until = max(sure_until, con_pday[jc])
                        pr_end = con_pday[jc]
                    else:  # due in 1..ptp_days_max days: kept on the first payment, or broken
                        end = t + ptp_days_max
                        q = jc + 1
                        while q < con_ptr[i + 1] and con_day[q] <= t:
                            q += 1
                        if q < con_ptr[i + 1] and pause:
                            end = min(end, con_day[q] - 1)  # a pausing table contacted it again
                        end = max(end, t + 1)
                        q = jp
                        while q < pay_ptr[i + 1] and pay_day[q] <= t:
                            q += 1
                        if q < pay_ptr[i + 1] and pay_day[q] <= end:
                            pr_end = pay_day[q]  # kept (or overtaken) that day
                        else:  # broken on a day unseen: uniform on t+1..end
                            pr_end = end
                            pr_uniform = True
                jc += 1
            opted = new_opted
            # 7 payments (the day's total)
            p = 0
            while jp < pay_ptr[i + 1] and pay_day[jp] < t:
                jp += 1
            if jp < pay_ptr[i + 1] and pay_day[jp] == t:
                p = pay_amt[jp]
                jp += 1
            if settled_today:
                if B > 0 and p > 0 and s_disc_row >= 0:
                    s_disc[s_disc_row] = 1.0 - p / B
                else:
                    s_disc[s_disc_row] = np.nan
                B = 0
                status = 3  # settled
            else:
                if in_plan and t == plan_next:
                    is_instalment = False
                    if p > 0:
                        if plan_amount > 0:
                            is_instalment = p == min(plan_amount, B)
                        elif p >= B:
                            is_instalment = True
                            if plan_row >= 0:
                                s_k[plan_row] = 1
                        else:
                            k = (plan_start_B + p - 1) // p
                            if k <= _MAX_PLAN_MONTHS and (plan_start_B + k - 1) // k == p:
                                is_instalment = True
                                plan_amount = p
                                # a payment of exactly the arrears cures either way: it may as
                                # well be the account's own after a missed instalment, so the
                                # plan's length stays unknown
                                if plan_row >= 0 and p != A:
                                    s_k[plan_row] = k
                    if is_instalment:
                        plan_paid += 1
                        plan_next += 30
                    else:
                        in_plan = False  # a miss breaks the plan
                if want_days:
                    f = DAY_IN
                    if not in_plan:  # the engine's repayments skip accounts in a plan (instalments are not repayments)
                        f |= DAY_HAZARD
                        if p > 0:
                            f |= DAY_PAID
                            r_day[i, t] = min(p / max(A, 1), 1.0)
                    flags[i, t] = f
                if p > 0:
                    p = min(p, B)
                    B -= p
                    A = max(A - p, 0)
                    if B == 0:
                        status = 2  # paid
                    elif not rec:
                        if A == 0:
                            status = 1  # cured
                        else:
                            unpaid = (A + mi - 1) // mi
                            within = (d - 1) % 30 + 1
                            d = min(d, within + 30 * (unpaid - 1))
                if status == 0 and in_plan and plan_paid >= reage_after:
                    status = 1  # re-aged: cured
            # 8 close
            if want_days:
                if settled_today:
                    flags[i, t] = DAY_IN
                elif status == 0:  # active as the day closes: exposed to a bankruptcy notice
                    flags[i, t] |= DAY_CLOSE
                    if (has_outcomes and out_day[i] == t and out_status[i] == _CHARGED_OFF and chargeoff[i] > 0
                            and d < chargeoff[i]):
                        flags[i, t] |= DAY_BANKRUPT  # charged off before the charge-off DPD: a notice
            if status == 0 and not has_outcomes and chargeoff[i] > 0 and d >= chargeoff[i]:
                status = 4
            if status != 0 and t < out_day[i] and has_outcomes:
                mismatched += 1
            if out_day[i] == t:
                status = out_status[i]
            if status == 1:
                d = 0
            while js < n_s and sample_days[js] < t:
                js += 1
            if want_exposure:
                prev_b = b
                prev_w[:] = w
                prev_cnt[:] = cnt
            if status != 0:
                exit_day[i] = t
                exit_status[i] = status
                break
            if js < n_s and sample_days[js] == t:
                sample_dpd[i, js] = d
                js += 1
            t += 1
        if want_exposure and prev_b >= 0:  # the last day: half of it when the account left, all at the window's end
            if status != 0:
                w[:] = 0.0
                _book(expo[i], count[i], prev_b, prev_w, prev_cnt, -1, w)
            else:
                _book(expo[i], count[i], prev_b, prev_w, prev_cnt, prev_b, prev_w)
    return (exit_day, exit_status, s_dpd, s_paused, s_opted, s_k, s_disc, in_bucket, sample_dpd, expo, count, mismatched,
            flags, r_day)


@njit
def _book(expo, count, b0, w0, y0, b1, w1):
    """Book a day's exposure ``w0`` and contacts ``y0`` (per channel) in bucket ``b0``, given the
    next day's bucket ``b1`` (-1: not in collections) and weights ``w1``: where the state
    changes (another bucket, or less exposure: a pause, an opt-out, an exit), half of the day
    goes to the next day's bucket (when exposed there) and half stays; else all of it stays.

    Why: an exit, a roll-back or a promise is often caused by the day's own contact, so a
    window of days that ends on such a day ends just after a contact; counting that day whole
    would over-count its window's contacts by half a contact on average (and the next window's
    count, which starts just after it, would be short by as much). Half of the day on each side
    makes both unbiased to first order, and changes nothing where the boundary does not depend
    on the contacts (the 30-day ageing)."""
    for c in range(len(w0)):
        if w0[c] < 0.0:  # exposed in a cell without contacts of the channel: all of it stays
            expo[b0, c] -= w0[c]
            count[b0, c] += y0[c]
            continue
        if w0[c] == 0.0:
            continue
        if b1 == b0 and abs(w1[c]) >= w0[c]:
            expo[b0, c] += w0[c]
            count[b0, c] += y0[c]
        else:
            expo[b0, c] += 0.5 * w0[c]
            count[b0, c] += 0.5 * y0[c]
            if b1 >= 0 and w1[c] > 0.0:
                expo[b1, c] += 0.5 * w0[c]
                count[b1, c] += 0.5 * y0[c]


def contact_dpd(h: History, **kw) -> np.ndarray:
    """DPD of the account at each contact row (the contacts table's order), as that day's
    contacts begin: after the day's ageing, before its payments (``docs/model.md`` §3).
    Keywords as :func:`replay`."""
    return replay(h, sample_days=np.zeros(0, dtype=np.int64), **kw).contact_dpd


def daily_dpd(h: History, days=None, **kw) -> pd.DataFrame:
    """Each account's DPD at the end of each of ``days`` (default: 29, 59, …), after that day's
    payments, :data:`NOT_IN_COLLECTIONS` when it is not in collections then: a frame indexed
    by account number, one column per day. Keywords as :func:`replay`."""
    r = replay(h, sample_days=days, **kw)
    return pd.DataFrame(r.sample_dpd, index=pd.Index(r.account, name="account"), columns=list(r.sample_days))


def roll_rates(h: History, tier_names=None, **kw) -> pd.DataFrame:
    """Roll rates measured as the engine's ``close_day`` measures them (``docs/outputs.md``).

    Every 30 days (cycles of days 0–29, 30–59, … that end inside the history) the accounts
    that had entered by the cycle's first day and were in collections at its start are counted
    by tier and by their bucket at the start (the entry DPD for the first cycle and for
    accounts entering on its first day, else the DPD at the end of the day before); those
    still in collections one bucket or more later at the cycle's end, or charged off during
    it, rolled. Returns one row per tier (``tier_names[k]``, or the index) and starting bucket
    M1–M5, plus tier ``all``: ``tier``, ``from``, ``to``, ``accounts``, ``rolled``, ``rate``
    (NaN without accounts). Keywords as :func:`replay`.
    """
    days = int(h.days)
    ends = np.arange(29, days, 30, dtype=np.int64)
    r = replay(h, sample_days=ends, **kw)
    dpd0 = h.accounts["dpd"].to_numpy(dtype=np.int64)[_index(h)[1]]
    tiers = r.tier if (r.tier >= 0).any() else np.zeros_like(r.tier)  # no tiers known: one
    n_t = int(max(tiers.max(initial=-1) + 1, 1)) if tier_names is None else len(tier_names)
    names = list(tier_names) if tier_names is not None else [str(k) for k in range(n_t)]
    num = np.zeros((n_t, len(BUCKETS)), dtype=np.int64)
    den = np.zeros((n_t, len(BUCKETS)), dtype=np.int64)
    for k, e in enumerate(ends):
        s = e - 29
        if k == 0:
            start = dpd0
        else:
            start = np.where(r.entry_day == s, dpd0, r.sample_dpd[:, k - 1])
        was = (r.entry_day <= s) & ((r.exit_day < 0) | (r.exit_day >= s))
        # an account entering on the cycle's first day starts at its entry DPD
        start_b = np.clip((start - 1) // 30, 0, 5)
        now = r.sample_dpd[:, k]
        active_end = (r.exit_day < 0) | (r.exit_day > e)
        rolled = (active_end & (np.clip((now - 1) // 30, 0, 5) >= start_b + 1)) | (
            (r.exit_status == _CHARGED_OFF) & (r.exit_day >= s) & (r.exit_day <= e))
        ok = was & (tiers >= 0)
        key = tiers[ok] * len(BUCKETS) + start_b[ok]
        den += np.bincount(key, minlength=n_t * len(BUCKETS)).reshape(n_t, -1)
        num += np.bincount(key, weights=rolled[ok], minlength=n_t * len(BUCKETS)).astype(np.int64).reshape(n_t, -1)
    rows = []
    for label, nu, de in [*((names[t], num[t], den[t]) for t in range(n_t)), ("all", num.sum(0), den.sum(0))]:
        for b in range(len(BUCKETS) - 1):
            rows.append({"tier": label, "from": BUCKETS[b], "to": BUCKETS[b + 1], "accounts": int(de[b]),
                         "rolled": int(nu[b]), "rate": nu[b] / de[b] if de[b] else np.nan})
    return pd.DataFrame(rows)
