"""Collectors: ordinary Mesa agents, organised in teams that work a queue each day.

Each :class:`Collector` has a skill (it scales what a conversation achieves) and a daily
budget of minutes. A :class:`CollectorTeam` deals the day's queue of attempts on its
channels out to its collectors in priority order (round robin: the highest-priority
attempt to collector 0, the next to collector 1, ...); each collector works its share in
order until its minutes are used (an attempt that reaches the debtor takes the channel's
``handle_minutes``, one that does not takes ``attempt_minutes``). What no collector
reached is counted as *unworked*.

A team's day is two small kernels: :func:`queue_order` sorts the queue by priority (a
stable radix sort on the priorities' bits: linear in the queue), and :func:`_deal` deals it
out round robin and works each collector's share minute by minute, stopping as soon as
every collector is out of minutes — so the dealing costs a fixed amount of work per
collector (at most ``⌊minutes_per_day / shortest attempt⌋ + 1`` attempts each), whatever
the size of the book. Each collector's own figures (attempts, conversations, minutes) are
kept in the team's arrays and read through the agent's properties.
"""

from __future__ import annotations

import mesa
import numpy as np

from collectsim.kernels import njit
from collectsim.scenario import Team

__all__ = ["Collector", "CollectorTeam", "queue_order"]


class Collector(mesa.Agent):
    """One collector. Its daily figures live in its team's arrays (see properties)."""

    def __init__(self, model: mesa.Model, team: CollectorTeam, slot: int) -> None:
        super().__init__(model)
        self.team = team
        self.slot = slot

    @property
    def skill(self) -> float:
        """Multiplier of conversation effect and offer acceptance."""
        return float(self.team.skill[self.slot])

    @property
    def minutes_used_today(self) -> float:
        """Minutes worked on the last simulated day."""
        return float(self.team.minutes_today[self.slot])

    @property
    def attempts_today(self) -> int:
        """Attempts made on the last simulated day."""
        return int(self.team.attempts_today[self.slot])

    @property
    def attempts_total(self) -> int:
        """Attempts made since day 0."""
        return int(self.team.attempts_total[self.slot])

    @property
    def conversations_total(self) -> int:
        """Right-party conversations since day 0."""
        return int(self.team.conversations_total[self.slot])


