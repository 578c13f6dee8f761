"""The Mesa model: a delinquent portfolio worked day by day under a policy and a rule set.

One day (:meth:`CollectionsModel.step`) is nine phases, in order (``docs/model.md`` §Day):

1. **age** — regimes move, DPD ages, instalments fall due, irritation decays
   (:meth:`~collectsim.agents.borrowers.BorrowerPopulation.age`);
2. **decide** — the policy sees the observable state and asks for contacts;
3. **screen** — the rule engine drops what the rules forbid before execution (hours,
   opt-outs, attempt caps, cooldowns of earlier days);
4. **outcomes** — who would answer is drawn; the rules checked in hour order drop attempts
   after a conversation, an opt-out from the same medium (opt-out rule) or a used-up connect cap;
5. **work** — collector teams work the agent-channel queue in priority order until their
   minutes end;
6. **act** — executed contacts act on the borrowers (irritation, complaints, opt-outs,
   effort); right-party conversations carry the policy's offer; a policy's direct effort
   units (:class:`~collectsim.policies.base.Effort`) raise the intensity at their cost;
7. **payments** — promises and plan instalments fall due; the self-exciting repayment
   process runs;
8. **close** — accounts with a bankruptcy notice and accounts at the charge-off DPD
   are charged off; the day's books close
   (dense slots, team costs, roll rates every 30 days, counters);
9. **record** — the ``DataCollector`` records the day.

Phases 3–6 are the contact pipeline (:mod:`collectsim.model.contacts`). A day costs time
in proportion to the accounts still in collections and the contacts requested — not to the
size of the book (``docs/performance.md``).
"""

from __future__ import annotations

import dataclasses

import mesa
import numpy as np

from collectsim.agents.borrowers import BorrowerPopulation, SlotMove
from collectsim.agents.collectors import CollectorTeam
from collectsim.agents.counters import Tally
from collectsim.compliance import RuleEngine
from collectsim.errors import InputError
from collectsim.model.contact_log import ContactLog
from collectsim.model.contacts import ContactPipeline
from collectsim.model.daily import reporters, rescore_columns
from collectsim.model.rescoring import Rescorer
from collectsim.policies.base import Effort, Outcomes, Policy
from collectsim.scenario import ChannelTable, Scenario, resolve_rules
from collectsim.streams import Streams
from collectsim.vocabulary.accounts import ACTIVE, BUCKETS, CHARGED_OFF, CURED

__all__ = ["CollectionsModel"]


