"""The contact pipeline: phases 3–6 of a day, from the policy's requests to their effects.

:class:`ContactPipeline` takes one day's :class:`~collectsim.policies.base.Requests` through

3. :meth:`~ContactPipeline.screen` — validation, the requests of accounts still in
   collections sorted by (account, hour), and the rule engine's screen *before* execution
   (hours, opt-outs, attempt caps, cooldowns of earlier days);
4. :meth:`~ContactPipeline.draw_outcomes` — who would answer (reach) and opt out, then the
   rule engine's screen *during* execution in hour order (a conversation or an opt-out stops
   later attempts the same day; connect caps);
5. :meth:`~ContactPipeline.work` — each collector team works its queue in priority order
   until its minutes end;
6. :meth:`~ContactPipeline.act` — the executed contacts enter the rule memory, act on the
   borrowers (irritation, complaints, opt-outs, effort), right-party conversations carry
   the policy's offer, and the day's contacts are counted and logged.

The state of the day's contacts travels between the phases in one :class:`DayContacts`.
After :meth:`~ContactPipeline.screen` the arrays never move: each phase narrows a mask
(``ok``: allowed so far; ``done``: made by the collectors), so each account's requests stay
one contiguous run in hour order for the kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from collectsim.agents.borrowers import BorrowerPopulation
from collectsim.agents.collectors import CollectorTeam
from collectsim.agents.counters import Tally
from collectsim.compliance import RuleEngine
from collectsim.errors import InputError
from collectsim.kernels import njit
from collectsim.model.contact_log import ContactLog
from collectsim.policies.base import Requests
from collectsim.scenario import ChannelTable
from collectsim.streams import REQUESTS_PER_ACCOUNT_DAY
from collectsim.vocabulary.channels import CALL, CHANNELS, CONVERSATION_CHANNELS

__all__ = ["ContactPipeline", "DayContacts"]

_CONVERSATION = np.zeros(len(CHANNELS), dtype=bool)
_CONVERSATION[list(CONVERSATION_CHANNELS)] = True


@dataclass
class DayContacts:
    """One day's requested contacts on their way through the pipeline (parallel arrays).

    Attributes
    ----------
    requests:
        The requests of active accounts, sorted by (account, hour).
    account, channel, hour:
        Their slot (int64), channel code and hour.
    seq:
        Each request's position among its account's requests of the day (its draws' counter).
    ok:
        Allowed by the rules so far.
    connected, reached, optout:
        Whether the contact would be connected (answered, by anyone) / reach the debtor (a
        right-party contact) / make the debtor opt out of its channel.
    done:
        Made by the collectors (automated channels: allowed); the executed contacts.
    skill, team_cost:
        The skill of the collector who made each contact, and its share of the team's cost (cents).
    """

    requests: Requests
    account: np.ndarray
    channel: np.ndarray
    hour: np.ndarray
    seq: np.ndarray
    ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    connected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    reached: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    optout: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    done: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    skill: np.ndarray = field(default_factory=lambda: np.zeros(0))
    team_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.account)


class ContactPipeline:
    """Phases 3–6 of the day (module docstring) for one model.

    Parameters
    ----------
    borrowers:
        The population the contacts act on.
    teams:
        The collector teams by name, in the scenario's order.
    rule_engine:
        The contact rules' engine.
    channels:
        The per-channel parameters.
    tally:
        The model's counters.
    log:
        The contact log to append to, or None.
    """

    def __init__(
        self,
        borrowers: BorrowerPopulation,
        teams: dict[str, CollectorTeam],
        rule_engine: RuleEngine,
        channels: ChannelTable,
        tally: Tally,
        log: ContactLog | None,
    ) -> None:
        self.borrowers = borrowers
        self.teams = teams
        self.rule_engine = rule_engine
        self.channels = channels
        self.tally = tally
        self.log = log
        #: keep the day's made contacts for a learning policy (:attr:`made_today`)
        self.report = False
        #: the day's made contacts as :class:`~collectsim.policies.base.Outcomes` fields (when :attr:`report`)
        self.made_today: dict[str, np.ndarray] = {}
        #: behavioural re-scoring's counter of contacts made and answered per account (or None)
        self.rescorer = None

    # ---------------------------------------------------------------- 3. screen --------
    def screen(self, day: int, requests: Requests, policy: str = "policy") -> DayContacts:
        """Validate the requests (errors name ``policy``), keep those of active accounts
        sorted by (account, hour), and screen them by the rules that can be checked before
        execution."""
        pop = self.borrowers
        self.rule_engine.new_day()
        requests.validate(pop.n, policy)
        all_live, in_order, seq, most = _intake(requests.account, requests.hour, pop.is_active)
        if not all_live:
            requests = requests.take(pop.is_active[requests.account])
        self.tally.requested += len(requests)
        self.tally.today["requested"] += len(requests)
        if len(requests) and not in_order:
            requests = requests.take(np.lexsort((requests.hour, requests.account)))
        account = requests.account.astype(np.int64, copy=False)
        if len(requests) and not (all_live and in_order):  # (now they are: the sequence again)
            seq, most = _intake(account, requests.hour, pop.is_active)[2:]
        elif not len(requests):
            seq, most = np.zeros(0, dtype=np.int64), 0
        if most >= REQUESTS_PER_ACCOUNT_DAY:  # its draws would collide with the next account's
            j = int(np.argmax(seq))
            raise InputError(
                f"policy {policy!r}: day {day}: {most + 1:,} requests for account {int(pop.account_id[account[j]])}; "
                f"at most {REQUESTS_PER_ACCOUNT_DAY:,} requests per account and day (REQUESTS_PER_ACCOUNT_DAY)"
            )
        c = DayContacts(requests, account, requests.channel, requests.hour, seq)
        c.ok = self.rule_engine.pre_filter(day, c.account, c.channel, c.hour, pop.opted_out)
        return c

    # ---------------------------------------------------------------- 4. outcomes ------
    def draw_outcomes(self, day: int, c: DayContacts) -> None:
        """Draw who would answer, whether it is the debtor, and opt-outs; screen by the rules
        checked in hour order."""
        c.connected, c.reached, c.optout = self.borrowers.draw_outcomes(day, c.account, c.channel, c.hour, c.seq,
                                                                        self.channels, c.ok)
        c.ok = self.rule_engine.during_execution(c.account, c.channel, c.connected, c.reached, c.optout, ok=c.ok)

    # ---------------------------------------------------------------- 5. collectors ----
    def work(self, c: DayContacts) -> None:
        """Each team works the allowed attempts on its channels in priority order until its
        collectors' minutes end; what it could not reach is counted as unworked."""
        ch, t = self.channels, self.tally
        c.done = c.ok.copy()
        c.skill = np.ones(len(c))
        c.team_cost = np.zeros(len(c))  # cents of the team's day cost, by minutes worked
        queue, start, minutes = _team_queues(c.channel, c.ok, c.connected, c.reached, ch.team_of, len(self.teams),
                                             ch.handle_minutes, ch.connect_minutes, ch.attempt_minutes)
        for k, (name, team) in enumerate(self.teams.items()):
            if not (ch.team_of == k).any():
                continue
            sel, mins = queue[start[k] : start[k + 1]], minutes[start[k] : start[k + 1]]
            if len(sel) == 0:
                team.work(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
                continue
            made_q, who = team.work(c.requests.priority[sel], mins, c.reached[sel])
            settings = team.settings
            per_minute = settings.cost_per_day * 100.0 / settings.minutes_per_day if settings.minutes_per_day > 0 else 0.0
            made = _team_done(sel, made_q, who, mins, team.skill, per_minute, c.done, c.skill, c.team_cost)
            t.unworked[name] = t.unworked.get(name, 0) + len(sel) - made

    # ---------------------------------------------------------------- 6. effects -------
    def act(self, day: int, c: DayContacts) -> None:
        """The executed contacts: into the rule memory, onto the borrowers (complaints,
        irritation, opt-outs, effort), counted; conversations carry their offer; logged."""
        pop, t, ch = self.borrowers, self.tally, self.channels
        counts, connects, hits, n_optouts, conv = _made(c.account, c.done, c.channel, c.connected, c.reached,
                                                        c.optout, len(CHANNELS), _CONVERSATION)
        cost = float(counts @ ch.cost_cents)  # exact per channel, one rounding each
        self.rule_engine.record(day, c.account, c.channel, c.connected, c.reached, made=c.done, live=pop.live)
        self.made_today = {}
        if len(c) == 0:
            return
        complaint = pop.absorb_contacts(day, c.account, c.channel, c.hour, c.connected, c.reached, c.optout, c.seq,
                                        c.skill, ch, c.team_cost, made=c.done)
        if self.rescorer is not None:
            self.rescorer.count_contacts(pop.account_id[c.account[c.done]], c.connected[c.done])
        t.contact_cost_cents += cost
        t.today["cost"] += cost
        t.today["complaints"] += int(np.count_nonzero(complaint))
        t.today["optouts"] += n_optouts
        t.optouts += n_optouts
        t.contacts += counts
        t.connected += connects
        t.reached += hits
        for i, name in enumerate(CHANNELS):
            t.today[f"contacts_{name}"] += float(counts[i])
        t.today["rpcs"] += float(hits[CALL])
        t.today["connects"] += float(connects[CALL])

        outcome = c.connected.astype(np.int8) + c.reached  # no_answer 0, connect 1, rpc 2 (vocabulary OUTCOMES)
        if len(conv):  # each account's first made and reached call or visit of the day
            conv = conv[pop.is_active[c.account[conv]]]
            r = c.requests
            outcome[conv] = pop.converse(day, c.account[conv], r.offer[conv], r.discount[conv], r.plan_months[conv],
                                         c.skill[conv])
        if self.report:
            done = c.done
            self.made_today = {
                "contact_account": pop.account_id[c.account[done]],
                "contact_channel": c.channel[done].astype(np.int8),
                "contact_hour": c.hour[done].astype(np.int8),
                "contact_connected": c.connected[done].copy(),
                "contact_reached": c.reached[done].copy(),
                "contact_outcome": outcome[done].astype(np.int8),
                "contact_complaint": complaint[done].copy(),
                "contact_opted_out": c.optout[done].copy(),
                "contact_cost": ch.cost_cents[c.channel[done]].astype(np.float64) + c.team_cost[done],
            }
        if self.log is not None:
            done = c.done
            self.log.append(
                account=pop.account_id[c.account[done]],  # account numbers, not slots
                day=day,
                hour=c.hour[done],
                seq=c.seq[done],
                channel=c.channel[done],
                connected=c.connected[done],
                reached=c.reached[done],
                outcome=outcome[done],
                complaint=complaint[done],
                opted_out=c.optout[done],
            )


# ---------------------------------------------------------------------- kernels -----------


@njit
def _intake(account, hour, is_active):
    """Whether every request names an active account, whether the requests are already in
    (account, hour) order, and (valid when both hold) each request's position within its
    account's run (0, 1, ...: the counter of its draws) and the largest position (the
    caller refuses ``REQUESTS_PER_ACCOUNT_DAY`` or more: the draws' counters would collide)."""
    all_live, in_order = True, True
    seq = np.zeros(len(account), dtype=np.int64)
    most = 0
    for j in range(len(account)):
        if not is_active[account[j]]:
            all_live = False
        if j > 0:
            if account[j] == account[j - 1]:
                seq[j] = seq[j - 1] + 1
                most = max(most, seq[j])
                if hour[j] < hour[j - 1]:
                    in_order = False
            elif account[j] < account[j - 1]:
                in_order = False
    return all_live, in_order, seq, most


@njit
def _team_queues(channel, ok, connected, reached, team_of, n_teams, handle_minutes, connect_minutes, attempt_minutes):
    """Every team's queue in one pass: the allowed attempts on its channels (in request
    order), grouped by team — team k's are ``queue[start[k]:start[k + 1]]`` — and the minutes
    each takes (``handle_minutes`` for a right-party contact, ``connect_minutes`` for a
    connect with someone else, ``attempt_minutes`` when nobody answers).

    Branch-free: each request goes to a bucket (0: not allowed or no team; k + 1: team k)
    by a counting sort; bucket 0 is cut off at the end."""
    m = len(channel)
    fill = np.zeros(n_teams + 2, dtype=np.int64)
    bucket = np.empty(m, dtype=np.int64)
    for j in range(m):
        b = (team_of[channel[j]] + 1) * ok[j]
        bucket[j] = b
        fill[b + 1] += 1
    for k in range(n_teams + 1):
        fill[k + 1] += fill[k]
    drop = fill[1]  # bucket 0 takes queue[:drop]
    start = fill[1:] - drop
    queue = np.empty(m, dtype=np.int64)
    minutes = np.empty(m, dtype=np.float64)
    for j in range(m):
        b = bucket[j]
        q = fill[b]
        fill[b] = q + 1
        c = channel[j]
        queue[q] = j
        minutes[q] = handle_minutes[c] if reached[j] else connect_minutes[c] if connected[j] else attempt_minutes[c]
    return queue[drop:], start, minutes[drop:]


@njit
def _team_done(sel, done_q, who, minutes, team_skill, per_min, done, skill, team_cost):
    """Mark the team's queue as made or not; a made attempt takes its collector's skill and
    ``minutes · per_min`` of the team's cost. Returns the number made."""
    made = 0
    for k in range(len(sel)):
        j = sel[k]
        done[j] = done_q[k]
        if done_q[k]:
            skill[j] = team_skill[who[k]]
            team_cost[j] = minutes[k] * per_min
            made += 1
    return made


@njit
def _made(account, made, channel, connected, reached, optout, n_channels, conversation):
    """The made contacts by channel (and those connected, and those reaching the debtor), their
    opt-outs, and the index of each account's first made right-party call or visit of the day
    (its conversation)."""
    counts = np.zeros(n_channels, dtype=np.int64)
    connects = np.zeros(n_channels, dtype=np.int64)
    hits = np.zeros(n_channels, dtype=np.int64)
    n_optouts = 0
    first = np.empty(len(account), dtype=np.int64)
    n = 0
    last = -1
    for j in range(len(made)):
        c = channel[j]
        counts[c] += made[j]  # (branch-free)
        connects[c] += made[j] & connected[j]
        hits[c] += made[j] & reached[j]
        n_optouts += made[j] & optout[j]
        if made[j] and reached[j] and conversation[c] and account[j] != last:
            first[n] = j
            n += 1
            last = account[j]
    return counts, connects, hits, n_optouts, first[:n]
