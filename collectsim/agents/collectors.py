"""Collectors: ordinary Mesa agents, organised in teams that work a queue each day.

Each :class:`Collector` has a skill (it scales what a conversation achieves) and a daily
budget of minutes. A :class:`CollectorTeam` deals the day's queue of attempts on its
channels out to its collectors in priority order (round robin: the highest-priority
attempt to collector 0, the next to collector 1, ...); each collector works its share in
order until its minutes are used (an attempt that reaches the debtor takes the channel's
``handle_minutes``, one that does not takes ``attempt_minutes``). What no collector
reached is counted as *unworked*.

The work of a whole team is one vectorised pass (a grouped cumulative sum over the queue),
so a day costs O(queue) whatever the number of collectors, and each collector's own work
(attempts, conversations, minutes) is kept in the team's arrays and read through the
agent's properties.
"""

from __future__ import annotations

import mesa
import numpy as np

from collectsim.sim.scenario import Team

__all__ = ["Collector", "CollectorTeam"]


class Collector(mesa.Agent):
    """One collector. Its daily figures live in its team's arrays (see properties)."""

    def __init__(self, model: mesa.Model, team: "CollectorTeam", slot: int) -> None:
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
    spec:
        The team's scenario entry.
    rng:
        Generator for the collectors' skills.
    accounts:
        Portfolio size (teams sized per 100,000 accounts scale with it).
    """

    def __init__(self, model: mesa.Model, spec: Team, rng: np.random.Generator, accounts: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.headcount = h = spec.resolved_headcount(accounts)
        self.skill = np.clip(rng.normal(spec.skill_mean, spec.skill_sd, h), 0.2, 3.0)
        self.minutes_today = np.zeros(h)
        self.attempts_today = np.zeros(h, dtype=np.int64)
        self.attempts_total = np.zeros(h, dtype=np.int64)
        self.conversations_total = np.zeros(h, dtype=np.int64)
        self.members = [Collector(model, self, i) for i in range(h)]

    @property
    def cost_per_day(self) -> float:
        """What the whole team costs for one working day."""
        return self.headcount * self.spec.cost_per_day

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
        order = np.argsort(-priority, kind="stable")
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m)
        slot = rank % h
        # each collector's attempts in priority order: sort by (slot, rank)
        by_col = np.lexsort((rank, slot))
        mins = minutes[by_col]
        csum = np.cumsum(mins)
        s = slot[by_col]
        starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
        offset = np.repeat(csum[starts] - mins[starts], np.diff(np.r_[starts, m]))
        within = csum - offset
        ok = within <= self.spec.minutes_per_day + 1e-9
        done[by_col] = ok
        who[by_col[ok]] = s[ok]
        self.minutes_today += np.bincount(s[ok], weights=mins[ok], minlength=h)
        self.attempts_today += np.bincount(s[ok], minlength=h)
        self.attempts_total += self.attempts_today
        self.conversations_total += np.bincount(s[ok & reached[by_col]], minlength=h)
        return done, who
