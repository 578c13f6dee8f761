"""The strategy the lender actually ran, estimated from its history as a rule-table policy.

``observed_policy.toml`` of ``collectsim calibrate`` (docs/data.md, "The observed policy").
The estimate is one rule-table cell (:class:`~collectsim.policies.rule_table.Cell`) per risk
tier × DPD bucket that had accounts in collections; a tier × bucket without any copies the
tier's nearest observed bucket (a rule table does not contact what no cell matches, so
accounts ageing past the history's last bucket would go uncontacted). Every quantity is read from the
history through the replayed state (:mod:`collectsim.experiments.calibrate.state`: the DPD,
bucket, plans and promises of each account on each day):

- **frequencies** ``<channel>_per_week``: contacts made in the cell on the channel over the
  account-days on which the table would have asked for them, × 7. The account-days are the
  days in collections in the cell, less (when the table pauses, below) the days a plan or a
  promise ran, less the days after an opt-out of the channel (when it respects opt-outs),
  and for visits only the days from ``visit_from_dpd`` on (the replay books them:
  :func:`~collectsim.experiments.calibrate.state.replay`, with a day after which the state
  changes split half and half between the two sides, because an exit, a roll-back or a
  promise is often caused by that day's contact). Standard errors
  (:attr:`ObservedPolicy.frequencies`): the ratio estimator's clustered by account, robust
  to over-dispersion, ``se(R) = √(n/(n−1) · Σᵢ (yᵢ − R xᵢ)²) / Σᵢ xᵢ`` (yᵢ contacts, xᵢ
  account-days of account i; ``se_cluster_per_week``), and the counting (Poisson) one,
  ``√Σyᵢ / Σxᵢ`` (``se_poisson_per_week``); ``se_per_week`` is the larger. A rule table's
  schedule is deterministic, so its contacts are under-dispersed and the clustered error
  alone can be far smaller than what is left of the bias above (up to about 2 % of a cell's
  frequency in the tests' books); the counting error is not.
- **hours**: the modal hour of the first contact of a day, per account and channel, of each
  channel group (``call_hour``: calls; ``visit_hour``: visits; ``message_hour``: SMS, e-mail,
  IVR, letters); a group without contacts keeps the table's default hour;
- **visit_from_dpd**: the lowest DPD at which a visit was made in the cell (0: none);
- **offer**: what the right-party contacts of the cell led to — promises: ``ptp``, plans:
  ``instalment``, settlements: ``settlement``, the most frequent if several; ``none`` when
  no right-party contact of the cell ever led to one. ``plan_months``: the modal length of
  the cell's plans, each read from its first instalment ``⌈B/k⌉`` (the replay; a plan whose
  first instalment was missed tells nothing); ``settlement_discount``: the median of
  ``1 − paid/balance`` of its settlements, to 4 decimals;
- **pause_on_promise**: false when a contact was made to an account surely paused (in a plan,
  or on the day after it promised, or before a ``promise_day`` the history gives); true when
  plans or promises were made and no such contact was; not identified otherwise (true);
- **respect_opt_out**: false when a contact was made on a channel the debtor had opted out
  of on an earlier day; true when opt-outs happened and no such contact followed; not
  identified otherwise (true);
- **priority**: not identified (the history holds only the contacts made, not the requests
  the collectors did not reach): ``expected_value``, the engine's default.

What is assumed. The history's contacts are what was *made*: requests that the lender's
contact rules blocked or its collectors did not reach are not in it, so the frequencies are
those of the strategy as executed, which is what a rule table re-run under the same rules and
capacity may cut again. An opt-out is respected under the rules too when the lender's rules
enforce one (Regulation F does): then ``respect_opt_out`` says what the rules did. The tier is
the one at entry (the accounts table's ``tier``, or the score cut at ``scoring.tier_cutoffs``):
a lender whose tiers moved with a behaviour score is read as if they had not. Without a
``promise_day`` column a promise is taken to run from the day after it was made to the first
payment after it, ``behaviour.ptp_days_max`` days, or the day before the next contact,
whichever comes first (a broken promise with no contact soon after is counted as running up
to ``ptp_days_max`` days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from collectsim.errors import InputError
from collectsim.experiments.calibrate.state import codes_of, replay
from collectsim.experiments.folders import write_text_atomic
from collectsim.history import CONTACT_OUTCOMES, History
from collectsim.policies.rule_table import FREQUENCY_FIELDS, HOUR_FIELDS, Cell, RuleTablePolicy, RuleTableSpec
from collectsim.scenario import Scenario
from collectsim.scenario.base import field_bounds
from collectsim.vocabulary.accounts import BUCKETS
from collectsim.vocabulary.channels import CHANNELS, VISIT

__all__ = ["ObservedPolicy", "estimate_observed_policy", "observed_policy", "observed_frequencies",
           "write_observed_policy"]

#: Offer of a rule-table cell for each right-party outcome (history words).
_OFFER_OF = {"promise": "ptp", "plan": "instalment", "settlement": "settlement"}


def _upper(field_name: str) -> float:
    """The largest value a Cell field takes (its ``le`` bound)."""
    return field_bounds(Cell, field_name)[1]


@dataclass(frozen=True)
class ObservedPolicy:
    """The estimate: ``policy`` is TOML-ready (``{"policy": {...}}``, a rule table that
    :func:`collectsim.policies.load_policy_file` accepts); ``frequencies`` one row per tier ×
    bucket × channel with ``contacts`` (booked, rounded), ``account_days`` (the exposure, in
    days: fractional where a promise's due day is unseen or a day is split), ``accounts``
    (with any exposure or contact), ``per_week``, its standard error ``se_per_week`` (the
    larger of ``se_cluster_per_week`` and ``se_poisson_per_week``), the same over the first half
    of each tier in the queue order at entry (``top_contacts``, ``top_account_days``,
    ``top_per_week``, ``top_se_per_week``: what identifies a cut cell's request,
    :mod:`~collectsim.experiments.calibrate.requested`) and ``in_policy`` (the
    tier × bucket had accounts, so the table has a cell for it); ``identified`` says for each
    table-wide setting whether the data showed it (else it is the engine's default);
    ``notes``: one line per assumption or gap, for the report."""

    policy: dict
    frequencies: pd.DataFrame
    identified: dict[str, bool] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _mode(values: pd.Series) -> int:
    """The most frequent value (the smallest of equally frequent ones)."""
    counts = values.value_counts()
    return int(counts[counts == counts.max()].index.min())


def _first_in_queue(h: History, acc: np.ndarray, tier: np.ndarray, n_t: int) -> np.ndarray:
    """Per account (in ``acc`` order): whether it is in the first half of its tier by the
    engine's default queue order at entry, balance × score (balance alone without a score);
    ties at the median count as first."""
    a = h.accounts
    pos = np.searchsorted(acc, a["account"].to_numpy(dtype=np.int64))
    pri = np.zeros(len(acc))
    score = a["score"].to_numpy(dtype=float) if "score" in a.columns else np.ones(len(a))
    pri[pos] = a["balance"].to_numpy(dtype=float) * np.nan_to_num(score, nan=1.0)
    out = np.zeros(len(acc), dtype=bool)
    for t in range(n_t):
        mine = tier == t
        if mine.any():
            out[mine] = pri[mine] >= np.median(pri[mine])
    return out


def estimate_observed_policy(h: History, scenario: Scenario, *, name: str = "observed") -> ObservedPolicy:
    """Estimate the rule table the lender ran from history ``h`` (module docstring), for the
    tiers of ``scenario`` (``scoring.tier_names``; ``tier_cutoffs`` when the accounts table has
    no ``tier``). Raises :class:`~collectsim.errors.InputError` when the accounts table has
    neither a ``tier`` nor a ``score`` column."""
    sc = scenario.scoring
    tier_names = list(sc.tier_names)
    n_t, n_b, n_c = len(tier_names), len(BUCKETS), len(CHANNELS)
    if "tier" not in h.accounts.columns and "score" not in h.accounts.columns:
        raise InputError("accounts: neither a 'tier' nor a 'score' column; the observed policy is by risk tier "
                         "(docs/data.md): give one of them")
    beh = scenario.behaviour
    kw = dict(reage_after=int(beh.reage_after_payments), chargeoff_dpd=scenario.portfolio.chargeoff_dpd,
              tier_cutoffs=list(sc.tier_cutoffs), n_tiers=n_t)
    first = replay(h, sample_days=np.zeros(0, dtype=np.int64), **kw)
    acc = first.account
    c = h.contacts
    c_acc = np.searchsorted(acc, c["account"].to_numpy(dtype=np.int64))
    con = pd.DataFrame({
        "acc": c_acc,
        "tier": first.tier[c_acc],
        "bucket": np.clip((first.contact_dpd - 1) // 30, 0, n_b - 1),
        "dpd": first.contact_dpd,
        "day": c["day"].to_numpy(dtype=np.int64),
        "hour": c["hour"].to_numpy(dtype=np.int64),
        "channel": codes_of(c["channel"], CHANNELS),
        "outcome": pd.Categorical.from_codes(codes_of(c["outcome"], CONTACT_OUTCOMES), categories=list(CONTACT_OUTCOMES)),
        "plan_months": first.plan_months,
        "discount": first.settlement_discount,
    })
    notes: list[str] = []
    identified: dict[str, bool] = {}

    # table-wide settings
    offers_made = con["outcome"].isin(["promise", "plan"]).any()
    pause = not bool(first.contact_paused.any())
    identified["pause_on_promise"] = bool(first.contact_paused.any() or offers_made)
    if not identified["pause_on_promise"]:
        notes.append("pause_on_promise: no promise or plan in the history; the engine's default (true) assumed")
    opted = bool(c["opt_out"].to_numpy(dtype=bool).any())
    respect = not bool(first.contact_opted_out.any())
    identified["respect_opt_out"] = bool(first.contact_opted_out.any() or opted)
    if not identified["respect_opt_out"]:
        notes.append("respect_opt_out: nobody opted out; the engine's default (true) assumed")
    identified["priority"] = False
    notes.append("priority: not identified from a history (requests the collectors did not reach are not in it); "
                 "expected_value assumed")

    # visits from: the lowest DPD of a visit per tier × bucket
    visit_from = np.zeros((n_t, n_b), dtype=np.int64)
    visits = con[con["channel"] == VISIT]
    if len(visits):
        low = visits.groupby(["tier", "bucket"])["dpd"].min()
        visit_from[low.index.get_level_values(0), low.index.get_level_values(1)] = low.to_numpy()

    used = np.zeros((n_t, n_b, n_c), dtype=bool)
    used[con["tier"].to_numpy(), con["bucket"].to_numpy(), con["channel"].to_numpy()] = True
    second = replay(h, sample_days=np.zeros(0, dtype=np.int64), exposure=True, visit_from=visit_from, channels_used=used,
                    pause_on_promise=pause, respect_opt_out=respect, ptp_days_max=int(beh.ptp_days_max), **kw)
    x, y = second.exposure, second.counts  # (accounts, buckets, channels)
    tier = second.tier
    in_cell = second.days_in_bucket  # (accounts, buckets): account-days in collections
    top = _first_in_queue(h, acc, tier, n_t)

    def ratio(xb, yb, mask=None):
        """The ratio estimator of contacts per account-day per tier over the accounts in ``mask`` (all: None)."""
        w = 1.0 if mask is None else mask.astype(float)
        sx = np.bincount(tier, weights=xb * w, minlength=n_t)
        sy = np.bincount(tier, weights=yb * w, minlength=n_t)
        rate = np.divide(sy, sx, out=np.zeros(n_t), where=sx > 0)
        resid2 = np.bincount(tier, weights=w * (yb - rate[tier] * xb) ** 2, minlength=n_t)
        n_i = np.bincount(tier, weights=w * ((xb > 0) | (yb > 0)), minlength=n_t)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.where((sx > 0) & (n_i > 1), np.sqrt(n_i / np.maximum(n_i - 1, 1) * resid2) / sx, np.nan)
            se_poisson = np.where(sx > 0, np.sqrt(sy) / sx, np.nan)
        return sx, sy, rate, n_i, se, se_poisson

    rows = []
    for b in range(n_b):
        for ch in range(n_c):
            xb, yb = x[:, b, ch], y[:, b, ch]
            sx, sy, rate, n_i, se, se_poisson = ratio(xb, yb)
            tx, ty, trate, _, tse, tse_poisson = ratio(xb, yb, top)
            for t in range(n_t):
                rows.append({"tier": tier_names[t], "bucket": BUCKETS[b], "channel": CHANNELS[ch],
                             "contacts": int(round(sy[t])), "account_days": float(sx[t]), "accounts": int(n_i[t]),
                             "per_week": 7.0 * rate[t], "se_per_week": 7.0 * np.fmax(se[t], se_poisson[t]),
                             "se_cluster_per_week": 7.0 * se[t], "se_poisson_per_week": 7.0 * se_poisson[t],
                             "top_contacts": int(round(ty[t])), "top_account_days": float(tx[t]),
                             "top_per_week": 7.0 * trate[t], "top_se_per_week": 7.0 * np.fmax(tse[t], tse_poisson[t])})
    freq = pd.DataFrame(rows)
    days_in = np.stack([np.bincount(tier, weights=in_cell[:, b], minlength=n_t) for b in range(n_b)], axis=1)

    # hours: the first contact of a day per account and channel, modal per cell and group
    group = np.array([HOUR_FIELDS[ch] for ch in CHANNELS])
    groups = ("call_hour", "message_hour", "visit_hour")
    g_of = np.array([groups.index(group[ch]) for ch in range(n_c)], dtype=np.int64)
    a_, d_, ch_, hr_ = (con[k].to_numpy() for k in ("acc", "day", "channel", "hour"))
    o = np.lexsort((hr_, ch_, d_, a_))  # each account-day-channel's earliest contact first
    a_, d_, ch_ = a_[o], d_[o], ch_[o]
    head = o[np.r_[True, (a_[1:] != a_[:-1]) | (d_[1:] != d_[:-1]) | (ch_[1:] != ch_[:-1])]]
    del a_, d_, ch_, o
    key = ((con["tier"].to_numpy()[head] * n_b + con["bucket"].to_numpy()[head]) * 3
           + g_of[con["channel"].to_numpy()[head]]) * 24 + hr_[head]
    tally = np.bincount(key, minlength=n_t * n_b * 3 * 24).reshape(n_t, n_b, 3, 24)
    hours: dict[tuple[int, int, str], int] = {}
    for t, b, g in zip(*np.nonzero(tally.sum(axis=3)), strict=True):
        hours[(int(t), int(b), groups[g])] = int(np.argmax(tally[t, b, g]))  # the most frequent; ties: the earliest

    # offers: what the right-party contacts led to
    led = con[con["outcome"].isin(list(_OFFER_OF))]
    led_counts = led.groupby(["tier", "bucket", "outcome"], observed=True).size()

    cells = []
    unknown_months = []
    for t in range(n_t):
        for b in range(n_b):
            if days_in[t, b] == 0:
                continue  # no account in collections in this tier × bucket: no cell
            cell: dict = {"tiers": [tier_names[t]], "buckets": [BUCKETS[b]]}
            for ch, f in enumerate(FREQUENCY_FIELDS):
                r = freq.iloc[(b * n_c + ch) * n_t + t]
                if r["contacts"] > 0:
                    cell[f] = round(min(float(r["per_week"]), _upper(f)), 4)
            for g in ("call_hour", "message_hour", "visit_hour"):
                if (t, b, g) in hours:
                    cell[g] = hours[(t, b, g)]
            if visit_from[t, b] > 0:
                cell["visit_from_dpd"] = int(visit_from[t, b])
            counts = {o: int(led_counts.get((t, b, o), 0)) for o in _OFFER_OF}
            if max(counts.values()) == 0:
                cell["offer"] = "none"
            else:
                best = max(_OFFER_OF, key=lambda o: (counts[o], -list(_OFFER_OF).index(o)))
                cell["offer"] = _OFFER_OF[best]
                mine = led[(led["tier"] == t) & (led["bucket"] == b) & (led["outcome"] == best)]
                if best == "plan":
                    k = mine["plan_months"]
                    k = k[k > 0]
                    if len(k):
                        cell["plan_months"] = int(min(_mode(k), _upper("plan_months")))
                    else:
                        unknown_months.append(f"{tier_names[t]} {BUCKETS[b]}")
                elif best == "settlement":
                    d = mine["discount"].dropna()
                    if len(d):
                        cell["settlement_discount"] = round(float(np.clip(d.median(), 0.0,
                                                                          _upper("settlement_discount"))), 4)
            cells.append(cell)
    seen = {(c["tiers"][0], c["buckets"][0]): c for c in cells}
    filled = []
    for t in range(n_t):
        mine = [b for b in range(n_b) if (tier_names[t], BUCKETS[b]) in seen]
        if not mine:
            continue
        for b in range(n_b):
            if b in mine:
                continue
            near = min(mine, key=lambda x: (abs(x - b), -x))  # the nearest observed bucket, the later on a tie
            cells.append({**seen[(tier_names[t], BUCKETS[near])], "buckets": [BUCKETS[b]]})
            filled.append(f"{tier_names[t]} {BUCKETS[b]} (as {BUCKETS[near]})")
    if filled:
        notes.append("never seen in the history, so copied from the tier's nearest observed bucket (accounts that "
                     "age into them keep being worked): " + ", ".join(filled))
    if unknown_months:
        notes.append("plan_months: no first instalment was paid in " + ", ".join(unknown_months)
                     + "; the table's default (6) kept")
    table = {"name": name, "kind": "rule-table", "priority": "expected_value", "pause_on_promise": pause,
             "respect_opt_out": respect, "cells": cells}
    pol = RuleTablePolicy(RuleTableSpec.model_validate(table))  # a valid table, for these tiers
    pol.prepare(tuple(tier_names))
    freq["in_policy"] = [bool(days_in[tier_names.index(tn), BUCKETS.index(bn)] > 0)
                         for tn, bn in zip(freq["tier"], freq["bucket"], strict=True)]
    return ObservedPolicy({"policy": table}, freq, identified, tuple(notes))


def observed_policy(h: History, scenario: Scenario) -> dict:
    """The observed strategy as a TOML-ready rule table ``{"policy": {...}}`` (see
    :func:`estimate_observed_policy`)."""
    return estimate_observed_policy(h, scenario).policy


def observed_frequencies(h: History, scenario: Scenario) -> pd.DataFrame:
    """The observed contacts per week by tier × bucket × channel with their standard errors
    (``per_week``, ``se_per_week``; see :func:`estimate_observed_policy`)."""
    return estimate_observed_policy(h, scenario).frequencies


def write_observed_policy(est: ObservedPolicy, path: str | Path) -> Path:
    """Write the estimate as a policy file (``collectsim run --policy FILE`` accepts it), its
    assumptions as comments at the top."""
    path = Path(path)
    head = ["# The strategy the lender ran, estimated from its collections history (docs/data.md,",
            '# "The observed policy"). Assumptions and gaps:']
    head += [f"#   - {n}" for n in est.notes] or ["#   - none"]
    write_text_atomic(path, "\n".join(head) + "\n\n" + tomli_w.dumps(est.policy))
    return path