class CollectorTeam:
    """A team of :class:`Collector` agents working one or more agent channels.

    Parameters
    ----------
    model:
        The Mesa model the collectors belong to.
    settings:
        The team's scenario entry.
    rng:
        Generator for the collectors' skills.
    accounts:
        Portfolio size (teams sized per 100,000 accounts scale with it).
    """

    def __init__(self, model: mesa.Model, settings: Team, rng: np.random.Generator, accounts: int) -> None:
        self.settings = settings
        self.name = settings.name
        self.headcount = h = settings.resolved_headcount(accounts)
        self.skill = np.clip(rng.normal(settings.skill_mean, settings.skill_sd, h), 0.2, 3.0)
        self.minutes_today = np.zeros(h)
        self.attempts_today = np.zeros(h, dtype=np.int64)
        self.attempts_total = np.zeros(h, dtype=np.int64)
        self.conversations_total = np.zeros(h, dtype=np.int64)
        #: minutes worked by the whole team since day 0
        self.minutes_worked = 0.0
        self.members = [Collector(model, self, i) for i in range(h)]

    def utilisation(self, days: int) -> float | None:
        """Share of the team's minutes over ``days`` working days that were worked (None: no minutes)."""
        capacity = self.headcount * self.settings.minutes_per_day * days
        return self.minutes_worked / capacity if capacity > 0 else None

    @property
    def cost_per_day(self) -> float:
        """What the whole team costs for one working day."""
        return self.headcount * self.settings.cost_per_day

    def work(self, priority: np.ndarray, minutes: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Work one day's queue.

        Parameters
        ----------
        priority:
            Priority of each queued attempt (higher first).
        minutes:
            Minutes each attempt takes (depends on whether it reaches the debtor).
        reached:
            Whether each attempt reaches the debtor (for the collectors' figures).

        Returns
        -------
        done, collector:
            Mask of attempts made, and the slot of the collector who made each (−1: none).
        """
        m = len(priority)
        h = self.headcount
        self.minutes_today[:] = 0.0
        self.attempts_today[:] = 0
        done = np.zeros(m, dtype=bool)
        who = np.full(m, -1, dtype=np.int64)
        if m == 0 or h == 0:
            return done, who
        order = queue_order(priority)
        conversations = np.zeros(h, dtype=np.int64)
        _deal(order, minutes, reached, h, float(self.settings.minutes_per_day), done, who, self.minutes_today,
              self.attempts_today, conversations)
        self.attempts_total += self.attempts_today
        self.conversations_total += conversations
        self.minutes_worked += float(self.minutes_today.sum())
        return done, who


def queue_order(priority: np.ndarray) -> np.ndarray:
    """Queue order: priority descending, ties in queue position (``argsort(-p, stable)``).

    A stable LSD radix sort on an order-reversing integer image of the priorities (float32
    priorities: :func:`_radix_order_f32`; others as float64, 8 byte passes). NaN goes last,
    −0.0 ties with +0.0.
    """
    if priority.dtype == np.float32:
        return _radix_order_f32(np.ascontiguousarray(priority))
    p = priority.astype(np.float64) + 0.0
    bits, top, nbytes = p.view(np.uint64), np.uint64(1 << 63), 8
    mask = np.uint64((1 << (8 * nbytes)) - 1)
    # ascending float order ↔ ascending unsigned image; complement it for descending priority
    image = np.where(bits >= top, bits ^ mask, bits | top)
    key = np.where(np.isnan(p), mask, image ^ mask)
    return _radix_argsort(key, nbytes)


@njit
def _radix_order_f32(priority):
    """:func:`queue_order` of float32 priorities in one kernel: each entry becomes one
    64-bit word, the descending-order image of its priority above its queue position, and
    an LSD radix sort on the upper 32 bits (digits of 11, 11 and 10 bits) carries the
    position along; equal priorities keep queue order (the sort is stable)."""
    m = len(priority)
    bits = priority.view(np.uint32)
    a = np.empty(m, dtype=np.uint64)
    for j in range(m):
        x = np.uint64(bits[j])
        if x == np.uint64(0x80000000):  # −0.0 ties with +0.0
            x = np.uint64(0)
        if (x & np.uint64(0x7FFFFFFF)) > np.uint64(0x7F800000):  # NaN: last
            key = np.uint64(0xFFFFFFFF)
        elif x >= np.uint64(0x80000000):  # negative: the larger the bits, the lower the value
            key = x
        else:
            key = (x | np.uint64(0x80000000)) ^ np.uint64(0xFFFFFFFF)
        a[j] = (key << np.uint64(32)) | np.uint64(j)
    b = np.empty(m, dtype=np.uint64)
    count = np.empty(2049, dtype=np.int64)
    for shift, width in ((32, 11), (43, 11), (54, 10)):
        mask = np.uint64((1 << width) - 1)
        sh = np.uint64(shift)
        count[:] = 0
        for j in range(m):
            count[np.int64((a[j] >> sh) & mask) + 1] += 1
        if count[1:].max() == m:  # every key has the same digit here: nothing moves
            continue
        for d in range(2048):
            count[d + 1] += count[d]
        for j in range(m):
            d = np.int64((a[j] >> sh) & mask)
            b[count[d]] = a[j]
            count[d] += 1
        a, b = b, a
    order = np.empty(m, dtype=np.int64)
    for j in range(m):
        order[j] = np.int64(a[j] & np.uint64(0xFFFFFFFF))
    return order


@njit
def _radix_argsort(key, nbytes):
    """Stable ascending argsort of unsigned ``key`` (``nbytes`` significant bytes)."""
    m = len(key)
    order = np.arange(m)
    k = key.copy()
    order2 = np.empty(m, dtype=np.int64)
    k2 = np.empty(m, dtype=np.uint64)
    for b in range(nbytes):
        shift = np.uint64(8 * b)
        count = np.zeros(257, dtype=np.int64)
        for j in range(m):
            count[np.int64((k[j] >> shift) & np.uint64(255)) + 1] += 1
        if count[1:].max() == m:  # every key has the same byte here: nothing moves
            continue
        for d in range(256):
            count[d + 1] += count[d]
        for j in range(m):
            d = np.int64((k[j] >> shift) & np.uint64(255))
            pos = count[d]
            count[d] = pos + 1
            order2[pos] = order[j]
            k2[pos] = k[j]
        order, order2 = order2, order
        k, k2 = k2, k
    return order


@njit
def _deal(order, minutes, reached, h, budget, done, who, used, attempts, conversations):
    """Deal the ordered queue round robin (rank r to collector r mod h); each collector works
    its share in order while it has minutes left: it starts the next attempt when its minutes
    used are below its budget, and the attempt runs to its end (a conversation is not cut
    off). Whether an attempt is made never depends on how it will end (a dialer does not
    know who will answer), so the contact log is not selected on its outcomes."""
    stopped = np.zeros(h, dtype=np.bool_)
    n_stopped = 0
    for r in range(len(order)):
        c = r % h
        if stopped[c]:
            continue
        q = order[r]
        if used[c] < budget - 1e-9:
            used[c] += minutes[q]
            done[q] = True
            who[q] = c
            attempts[c] += 1
            if reached[q]:
                conversations[c] += 1
        else:
            stopped[c] = True
            n_stopped += 1
            if n_stopped == h:  # every collector is out of minutes
                break