class CollectionsModel(mesa.Model):
    """A delinquent portfolio, a policy, a rule set and collector teams, advanced daily.

    Parameters
    ----------
    scenario:
        The validated :class:`~collectsim.scenario.Scenario`.
    policy:
        A :class:`~collectsim.policies.base.Policy`, prepared for the scenario.
    seed:
        Seed of this replication; every random draw derives from it.
    log_contacts:
        Keep the contact log (one row per executed contact) for export (:meth:`contact_log`).
    on_contacts:
        Optional callable given each day's executed contacts as they are logged (keyword
        columns, see :class:`~collectsim.model.contact_log.ContactLog`), whether or not the
        log is kept: the streaming audit of :func:`collectsim.simulate` reads the run this way.
    observer:
        Optional callable given every day's :class:`~collectsim.policies.base.Outcomes` — what
        the department observed, as a learning policy sees it — at the end of the day (a
        collections history is written this way, :mod:`collectsim.experiments.synth`).
    """

    def __init__(self, scenario: Scenario, policy: Policy, seed: int = 0, log_contacts: bool = True,
                 on_contacts=None, observer=None) -> None:
        super().__init__(rng=seed)
        self.portfolio = scenario.portfolio
        self.valuation = scenario.valuation
        self.policy = policy
        self.streams = Streams(seed)
        self.tally = Tally()
        self.tally.new_day()
        self.borrowers = BorrowerPopulation(self, scenario, self.streams, self.tally)
        n = self.borrowers.n
        team_rng = self.streams.generator("collectors")
        # teams are sized by the opening stock (an open book's steady-state stock, if it is one)
        self.teams = {t.name: CollectorTeam(self, t, team_rng, scenario.portfolio.accounts) for t in scenario.teams}
        #: the scenario's contact rules (preset, then extra rules)
        self.contact_rules = resolve_rules(scenario.rules)
        self.rule_engine = RuleEngine(self.contact_rules, n)
        self.channels = ChannelTable.build(scenario.channels, list(self.teams))
        self._balance0_total = float(self.borrowers.balance0.sum())
        self.log = ContactLog(keep=log_contacts, listener=on_contacts) if (log_contacts or on_contacts) else None
        self.contacts = ContactPipeline(self.borrowers, self.teams, self.rule_engine, self.channels, self.tally,
                                        self.log)
        n_tiers = len(self.borrowers.tier_names)
        self.tally.roll_num = np.zeros((n_tiers, len(BUCKETS)), dtype=np.int64)
        self.tally.roll_den = np.zeros((n_tiers, len(BUCKETS)), dtype=np.int64)
        self._cycle_bucket = self.borrowers.bucket()
        self._cycle_start = 0
        self.collected_cum = 0.0
        #: after the horizon: the run-off (see :meth:`run_off`) — no recording, no fixed team cost
        self.in_runoff = False
        #: behavioural re-scoring (``[scoring] rescore_every_days`` > 0), else None
        self.rescorer: Rescorer | None = None
        self.rescore_columns: dict[str, tuple[int, int] | str] = {}
        if scenario.scoring.rescore_every_days > 0:
            # every slot holds the account of its number at the start
            self.rescorer = Rescorer(scenario.scoring, self.borrowers.score)
            self.contacts.rescorer = self.rescorer
            self.rescore_columns = rescore_columns(self.borrowers.tier_names)
        self.datacollector = mesa.DataCollector(model_reporters=reporters(self.rescore_columns))
        #: called with each day's outcomes (see ``observer`` above), or None
        self.observer = observer
        per_unit = scenario.costs.effort_cost_per_unit
        #: the cost of one unit of direct effort, cents (None: the scenario offers none)
        self._effort_cents = None if per_unit is None else per_unit * 100.0
        self._check_effort(policy)
        if policy.learns or observer is not None:
            self.contacts.report = True
        if policy.learns:
            policy.start(self.streams)

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

    # ----------------------------------------------------------------- the day ------------
    def step(self) -> None:
        """Advance the portfolio by one day: the nine phases of the module docstring."""
        day = self.day
        self.tally.new_day()
        self._enter(day)                                               # (open book: today's entries)
        self.borrowers.age(day)                                        # 1 age
        obs = self.borrowers.observe(day)
        requests = self.policy.decide(obs)                             # 2 decide
        effort = self._effort(obs) if self.policy.applies_effort else None
        learns = self.policy.learns or self.observer is not None  # someone watches the day's outcomes
        paid_before = self._cash_of_active() if learns else None
        contacts = self.contacts.screen(day, requests, self.policy.name)  # 3 screen
        self.contacts.draw_outcomes(day, contacts)                     # 4 outcomes
        self.contacts.work(contacts)                                   # 5 work
        self.contacts.act(day, contacts)                               # 6 act
        if effort is not None:                                         # (direct effort, docs/model.md)
            self.borrowers.apply_effort(day, effort.account, effort.units, self._effort_cents)
        promises = self._promises_due(day) if learns else None
        self.borrowers.receive_payments(day)                           # 7 payments
        outcomes = self._outcomes(day, paid_before, promises) if learns else None
        self.borrowers.bankrupt(day)                                   # 8 close
        self.borrowers.charge_off(day)
        if outcomes is not None:
            outcomes = self._resolutions(outcomes, paid_before[0])
        self.close_day(day)
        if not self.in_runoff:
            self.datacollector.collect(self)                           # 9 record
        if outcomes is not None:
            if self.policy.learns:
                self.policy.observe(outcomes)                          # (a learning policy's evening)
            if self.observer is not None:
                self.observer(outcomes)

    def _effort(self, obs) -> Effort:
        """Today's direct effort of the policy, validated (its errors name the policy)."""
        effort = self.policy.effort(obs)
        if not isinstance(effort, Effort):
            raise InputError(f"policy {self.policy.name!r}: effort() returned {type(effort).__name__}; "
                             "must return an Effort")
        effort.validate(self.borrowers.n, self.policy.name)
        return effort

    def _check_effort(self, policy: Policy) -> None:
        """Refuse a policy that applies direct effort when the scenario does not price it."""
        if policy.applies_effort and self._effort_cents is None:
            raise InputError(
                f"policy {policy.name!r} applies direct effort; costs.effort_cost_per_unit is not set "
                "(set it in the experiment's [costs] table: the cost of one unit of effort, >= 0)"
            )

    def _cash_of_active(self) -> tuple[np.ndarray, np.ndarray]:
        """The active slots and their cash so far (only they can pay today; the book shrinks, so
        this is the day's working set, not the whole population)."""
        slots = self.borrowers.active_idx.copy()
        return slots, self.borrowers.collected[slots]

    def _promises_due(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Slots with a promise due today and their broken-promise counts, before the payments."""
        pop = self.borrowers
        due = np.flatnonzero(pop.promise_due_day == day)
        return due, pop.broken_promises[due].copy()

    def _outcomes(self, day: int, paid_before: tuple[np.ndarray, np.ndarray],
                  promises: tuple[np.ndarray, np.ndarray]) -> Outcomes:
        """What the department observed today (after the payments, before slots move), by account number."""
        pop = self.borrowers
        slots, before = paid_before
        paid = pop.collected[slots] - before
        hit = paid > 0
        payers, paid = slots[hit], paid[hit]
        due, broken_before = promises
        broken = pop.broken_promises[due] > broken_before
        return Outcomes(
            day=day,
            **self.contacts.made_today,
            payment_account=pop.account_id[payers].copy(),
            payment_amount=paid,
            promise_kept=pop.account_id[due[~broken]].copy(),
            promise_broken=pop.account_id[due[broken]].copy(),
        )

    def _resolutions(self, outcomes: Outcomes, slots: np.ndarray) -> Outcomes:
        """Add the accounts that left collections today (after the charge-offs, before slots
        move) and the books' value of each resolution to the day's outcomes."""
        pop = self.borrowers
        st = pop.status[slots]
        gone = slots[st != ACTIVE]
        st = st[st != ACTIVE]
        v = self.valuation
        value = np.where(st == CURED, v.performing_value_rate * pop.balance[gone],
                         np.where(st == CHARGED_OFF, v.debt_sale_rate * pop.charged_off[gone], 0.0))
        return dataclasses.replace(outcomes, resolved_account=pop.account_id[gone].copy(),
                                   resolved_status=st.astype(np.int8), resolved_value=value.astype(np.float64))

    def _enter(self, day: int) -> None:
        """Newly delinquent accounts enter collections (an open book)."""
        before = int(self.borrowers.status_counts[ACTIVE])
        self._move_slots(self.borrowers.enter(day))
        self.tally.today["inflow"] = float(self.borrowers.status_counts[ACTIVE] - before)
        self._active_at_start = int(self.borrowers.status_counts[ACTIVE])

    def close_day(self, day: int) -> None:
        """Close the day's books: dense slots while the book shrinks (account order again
        when the horizon ends), the teams' day cost, roll rates every 30 days, counters."""
        pop = self.borrowers
        last = day + 1 == self.portfolio.horizon_days and not self.in_runoff
        self._move_slots(pop.restore_account_order() if last else pop.repack())
        if self.in_runoff:  # the teams' fixed day cost ends with the horizon
            if self.rescorer is not None:
                self._rescore(day)
            return
        cost = sum(t.cost_per_day for t in self.teams.values()) * 100.0
        self.tally.team_cost_cents += cost
        self.tally.today["cost"] += cost
        self.tally.discounted_cost_cents += pop.discount_factor(day) * self.tally.today["cost"]
        if (day + 1) % 30 == 0:
            self._roll(day)
        if self.rescorer is not None:
            self._rescore(day)
        self.collected_cum += self.tally.today["collected"]
        self.tally.today["blocked"] = float(self.rule_engine.blocked_today)
        self.tally.today["exits"] = float(self._active_at_start - pop.status_counts[ACTIVE])

    def _rescore(self, day: int) -> None:
        """Behavioural re-scoring when due (:mod:`collectsim.model.rescoring`); the migrations
        into the day's figures."""
        r = self.rescorer
        moves = r.rescore(day, self.borrowers) if r.due(day) else np.zeros_like(r.last_moves)
        for col, what in self.rescore_columns.items():
            if what == "rescored":
                v = moves.sum()
            elif what == "riskier":
                v = np.tril(moves, -1).sum()
            elif what == "safer":
                v = np.triu(moves, 1).sum()
            else:
                v = moves[what]
            self.tally.today[col] = float(v)

    def _move_slots(self, move: SlotMove | None) -> None:
        """Apply the population's slot move to the model's other per-account state."""
        if move is None:
            return
        self.rule_engine.move(move.src, move.dst)
        move.apply(self._cycle_bucket)

    def _roll(self, day: int) -> None:
        """Roll rates over the cycle that ends today, by tier and starting bucket (counts)."""
        pop = self.borrowers
        now = pop.bucket()
        start = self._cycle_bucket
        entered = pop.entry_day <= self._cycle_start
        was_active = entered & ((pop.resolved_day < 0) | (pop.resolved_day >= self._cycle_start))
        rolled = ((pop.status == ACTIVE) & (now >= start + 1)) | (pop.status == CHARGED_OFF)
        n_tiers = len(pop.tier_names)
        key = pop.tier.astype(np.int64) * len(BUCKETS) + start
        size = n_tiers * len(BUCKETS)
        self.tally.roll_den += np.bincount(key[was_active], minlength=size).reshape(n_tiers, -1)
        self.tally.roll_num += np.bincount(key[was_active & rolled], minlength=size).reshape(n_tiers, -1)
        self._cycle_bucket = now
        self._cycle_start = day + 1

    # ----------------------------------------------------------------- run-off ------------
    def run_off(self, policy: Policy, max_days: int) -> int:
        """Continue after the horizon under ``policy`` (prepared) until no account is still in
        collections or ``max_days`` have passed; return the days run.

        The run-off is the same model going on: the same random streams (days after the
        horizon keep their own draws, so common random numbers hold), the same rules and
        collectors. It records no daily series and no contact log, and charges no fixed team
        cost: what its contacts cost is their channel cost and the collectors' minutes at
        the teams' cost per minute (booked to the accounts). Afterwards every account is back
        in the slot of its number.
        """
        self._check_effort(policy)
        self.policy = policy
        self.observer = None  # the history is of the horizon
        self.contacts.report = policy.learns
        if policy.learns:
            policy.start(self.streams)
        self.in_runoff = True
        self.contacts.log = None
        pop = self.borrowers
        days = 0
        while days < max_days and pop.status_counts[ACTIVE] > 0:
            self.step()
            days += 1
        self._move_slots(pop.restore_account_order())
        return days

    # ----------------------------------------------------------------- outputs ------------
    def contact_log(self):
        """The executed contacts as a DataFrame (see :mod:`collectsim.model.contact_log`)."""
        return (self.log if self.log is not None and self.log.keep else ContactLog()).frame()
