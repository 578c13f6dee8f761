"""The Mesa model: a delinquent portfolio worked day by day under a policy and a rule set.

One day (:meth:`CollectionsModel.step`) is, in order (``docs/model.md`` §Day):

1. ``borrowers.age`` — regimes move, DPD ages, instalments fall due, irritation decays;
2. the policy sees ``borrowers.observe`` and asks for contacts;
3. the rule engine drops what the rules forbid (hours, opt-outs, caps, cooldowns);
4. outcomes are drawn; attempts after a conversation, an opt-out from the same channel or a
   used-up connect cap are dropped;
5. collector teams work the agent-channel queue in priority order until their minutes end;
6. executed contacts act on the borrowers (irritation, complaints, opt-outs, effort),
   right-party conversations carry the policy's offer;
7. promises and plan instalments fall due; the self-exciting repayment process runs;
8. accounts at the charge-off DPD are charged off; roll rates every 30 days;
9. the ``DataCollector`` records the day.

A day costs time in proportion to the accounts still in collections and the contacts
requested — not to the size of the book: the behaviour steps are numba kernels over the
population's active-account index, the day's requests stay sorted by (account, hour) and
are only ever compressed, and the daily counts are kept up to date instead of recounted
(``docs/performance.md``).
"""

from __future__ import annotations

import functools

import mesa
import numpy as np
import pandas as pd

from collectsim.agents.borrowers import BorrowerPopulation
from collectsim.agents.collectors import CollectorTeam
from collectsim.policies.base import Policy, Requests
from collectsim.sim.channels import CALL, CHANNELS, VISIT
from collectsim.sim.metrics import ACTIVE, CHARGED_OFF, STATUS_NAMES, Tally
from collectsim.sim.rng import Streams, njit
from collectsim.sim.rules import RuleEngine, resolve_rules
from collectsim.sim.scenario import BUCKETS, Scenario

__all__ = ["CollectionsModel", "DAILY_COLUMNS"]

_CONVERSATION = np.zeros(len(CHANNELS), dtype=bool)
_CONVERSATION[[CALL, VISIT]] = True


def _today(model: CollectionsModel, key: str) -> float:
    return model.tally.today.get(key, 0.0)


def _today_money(model: CollectionsModel, key: str) -> float:
    return model.tally.today.get(key, 0.0) / 100.0  # cents -> currency units


def _churned(model: CollectionsModel) -> int:
    return int(model.borrowers.churned_count)


def _status_count(model: CollectionsModel, code: int) -> int:
    return int(model.status_counts[code])


def _bucket_count(model: CollectionsModel, k: int) -> int:
    return int(model.bucket_counts[k])


#: Columns of the daily series (``daily.parquet``), besides ``day``. Money in currency
#: units; ``collected``, ``cost``, ``complaints``, ... are the day's figures; ``collected_cum``,
#: ``recovery_rate`` and ``churned`` are cumulative; statuses and buckets are counts at day end.
DAILY_COLUMNS: tuple[str, ...] = (
    "collected",
    "collected_cum",
    "recovery_rate",
    "cost",
    "complaints",
    "optouts",
    "requested",
    "blocked",
    "rpcs",
    "ptps",
    "churned",
    *[f"contacts_{c}" for c in CHANNELS],
    *STATUS_NAMES,
    *BUCKETS,
)


