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
"""

from __future__ import annotations

import functools

import mesa
import numpy as np
import pandas as pd

from collectsim.agents.borrowers import BorrowerPopulation
from collectsim.agents.collectors import CollectorTeam
from collectsim.policies.base import Policy, Requests
from collectsim.sim.channels import CALL, CHANNEL_INDEX, CHANNELS, VISIT
from collectsim.sim.metrics import ACTIVE, CHARGED_OFF, STATUS_NAMES, Tally
from collectsim.sim.rng import Streams
from collectsim.sim.rules import RuleEngine, resolve_rules
from collectsim.sim.scenario import BUCKETS, Scenario

__all__ = ["CollectionsModel", "DAILY_COLUMNS"]

_CONVERSATION = np.zeros(len(CHANNELS), dtype=bool)
_CONVERSATION[[CALL, VISIT]] = True


def _today(model: "CollectionsModel", key: str) -> float:
    return model.tally.today.get(key, 0.0)


def _today_money(model: "CollectionsModel", key: str) -> float:
    return model.tally.today.get(key, 0.0) / 100.0  # cents -> currency units


def _churned(model: "CollectionsModel") -> int:
    return int(model.borrowers.churned.sum())


def _status_count(model: "CollectionsModel", code: int) -> int:
    return int(model.status_counts[code])


def _bucket_count(model: "CollectionsModel", k: int) -> int:
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
        return self.collected_cum / float(self.borrowers.balance0.sum())

    def _refresh_counts(self) -> None:
        pop = self.borrowers
        self.status_counts = np.bincount(pop.status, minlength=len(STATUS_NAMES))
        act = pop.status == ACTIVE
        self.bucket_counts = np.bincount(pop.bucket()[act], minlength=len(BUCKETS))

    # ----------------------------------------------------------------- the day ------------
    def step(self) -> None:
        """Advance the portfolio by one day."""
        day = self.day
        pop = self.borrowers
        self.tally.new_day()
        pop.age(day)
        requests = self.policy.decide(pop.observe(day))
        self._execute(day, requests)
        pop.keep_promises(day)
        pop.pay_plans(day)
        pop.repay(day)
        pop.charge_off(day)
        self._team_costs()
        if (day + 1) % 30 == 0:
            self._roll(day)
        self.collected_cum += self.tally.today["collected"]
        self._refresh_counts()
        self.tally.today["blocked"] = float(sum(self.rules.blocked.values())) - self._blocked_before
        self.datacollector.collect(self)

    def _team_costs(self) -> None:
        cost = sum(t.cost_per_day for t in self.teams.values()) * 100.0
        self.tally.team_cost_cents += cost
        self.tally.today["cost"] += cost

    def _execute(self, day: int, req: Requests) -> None:
        """Filter, work and apply one day's contact requests."""
        pop = self.borrowers
        t = self.tally
        cp = self.channel_params
        self._blocked_before = float(sum(self.rules.blocked.values()))
        req.validate(pop.n)
        req = req.take(pop.status[req.account] == ACTIVE)
        t.requested += len(req)
        t.today["requested"] += len(req)
        if len(req) == 0:
            self.rules.record(day, req.account, req.channel, np.zeros(0, dtype=bool))
            return
        req = req.take(np.lexsort((req.hour, req.account)))
        acc = req.account
        starts = np.r_[0, np.flatnonzero(np.diff(acc)) + 1]
        seq = np.arange(len(acc)) - np.repeat(starts, np.diff(np.r_[starts, len(acc)]))
        allowed = self.rules.pre_filter(day, acc, req.channel, req.hour, pop.opted_out)
        req, seq = req.take(allowed), seq[allowed]
        acc, ch, hour = req.account, req.channel.astype(np.int64), req.hour.astype(np.int64)
        p = pop.reach_probability(acc, ch, hour, cp["reach"], cp["reach_by_hour"])
        reached = self.streams.uniform("reach", day, acc * 1024 + seq) < p
        optout = pop.opt_out_draws(day, acc, ch, reached, seq, cp["optout_prob"])
        ok = self.rules.during_execution(acc, ch, reached, optout)
        req, seq, reached, ch, hour, optout = req.take(ok), seq[ok], reached[ok], ch[ok], hour[ok], optout[ok]
        acc = req.account

        done = np.ones(len(acc), dtype=bool)
        skill = np.ones(len(acc))
        for name, team in self.teams.items():
            codes = [i for i, tn in enumerate(self.channel_team) if tn == name]
            if not codes:
                continue
            sel = np.flatnonzero(np.isin(ch, codes))
            if len(sel) == 0:
                team.work(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
                continue
            minutes = np.where(reached[sel], cp["handle_minutes"][ch[sel]], cp["attempt_minutes"][ch[sel]])
            d, who = team.work(req.priority[sel].astype(float), minutes, reached[sel])
            done[sel] = d
            skill[sel[d]] = team.skill[who[d]]
            lost = int((~d).sum())
            t.unworked[name] = t.unworked.get(name, 0) + lost
            # attribute the team's day cost to accounts by minutes worked
            if team.spec.minutes_per_day > 0:
                per_min = team.spec.cost_per_day * 100.0 / team.spec.minutes_per_day
                np.add.at(pop.cost_cents, acc[sel[d]], minutes[d] * per_min)
        req, seq, reached, ch, hour, skill = req.take(done), seq[done], reached[done], ch[done], hour[done], skill[done]
        optout = optout[done]
        acc = req.account
        self.rules.record(day, acc, ch, reached)

        effort = cp["effect"][ch] * pop.willingness[acc] * skill
        complaint = pop.absorb_contacts(day, acc, ch, hour, reached, seq, effort, cp, optout)
        cost = float(cp["cost_cents"][ch].sum())
        t.contact_cost_cents += cost
        t.today["cost"] += cost
        t.today["complaints"] += float(complaint.sum())
        t.today["optouts"] += float(optout.sum())
        t.optouts += int(optout.sum())
        np.add.at(t.contacts, ch, 1)
        np.add.at(t.reached, ch[reached], 1)
        counts = np.bincount(ch, minlength=len(CHANNELS))
        for i, c in enumerate(CHANNELS):
            t.today[f"contacts_{c}"] += float(counts[i])
        t.today["rpcs"] += float((reached & (ch == CALL)).sum())

        outcome = reached.astype(np.int8)
        conv = np.flatnonzero(reached & _CONVERSATION[ch])
        if len(conv):
            _, first = np.unique(acc[conv], return_index=True)  # one conversation per account-day
            conv = conv[first]
            conv = conv[pop.status[acc[conv]] == ACTIVE]
            outcome[conv] = pop.converse(
                day, acc[conv], req.offer[conv], req.discount[conv], req.plan_months[conv], skill[conv]
            )
        if self.log_contacts:
            self._log.append(
                {
                    "account": acc.astype(np.int64),
                    "day": np.full(len(acc), day, dtype=np.int32),
                    "hour": hour.astype(np.int8),
                    "seq": seq.astype(np.int32),
                    "channel": ch.astype(np.int8),
                    "reached": reached,
                    "outcome": outcome,
                    "complaint": complaint,
                    "opted_out": optout,
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
