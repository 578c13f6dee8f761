"""The rule engine: the contact rules of a scenario enforced as a hard filter on requests.

The rules are data (:mod:`collectsim.scenario.rules`: kinds, presets). Every rule is
*downward closed*: removing executed contacts can never create a violation. The engine
therefore filters requests in two passes — before execution (hours, opt-outs, attempt caps,
cooldowns from earlier days) and during execution in hour order (a conversation stops later
attempts the same day; a connect cap stops attempts after the cap) — and whatever collectors
then leave undone by lack of time stays compliant. It counts what each rule blocked. The
independent audit of the contact log is :mod:`collectsim.validation.audit`.

The rules are compiled into a small table (kind, channels, numbers per rule) and each phase
is one numba kernel that walks the day's requests account by account (they are sorted by
account, then hour) and puts each request through the rules in list order — the same as
applying the rules one after the other as filters, in one pass, so filtering costs
O(requests) whatever the size of the book. Attempt and connect caps keep a ring of per-day
counts over the window's earlier days (one int16 row per day over all accounts,
``window_days − 1`` rows) and their running total per account, so a screen reads one number
per account: when a day is recorded, the day leaving the window is subtracted from the total
and its row is cleared for today's counts. Cooldowns keep the day of each account's last
conversation. (One row per account instead was measured to be slower: the day's requests
come in account order, so the rows are read as a few streams.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collectsim.kernels import njit
from collectsim.scenario.rules import Rule
from collectsim.vocabulary.channels import CHANNEL_INDEX, CHANNELS

__all__ = ["RuleEngine"]


def _mask(channels: list[str]) -> np.ndarray:
    m = np.zeros(len(CHANNELS), dtype=bool)
    m[[CHANNEL_INDEX[c] for c in channels]] = True
    return m


def _bits(channels: list[str]) -> int:
    """The channels as a bitmask (bit = channel code), as the opt-out bitmasks are."""
    return sum(1 << CHANNEL_INDEX[c] for c in set(channels))


@dataclass
class _Compiled:
    rule: Rule
    channels: np.ndarray  # bool mask over channel codes


_QUIET, _OPT_OUT, _COOLDOWN, _ATTEMPTS, _CONNECTS = range(5)
_KIND = {"quiet_hours": _QUIET, "opt_out": _OPT_OUT, "cooldown_after_conversation": _COOLDOWN,
         "max_attempts": _ATTEMPTS, "max_connects": _CONNECTS}


class RuleEngine:
    """Enforces a rule list for a population of ``n`` accounts and counts what it blocked.

    Parameters
    ----------
    rules:
        The resolved rules (see :func:`collectsim.scenario.resolve_rules`).
    n:
        Number of accounts.
    """

    def __init__(self, rules: list[Rule], n: int) -> None:
        self.compiled = [_Compiled(r, _mask(r.channels)) for r in rules]
        k = len(self.compiled)
        # the rule table the kernels read
        self._kind = np.array([_KIND[c.rule.kind] for c in self.compiled], dtype=np.int64)
        self._on = np.array([c.channels for c in self.compiled], dtype=bool).reshape(k, len(CHANNELS))
        #: each rule's channels as a bitmask (an opt-out rule: an opt-out from any of them blocks all)
        self._bits = np.array([_bits(c.rule.channels) for c in self.compiled], dtype=np.int64)
        self._start = np.array([c.rule.start_hour for c in self.compiled], dtype=np.int64)
        self._end = np.array([c.rule.end_hour for c in self.compiled], dtype=np.int64)
        self._cap = np.array([c.rule.max_count for c in self.compiled], dtype=np.int64)
        self._window = np.array([c.rule.window_days for c in self.compiled], dtype=np.int64)
        # ring rows (caps over several days) and last-conversation days (cooldowns), stacked
        rows = [c.rule.window_days - 1 if c.rule.kind in ("max_attempts", "max_connects") else 0 for c in self.compiled]
        self._ring_at = np.r_[0, np.cumsum(rows)].astype(np.int64)
        #: the caps' per-day counts: row ``ring_at[r] + day % (window − 1)`` of rule r
        self.rings = np.zeros((int(self._ring_at[-1]), n), dtype=np.int16)
        #: the caps' running totals over their rings (row ``sum_at[r]``; −1: no earlier days),
        #: so a screen reads one number per account instead of window − 1
        windowed = [i for i, r in enumerate(rows) if r > 0]
        self._sum_at = np.full(k, -1, dtype=np.int64)
        self._sum_at[windowed] = np.arange(len(windowed))
        self.sums = np.zeros((len(windowed), n), dtype=np.int16)
        cool = [i for i, c in enumerate(self.compiled) if c.rule.kind == "cooldown_after_conversation"]
        self._cool_at = np.full(k, -1, dtype=np.int64)
        self._cool_at[cool] = np.arange(len(cool))
        #: the cooldowns' last conversation day of each account
        self.last_days = np.full((len(cool), n), _NEVER, dtype=np.int16)
        #: blocked request counts by rule name
        self.blocked: dict[str, int] = {c.rule.name: 0 for c in self.compiled}
        #: requests blocked since :meth:`new_day`
        self.blocked_today = 0

    def new_day(self) -> None:
        """Start counting the day's blocked requests."""
        self.blocked_today = 0

    def move(self, src: np.ndarray, dst: slice | np.ndarray) -> None:
        """Move the accounts' rule memory between slots: ``dst`` gets what ``src`` had (see
        :class:`collectsim.agents.borrowers.SlotMove`)."""
        for memory in (self.rings, self.sums, self.last_days):
            for row in memory:  # row by row: a 2-D fancy index is several times slower
                row[dst] = row[src]

    def _count_blocked(self, blocked: np.ndarray) -> None:
        for c, b in zip(self.compiled, blocked.tolist(), strict=True):
            self.blocked[c.rule.name] += b
            self.blocked_today += b

    @property
    def names(self) -> list[str]:
        """Rule names in order."""
        return [c.rule.name for c in self.compiled]

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
        opt-out bitmask (bit = channel code); an opt-out rule blocks its channels once the
        debtor opted out of any of them. Rules act as filters in list order: each sees the
        requests the rules before it let through.
        """
        ok = np.ones(len(account), dtype=bool)
        if len(account) == 0 or not self.compiled:
            return ok
        blocked = np.zeros(len(self.compiled), dtype=np.int64)
        _screen_before(ok, _i64(account), channel, hour, opted_out, day, self._kind, self._on, self._bits,
                       self._start, self._end, self._cap, self._window, self.sums, self._sum_at, self.last_days,
                       self._cool_at, blocked)
        self._count_blocked(blocked)
        return ok

    def during_execution(
        self,
        account: np.ndarray,
        channel: np.ndarray,
        connected: np.ndarray,
        reached: np.ndarray,
        optout: np.ndarray | None = None,
        ok: np.ndarray | None = None,
    ) -> np.ndarray:
        """Mask of attempts allowed given today's outcomes, in execution order.

        ``account`` must be sorted with attempts in execution (hour) order within each
        account; ``connected`` is whether each attempt *would* be answered, ``reached``
        whether it *would* reach the debtor (a conversation) and ``optout`` whether it would
        make the debtor opt out of its channel. An attempt is blocked once
        an earlier attempt today produced a conversation that a cooldown rule counts, an
        opt-out from any channel of an opt-out rule that covers the attempt's channel (one
        medium), or once a connect cap is used up. Earlier attempts
        count whether or not a rule or the collectors then stop them (conservative).

        ``ok``: the :meth:`pre_filter` mask, when the arrays still hold the requests it
        blocked (they are then ignored); updated in place and returned.
        """
        pre = ok
        ok = np.ones(len(account), dtype=bool) if pre is None else pre
        if len(account) == 0 or not self.compiled:
            return ok
        live = ok.copy() if pre is not None else np.ones(len(account), dtype=bool)
        blocked = np.zeros(len(self.compiled), dtype=np.int64)
        has_optout = optout is not None
        optout = optout if has_optout else np.zeros(len(account), dtype=bool)
        _screen_during(ok, live, _i64(account), channel, connected, reached, optout, has_optout, self._kind,
                       self._on, self._cap, self.sums, self._sum_at, blocked)
        self._count_blocked(blocked)
        return ok

    def record(
        self,
        day: int,
        account: np.ndarray,
        channel: np.ndarray,
        connected: np.ndarray,
        reached: np.ndarray,
        made: np.ndarray | None = None,
        live: int | None = None,
    ) -> None:
        """Record the day's executed contacts into the rolling windows.

        ``made``: which of the arrays' entries were executed (default: all). ``live``: only
        slots below it can hold an account still in collections (the rest need no memory).
        Must be called exactly once per day, also on days without contacts: the ring row of
        the day that leaves the window is overwritten here.
        """
        if self.compiled:
            made = np.ones(len(account), dtype=bool) if made is None else made
            live = self.rings.shape[1] if live is None else live
            _record(day, _i64(account), channel, connected, reached, made, live, self._kind, self._on, self.rings,
                    self._ring_at, self.sums, self._sum_at, self.last_days, self._cool_at)


# ---------------------------------------------------------------------- kernels -----------
# ``ok`` is updated in place; ``blocked`` counts the requests each rule blocked. Requests
# are sorted by account, then hour: an account's requests are one contiguous run.


def _i64(a: np.ndarray) -> np.ndarray:
    return a.astype(np.int64, copy=False)


_NEVER = -32000  # "no such day" in the int16 rule memory


@njit
def _window(sums, sum_at, r, i):
    """Executed contacts (or connects) of account ``i`` on rule ``r``'s earlier window days."""
    return np.int64(sums[sum_at[r], i]) if sum_at[r] >= 0 else 0