class CollectionsModel(mesa.Model):
    """A delinquent portfolio, a policy, a rule set and collector teams, advanced daily.

    Parameters
    ----------
    scenario:
        The validated :class:`~collectsim.sim.scenario.Scenario`.
    policy:
        Any object following :class:`~collectsim.policies.base.Policy`.
    seed:
        Seed of this replication; every random draw derives from it.
    log_contacts:
        Keep the contact log (one row per executed contact) for the audit and export.
    """

    def __init__(self, scenario: Scenario, policy: Policy, seed: int = 0, log_contacts: bool = True) -> None:
        super().__init__(rng=seed)
        self.spec = scenario  # (Mesa reserves `scenario`)
        self.policy = policy
        self.streams = Streams(seed)
        self.tally = Tally()
        self.tally.new_day()
        self.borrowers = BorrowerPopulation(self, scenario, self.streams, self.tally)
        n = self.borrowers.n
        team_rng = self.streams.generator("collectors")
        self.teams = {t.name: CollectorTeam(self, t, team_rng, n) for t in scenario.teams}
        self.rule_list = resolve_rules(scenario.rules)
        self.rules = RuleEngine(self.rule_list, n)
        chs = [scenario.channels[c] for c in CHANNELS]
        self.channel_params = {
            "cost_cents": np.array([c.cost_per_contact * 100.0 for c in chs]),
            "attempt_minutes": np.array([c.attempt_minutes for c in chs]),
            "handle_minutes": np.array([c.handle_minutes for c in chs]),
            "reach": np.array([c.reach for c in chs]),
            "reach_by_hour": np.array([c.reach_by_hour for c in chs]),
            "effect": np.array([c.effect for c in chs]),
            "irritation": np.array([c.irritation for c in chs]),
            "complaint_weight": np.array([c.complaint_weight for c in chs]),
            "optout_prob": np.array([c.optout_prob for c in chs]),
        }
        self.channel_team = [c.team for c in chs]
        #: channel code -> index of the team that works it (-1: automated)
        names = list(self.teams)
        self._team_of = np.array([names.index(tn) if tn in self.teams else -1 for tn in self.channel_team])
        self._balance0_total = float(self.borrowers.balance0.sum())
        self.log_contacts = log_contacts
        self._log: list[dict[str, np.ndarray]] = []
        n_tiers = len(self.borrowers.tier_names)
        self.tally.roll_num = np.zeros((n_tiers, len(BUCKETS)), dtype=np.int64)
        self.tally.roll_den = np.zeros((n_tiers, len(BUCKETS)), dtype=np.int64)
        self._cycle_bucket = self.borrowers.bucket()
        self._cycle_start = 0
        self.collected_cum = 0.0
        self._refresh_counts()

        reporters: dict = {"day": "day"}
        for key in ("collected", "cost"):
            reporters[key] = functools.partial(_today_money, key=key)
        for key in ("complaints", "optouts", "requested", "blocked", "rpcs", "ptps"):
            reporters[key] = functools.partial(_today, key=key)
        reporters["churned"] = _churned
        reporters["collected_cum"] = "collected_cum_units"
        reporters["recovery_rate"] = "recovery_rate"
        for c in CHANNELS:
            reporters[f"contacts_{c}"] = functools.partial(_today, key=f"contacts_{c}")
        for code, name in enumerate(STATUS_NAMES):
            reporters[name] = functools.partial(_status_count, code=code)
        for k, name in enumerate(BUCKETS):
            reporters[name] = functools.partial(_bucket_count, k=k)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    # ----------------------------------------------------------------- reported metrics ---
    @property
    def day(self) -> int:
        """Index (0-based) of the day being simulated; equals ``time - 1`` inside a step."""
        return int(round(self.time)) - 1

    @property
    def collected_cum_units(self) -> float:
        """Cash collected since day 0, currency units."""
        return self.collected_cum / 100.0

    @property
    def recovery_rate(self) -> float:
        """Cash collected / balance at entry, so far."""
        return self.collected_cum / self._balance0_total

    def _refresh_counts(self) -> None:
        """Status counts (kept by the kernels) and active accounts per bucket."""
        pop = self.borrowers
        self.status_counts = pop.status_counts
        self.bucket_counts = pop.bucket_counts

    # ----------------------------------------------------------------- the day ------------
    def step(self) -> None:
        """Advance the portfolio by one day."""
        day = self.day
        pop = self.borrowers
        self.tally.new_day()
        pop.age(day)
        requests = self.policy.decide(pop.observe(day))
        self._execute(day, requests)
        pop.settle(day)  # keep_promises, pay_plans, repay, charge_off (also closes the active index)
        # dense slots while the book shrinks; account order again when the horizon ends
        last = day + 1 == self.spec.portfolio.horizon_days
        self._move_slots(pop.restore_account_order() if last else pop.repack())
        self._team_costs()
        if (day + 1) % 30 == 0:
            self._roll(day)
        self.collected_cum += self.tally.today["collected"]
        self._refresh_counts()
        self.tally.today["blocked"] = float(sum(self.rules.blocked.values())) - self._blocked_before
        self.datacollector.collect(self)

    def _move_slots(self, perm: np.ndarray | None) -> None:
        """Apply the population's slot permutation to the model's other per-account state."""
        if perm is None:
            return
        self.rules.permute(perm)
        self._cycle_bucket[: len(perm)] = self._cycle_bucket[perm]

    def _team_costs(self) -> None:
        cost = sum(t.cost_per_day for t in self.teams.values()) * 100.0
        self.tally.team_cost_cents += cost
        self.tally.today["cost"] += cost

    def _execute(self, day: int, req: Requests) -> None:
        """Filter, work and apply one day's contact requests.

        The requests are sorted by (account, hour) once (a policy may deliver them sorted:
        then nothing is moved). After that the arrays never move: each stage narrows a mask
        (``ok``: allowed so far, then ``done``: made by the collectors), so each account's
        requests stay one contiguous run in hour order for the kernels.
        """
        pop = self.borrowers
        t = self.tally
        cp = self.channel_params
        self._blocked_before = float(sum(self.rules.blocked.values()))
        req.validate(pop.n)
        all_live, in_order, seq = _intake(req.account, req.hour, pop.is_active)
        if not all_live:
            req = req.take(pop.is_active[req.account])
        t.requested += len(req)
        t.today["requested"] += len(req)
        if len(req) == 0:
            self.rules.record(day, req.account, req.channel, np.zeros(0, dtype=bool), live=pop.live)
            return
        if not in_order:
            req = req.take(np.lexsort((req.hour, req.account)))
        acc, ch, hour = req.account.astype(np.int64, copy=False), req.channel, req.hour
        if not (all_live and in_order):  # (now they are: the sequence again)
            seq = _intake(acc, hour, pop.is_active)[2]
        # the arrays keep every request; `ok` marks those still going ahead
        ok = self.rules.pre_filter(day, acc, ch, hour, pop.opted_out)
        reached, optout = pop.draw_outcomes(day, acc, ch, hour, seq, cp, ok)
        ok = self.rules.during_execution(acc, ch, reached, optout, ok=ok)

        done = ok.copy()
        skill = np.ones(len(acc))
        team_cost = np.zeros(len(acc))  # cents of the team's day cost, by minutes worked
        queue, start, minutes = _team_queues(ch, ok, reached, self._team_of, len(self.teams),
                                             cp["handle_minutes"], cp["attempt_minutes"])
        for k, (name, team) in enumerate(self.teams.items()):
            if not (self._team_of == k).any():
                continue
            sel, mins = queue[start[k] : start[k + 1]], minutes[start[k] : start[k + 1]]
            if len(sel) == 0:
                team.work(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
                continue
            d, who = team.work(req.priority[sel], mins, reached[sel])
            sp = team.spec
            per_min = sp.cost_per_day * 100.0 / sp.minutes_per_day if sp.minutes_per_day > 0 else 0.0
            made = _team_done(sel, d, who, mins, team.skill, per_min, done, skill, team_cost)
            t.unworked[name] = t.unworked.get(name, 0) + len(sel) - made
        # the executed contacts are the requests `done` marks
        counts, hits, n_optouts, conv = _made(acc, done, ch, reached, optout, len(CHANNELS), _CONVERSATION)
        cost = float(counts @ cp["cost_cents"])  # exact per channel, one rounding each
        self.rules.record(day, acc, ch, reached, made=done, live=pop.live)

        complaint = pop.absorb_contacts(day, acc, ch, hour, reached, optout, seq, skill, cp, team_cost,
                                        self._team_of, made=done)
        t.contact_cost_cents += cost
        t.today["cost"] += cost
        n_complaints = int(np.count_nonzero(complaint))
        t.today["complaints"] += n_complaints
        t.today["optouts"] += n_optouts
        t.optouts += n_optouts
        t.contacts += counts
        t.reached += hits
        for i, c in enumerate(CHANNELS):
            t.today[f"contacts_{c}"] += float(counts[i])
        t.today["rpcs"] += float(hits[CALL])

        outcome = reached.astype(np.int8)
        if len(conv):  # each account's first made and reached call or visit of the day
            conv = conv[pop.is_active[acc[conv]]]
            outcome[conv] = pop.converse(
                day, acc[conv], req.offer[conv], req.discount[conv], req.plan_months[conv], skill[conv]
            )
        if self.log_contacts:
            self._log.append(
                {
                    "account": pop.account_id[acc[done]],  # account numbers, not slots
                    "day": np.full(int(np.count_nonzero(done)), day, dtype=np.int32),
                    "hour": hour[done].astype(np.int8),
                    "seq": seq[done].astype(np.int32),
                    "channel": ch[done].astype(np.int8),
                    "reached": reached[done],
                    "outcome": outcome[done],
                    "complaint": complaint[done],
                    "opted_out": optout[done],
                }
            )

    def _roll(self, day: int) -> None:
        """Roll rates over the cycle that ends today, by tier and starting bucket (counts)."""
        pop = self.borrowers
        now = pop.bucket()
        start = self._cycle_bucket
        was_active = (pop.resolved_day < 0) | (pop.resolved_day >= self._cycle_start)
        rolled = ((pop.status == ACTIVE) & (now >= start + 1)) | (pop.status == CHARGED_OFF)
        n_tiers = len(pop.tier_names)
        key = pop.tier.astype(np.int64) * len(BUCKETS) + start
        size = n_tiers * len(BUCKETS)
        self.tally.roll_den += np.bincount(key[was_active], minlength=size).reshape(n_tiers, -1)
        self.tally.roll_num += np.bincount(key[was_active & rolled], minlength=size).reshape(n_tiers, -1)
        self._cycle_bucket = now
        self._cycle_start = day + 1

    # ----------------------------------------------------------------- outputs ------------
    def contact_log(self) -> pd.DataFrame:
        """The executed contacts as a DataFrame (channel and outcome as names)."""
        cols = ["account", "day", "hour", "seq", "channel", "reached", "outcome", "complaint", "opted_out"]
        if not self._log:
            return pd.DataFrame({c: [] for c in cols})
        data = {c: np.concatenate([d[c] for d in self._log]) for c in cols}
        df = pd.DataFrame(data)
        df["channel"] = pd.Categorical.from_codes(df["channel"], categories=list(CHANNELS))
        outcomes = ["no_reach", "reached", "promise", "plan", "settled"]
        df["outcome"] = pd.Categorical.from_codes(df["outcome"], categories=outcomes)
        return df


# ---------------------------------------------------------------------- small kernels -----


@njit
def _intake(account, hour, is_active):
    """Whether every request names an active account, whether the requests are already in
    (account, hour) order, and (valid when both hold) each request's position within its
    account's run (0, 1, ...: the slot of its draws)."""
    all_live, in_order = True, True
    seq = np.zeros(len(account), dtype=np.int64)
    for j in range(len(account)):
        if not is_active[account[j]]:
            all_live = False
        if j > 0:
            if account[j] == account[j - 1]:
                seq[j] = seq[j - 1] + 1
                if hour[j] < hour[j - 1]:
                    in_order = False
            elif account[j] < account[j - 1]:
                in_order = False
    return all_live, in_order, seq


@njit
def _team_queues(channel, ok, reached, team_of, n_teams, handle_minutes, attempt_minutes):
    """Every team's queue in one pass: the allowed attempts on its channels (in request
    order), grouped by team — team k's are ``queue[start[k]:start[k + 1]]`` — and the minutes
    each takes (``handle_minutes`` if it reaches the debtor, else ``attempt_minutes``).

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
        minutes[q] = handle_minutes[c] if reached[j] else attempt_minutes[c]
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
def _made(account, made, channel, reached, optout, n_channels, conversation):
    """The made contacts by channel (and those reached), their opt-outs, and the index of
    each account's first made and reached call or visit of the day (its conversation)."""
    counts = np.zeros(n_channels, dtype=np.int64)
    hits = np.zeros(n_channels, dtype=np.int64)
    n_optouts = 0
    first = np.empty(len(account), dtype=np.int64)
    n = 0
    last = -1
    for j in range(len(made)):
        c = channel[j]
        counts[c] += made[j]  # (branch-free)
        hits[c] += made[j] & reached[j]
        n_optouts += made[j] & optout[j]
        if made[j] and reached[j] and conversation[c] and account[j] != last:
            first[n] = j
            n += 1
            last = account[j]
    return counts, hits, n_optouts, first[:n]
