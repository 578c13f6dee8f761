"""Contact rules as data, enforced as a hard filter, and an independent audit.

Rule kinds (each a :class:`~collectsim.sim.scenario.Rule`):

``quiet_hours``
    a contact on one of ``channels`` is allowed only for ``start_hour <= hour < end_hour``.
``opt_out``
    no contact on one of ``channels`` after the debtor opted out of that channel.
``max_attempts``
    at most ``max_count`` executed contacts on ``channels`` in any ``window_days``
    consecutive days (the current day counts as day 1).
``max_connects``
    at most ``max_count`` right-party contacts on ``channels`` in any ``window_days`` days;
    once the cap is reached no further attempt is made in the window.
``cooldown_after_conversation``
    after a right-party conversation on ``channels`` on day d, no further contact on
    ``channels`` on days d .. d + window_days − 1 (Reg F: the conversation day is day 1).

Presets (primer §3): ``us-reg-f``, ``us-ma``, ``cn-gbt-45251`` and ``none``.

Every rule is *downward closed*: removing executed contacts can never create a violation.
The engine therefore filters requests in two passes — before execution (hours, opt-outs,
attempt caps, cooldowns from earlier days) and during execution in hour order (a
conversation stops later attempts the same day; a connect cap stops attempts after the
cap) — and whatever collectors then leave undone by lack of time stays compliant.
:func:`audit` re-checks a contact log against the same rules from scratch, with pandas,
sharing no code with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from collectsim.sim.channels import CHANNEL_INDEX, CHANNELS
from collectsim.sim.scenario import Rule, RuleSet

__all__ = ["PRESETS", "resolve_rules", "RuleEngine", "audit"]

_ALL = list(CHANNELS)

#: Rule presets by name (primer §3 gives the legal sources and numbers).
PRESETS: dict[str, list[Rule]] = {
    "us-reg-f": [
        Rule(kind="quiet_hours", name="reg-f-inconvenient-time", channels=_ALL, start_hour=8, end_hour=21),
        Rule(kind="opt_out", name="reg-f-opt-out", channels=["sms", "email"]),
        Rule(kind="max_attempts", name="reg-f-7-in-7", channels=["call"], max_count=7, window_days=7),
        Rule(
            kind="cooldown_after_conversation",
            name="reg-f-7-after-conversation",
            channels=["call"],
            window_days=7,
        ),
    ],
    "us-ma": [
        Rule(kind="quiet_hours", name="ma-inconvenient-time", channels=_ALL, start_hour=8, end_hour=21),
        Rule(kind="opt_out", name="ma-opt-out", channels=["sms", "email"]),
        Rule(
            kind="max_attempts",
            name="ma-2-per-7",
            channels=["call", "sms", "ivr"],
            max_count=2,
            window_days=7,
        ),
    ],
    "cn-gbt-45251": [
        Rule(kind="quiet_hours", name="cn-quiet-22-08", channels=_ALL, start_hour=8, end_hour=22),
        Rule(kind="max_attempts", name="cn-6-attempts-per-day", channels=["call"], max_count=6, window_days=1),
        Rule(kind="max_connects", name="cn-3-connected-per-day", channels=["call"], max_count=3, window_days=1),
    ],
    "none": [],
}


def resolve_rules(rules: RuleSet) -> list[Rule]:
    """The preset's rules followed by the extra ones."""
    return list(PRESETS[rules.preset]) + list(rules.extra)


def _mask(channels: list[str]) -> np.ndarray:
    m = np.zeros(len(CHANNELS), dtype=bool)
    m[[CHANNEL_INDEX[c] for c in channels]] = True
    return m