@njit
def _screen_before(ok, account, channel, hour, opted_out, day, kind, on, bits, start, end, cap, window, sums, sum_at,
                   last_days, cool_at, blocked):
    """Before execution, each request through the rules in order until one blocks it.

    quiet hours: allowed for start <= hour < end; opt-out: not once the debtor opted out of
    any of the rule's channels (``bits``: the rule's channels as a bitmask);
    cooldown: not within ``window`` days of a conversation (its day is day 1); attempt cap:
    earlier days' count + today's earlier requests (that reached this rule) < cap; connect
    cap: earlier days' connects < cap (today's are checked during execution).
    """
    n_rules = len(kind)
    prior = np.empty(n_rules, dtype=np.int64)
    today = np.empty(n_rules, dtype=np.int64)
    m = len(account)
    j = 0
    while j < m:
        a = account[j]
        prior[:] = -1
        today[:] = 0
        while j < m and account[j] == a:
            c = channel[j]
            for r in range(n_rules):
                if not on[r, c]:
                    continue
                k = kind[r]
                if k == _QUIET:
                    bad = not (start[r] <= hour[j] < end[r])
                elif k == _OPT_OUT:
                    bad = (np.int64(opted_out[a]) & bits[r]) != 0
                elif k == _COOLDOWN:
                    bad = day - np.int64(last_days[cool_at[r], a]) < window[r]
                else:
                    if prior[r] < 0:
                        prior[r] = _window(sums, sum_at, r, a)
                    if k == _ATTEMPTS:
                        bad = prior[r] + today[r] >= cap[r]
                        today[r] += 1
                    else:
                        bad = prior[r] >= cap[r]
                if bad:
                    ok[j] = False
                    blocked[r] += 1
                    break
            j += 1