def _exclusive_group_cumsum(flags: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """For sorted groups: count of True flags strictly before each element in its group."""
    f = flags.astype(np.int64)
    c = np.cumsum(f) - f
    sizes = np.diff(np.r_[group_start, len(f)])
    return c - np.repeat(c[group_start], sizes)


@dataclass
class _Compiled:
    rule: Rule
    channels: np.ndarray  # bool mask over channel codes
    ring: np.ndarray | None = None  # int8 (window_days - 1, n): executed counts on earlier days
    last_day: np.ndarray | None = None  # int16 (n,): last conversation day, cooldown rules


class RuleEngine:
    """Enforces a rule list for a population of ``n`` accounts and counts what it blocked.

    Parameters
    ----------
    rules:
        The resolved rules (see :func:`resolve_rules`).
    n:
        Number of accounts.
    """

    def __init__(self, rules: list[Rule], n: int) -> None:
        self.rules = [_Compiled(r, _mask(r.channels)) for r in rules]
        for c in self.rules:
            k = c.rule.kind
            if k in ("max_attempts", "max_connects") and c.rule.window_days > 1:
                c.ring = np.zeros((c.rule.window_days - 1, n), dtype=np.int16)
            if k == "cooldown_after_conversation":
                c.last_day = np.full(n, -32000, dtype=np.int16)
        #: blocked request counts by rule name
        self.blocked: dict[str, int] = {c.rule.name: 0 for c in self.rules}

    @property
    def names(self) -> list[str]:
        """Rule names in order."""
        return [c.rule.name for c in self.rules]

    def _window_sum(self, c: _Compiled, accounts: np.ndarray) -> np.ndarray:
        if c.ring is None:
            return np.zeros(len(accounts), dtype=np.int64)
        return c.ring[:, accounts].sum(axis=0, dtype=np.int64)

    def pre_filter(
        self,
        day: int,
        account: np.ndarray,
        channel: np.ndarray,
        hour: np.ndarray,
        opted_out: np.ndarray,
    ) -> np.ndarray:
        """Boolean mask of requests allowed before execution.

        Requests must be sorted by (account, hour). ``opted_out`` is the population's
        opt-out bitmask (bit = channel code).
        """
        ok = np.ones(len(account), dtype=bool)
        if len(account) == 0:
            return ok
        group_start = np.r_[0, np.flatnonzero(np.diff(account)) + 1]
        for c in self.rules:
            r = c.rule
            on = c.channels[channel] & ok
            if not on.any():
                continue
            if r.kind == "quiet_hours":
                bad = on & ((hour < r.start_hour) | (hour >= r.end_hour))
            elif r.kind == "opt_out":
                bad = on & (((opted_out[account] >> channel.astype(np.uint8)) & 1) == 1)
            elif r.kind == "cooldown_after_conversation":
                bad = on & ((day - c.last_day[account].astype(np.int64)) < r.window_days)
            elif r.kind == "max_attempts":
                prior = self._window_sum(c, account)
                rank = _exclusive_group_cumsum(on, group_start)
                bad = on & (prior + rank >= r.max_count)
            else:  # max_connects: earlier days only here; today's connects in during_execution
                bad = on & (self._window_sum(c, account) >= r.max_count)
            n_bad = int(bad.sum())
            if n_bad:
                self.blocked[r.name] += n_bad
                ok &= ~bad
        return ok

    def during_execution(
        self, account: np.ndarray, channel: np.ndarray, reached: np.ndarray, optout: np.ndarray | None = None
    ) -> np.ndarray:
        """Mask of attempts allowed given today's outcomes, in execution order.

        ``account`` must be sorted with attempts in execution (hour) order within each
        account; ``reached`` is whether each attempt *would* reach the debtor and ``optout``
        whether it would make the debtor opt out of its channel. An attempt is blocked once
        an earlier attempt today produced a conversation that a cooldown rule counts, an
        opt-out from the same channel, or once a connect cap is used up.
        """
        ok = np.ones(len(account), dtype=bool)
        if len(account) == 0:
            return ok
        group_start = np.r_[0, np.flatnonzero(np.diff(account)) + 1]
        for c in self.rules:
            r = c.rule
            if r.kind not in ("cooldown_after_conversation", "max_connects", "opt_out"):
                continue
            on = c.channels[channel]
            if not on.any():
                continue
            if r.kind == "opt_out":
                if optout is None:
                    continue
                bad = np.zeros(len(account), dtype=bool)
                for code in np.flatnonzero(c.channels):
                    same = channel == code
                    bad |= same & ok & (_exclusive_group_cumsum(same & optout, group_start) > 0)
                n_bad = int(bad.sum())
                if n_bad:
                    self.blocked[r.name] += n_bad
                    ok &= ~bad
                continue
            connects_before = _exclusive_group_cumsum(on & reached, group_start)
            if r.kind == "cooldown_after_conversation":
                bad = on & ok & (connects_before > 0)
            else:
                bad = on & ok & (self._window_sum(c, account) + connects_before >= r.max_count)
            n_bad = int(bad.sum())
            if n_bad:
                self.blocked[r.name] += n_bad
                ok &= ~bad
        return ok

    def record(self, day: int, account: np.ndarray, channel: np.ndarray, reached: np.ndarray) -> None:
        """Record the day's executed contacts into the rolling windows.

        Must be called exactly once per day, also on days without contacts: the ring slot
        of the day that leaves the window is overwritten here.
        """
        for c in self.rules:
            r = c.rule
            on = c.channels[channel]
            if r.kind == "cooldown_after_conversation":
                hit = on & reached
                c.last_day[account[hit]] = day
            elif c.ring is not None:
                hit = on if r.kind == "max_attempts" else on & reached
                # slot for today; windows look back window_days - 1 earlier days
                slot = day % c.ring.shape[0]
                c.ring[slot, :] = 0
                np.add.at(c.ring[slot], account[hit], 1)


def audit(log: pd.DataFrame, rules: list[Rule]) -> dict[str, int]:
    """Re-check a contact log against ``rules`` from scratch; return violations per rule.

    ``log`` has one row per executed contact with columns ``account``, ``day``, ``hour``,
    ``seq`` (execution order within the day), ``channel`` (name), ``reached`` (bool) and
    ``opted_out`` (bool: this contact made the debtor opt out of its channel).
    """
    out: dict[str, int] = {}
    if len(log) == 0:
        return {r.name: 0 for r in rules}
    log = log.sort_values(["account", "day", "seq"], kind="stable").reset_index(drop=True)
    for r in rules:
        sub = log[log["channel"].isin(r.channels)]
        if r.kind == "quiet_hours":
            out[r.name] = int(((sub["hour"] < r.start_hour) | (sub["hour"] >= r.end_hour)).sum())
        elif r.kind == "opt_out":
            # a contact on a channel after an earlier opt-out from that same channel
            t = sub.assign(t=sub["day"].astype(np.int64) * 1_000_000 + sub["seq"])
            first_opt = t[t["opted_out"]].groupby(["account", "channel"])["t"].min()
            joined = t.join(first_opt.rename("t_opt"), on=["account", "channel"])
            out[r.name] = int((joined["t"] > joined["t_opt"]).sum())
        elif r.kind in ("max_attempts", "max_connects"):
            ev = sub if r.kind == "max_attempts" else sub[sub["reached"]]
            daily = ev.groupby(["account", "day"]).size().rename("n").reset_index()
            big = np.int64(1 << 20)
            key = daily["account"].to_numpy(np.int64) * big + daily["day"].to_numpy(np.int64)
            cum = np.r_[0, np.cumsum(daily["n"].to_numpy())]
            lo = np.searchsorted(key, key - r.window_days + 1, side="left")
            window = cum[1:] - cum[lo]
            out[r.name] = int((window > r.max_count).sum())
        elif r.kind == "cooldown_after_conversation":
            big = np.int64(1 << 40)
            t = sub["day"].to_numpy(np.int64) * 1_000_000 + sub["seq"].to_numpy(np.int64)
            key = sub["account"].to_numpy(np.int64) * big + t
            conv = sub["reached"].to_numpy(bool)
            conv_key, conv_day = key[conv], sub["day"].to_numpy(np.int64)[conv]
            conv_acc = sub["account"].to_numpy(np.int64)[conv]
            i = np.searchsorted(conv_key, key, side="left") - 1  # latest conversation before
            has = i >= 0
            i = np.maximum(i, 0)
            same = has & (conv_acc[i] == sub["account"].to_numpy(np.int64)) if len(conv_key) else has & False
            recent = conv_day[i] > sub["day"].to_numpy(np.int64) - r.window_days if len(conv_key) else same
            out[r.name] = int((same & recent).sum())
        else:  # pragma: no cover - Literal in the schema forbids it
            raise ValueError(f"unknown rule kind {r.kind}")
    return out