@njit
def _screen_during(ok, live, account, channel, connected, reached, optout, has_optout, kind, on, cap, sums, sum_at,
                   blocked):
    """During execution (hour order): an attempt is stopped after an earlier attempt today on
    the rule's channels would reach the debtor (cooldown: a conversation), would opt them out
    of one of the rule's channels (opt-out: all of its channels are then stopped), or once earlier days' + today's would-be connects (answered
    attempts) reach the cap. The earlier attempts count whatever happened to them (``live``:
    passed the rules before)."""
    n_rules = len(kind)
    prior = np.empty(n_rules, dtype=np.int64)
    connects = np.empty(n_rules, dtype=np.int64)
    opted = np.empty(n_rules, dtype=np.int64)
    m = len(account)
    j = 0
    while j < m:
        a = account[j]
        prior[:] = -1
        connects[:] = 0
        opted[:] = 0
        while j < m and account[j] == a:
            c = channel[j]
            if live[j]:
                for r in range(n_rules):
                    k = kind[r]
                    if not on[r, c]:
                        continue
                    if k == _COOLDOWN or k == _CONNECTS:
                        limit = 1
                        if k == _CONNECTS:
                            if prior[r] < 0:
                                prior[r] = _window(sums, sum_at, r, a)
                            limit = cap[r] - prior[r]
                        if ok[j] and connects[r] >= limit:
                            ok[j] = False
                            blocked[r] += 1
                        if reached[j] if k == _COOLDOWN else connected[j]:
                            connects[r] += 1
                    elif k == _OPT_OUT and has_optout:
                        if ok[j] and opted[r]:
                            ok[j] = False
                            blocked[r] += 1
                        if optout[j]:
                            opted[r] = 1
            j += 1


@njit
def _record(day, account, channel, connected, reached, made, live, kind, on, rings, ring_at, sums, sum_at, last_days,
            cool_at):
    """The day's executed (``made``) contacts into the rings and their running totals
    (today's row takes over from the day leaving the window: subtracted, cleared, up to slot
    ``live``) and the cooldowns' last conversation days."""
    n_rules = len(kind)
    for r in range(n_rules):
        rows = ring_at[r + 1] - ring_at[r]
        if rows > 0:
            row, s = ring_at[r] + day % rows, sum_at[r]
            for a in range(live):
                sums[s, a] -= rings[row, a]
                rings[row, a] = 0
    for j in range(len(account)):
        if not made[j]:
            continue
        c, a = channel[j], account[j]
        for r in range(n_rules):
            if not on[r, c]:
                continue
            k = kind[r]
            if k == _COOLDOWN:
                if reached[j]:
                    last_days[cool_at[r], a] = day
            elif k == _ATTEMPTS or (k == _CONNECTS and connected[j]):
                rows = ring_at[r + 1] - ring_at[r]
                if rows > 0:
                    rings[ring_at[r] + day % rows, a] += 1
                    sums[sum_at[r], a] += 1
