"""The per-agent reference model: one Mesa agent per borrower, one per collector.

This module is the *readable specification* of the simulator and the oracle it is tested
against (``tests/validation/test_equivalence.py``). It implements the same behaviour as the vectorised
engine (:mod:`collectsim.agents.borrowers`, :mod:`collectsim.model`) in the plainest
way: each :class:`ReferenceBorrower` holds scalar attributes and acts through small verbs
named like the engine's behaviour steps; each :class:`ReferenceCollector` works its own
queue minute by minute. It is slow (tens of thousands of borrower-days per second) and
meant to be: read it next to ``docs/model.md``.

What is shared with the engine, and what is not
------------------------------------------------

* **Shared**: the validated :class:`~collectsim.scenario.Scenario` (parameters only),
  the channel/offer codes, the rule list (:data:`collectsim.scenario.PRESETS`, data only)
  and the *policy objects*. A policy is a function of the observable state; every day the
  reference builds the same :class:`~collectsim.policies.base.Observation` arrays from its
  agents' attributes and calls ``policy.decide`` on them, then hands each borrower its own
  requests. The same policy objects therefore drive both implementations.
* **Not shared**: everything that happens to a borrower — the population draw, regime
  moves, ageing, rule checks (re-implemented per contact from each borrower's own contact
  history, not with :class:`~collectsim.compliance.RuleEngine`), reach, collector queues,
  responses, promises, plans, repayments, charge-off, churn, roll rates and the KPIs
  (:meth:`ReferenceModel.kpis`, computed here from the agents, not with
  :mod:`collectsim.results.kpis`).
* **Randomness**: a different generator. Every draw comes sequentially from the model's
  ``random.Random`` (Mesa's ``model.random``, a Mersenne Twister seeded with the seed),
  not from the engine's counter-based streams (:mod:`collectsim.streams`). The two
  implementations therefore never see the same luck; their *distributions* must agree.

Discretisation (one day = ``dt = 1/365`` year) and money in integer cents are exactly the
engine's; see :meth:`ReferenceBorrower.repay`.

Conventions the engine fixes and the reference follows
------------------------------------------------------

* A day's requests of one borrower are taken in hour order (ties: the order the policy
  listed them). Rules are *filters applied in list order*: each rule sees the requests that
  survived the rules listed before it (so an attempt cap counts requests a later rule may
  still drop — conservative, never a violation).
* Irritation and the opt-out flags are read as the day's contacts begin: today's reach,
  complaint and opt-out probabilities use the irritation the day started with, and the
  complaint multiplier for an opted-out channel applies to opt-outs of earlier days.
* During execution an attempt is stopped when an earlier attempt of the day on the rule's
  channels *would* reach the debtor (cooldown after a conversation), *would* make the
  debtor opt out of one of the rule's channels (an opt-out rule: its channels are one
  medium, an opt-out through any of them stops them all, and takes effect at once),
  or when the day's would-be connects reach a connect cap — counting earlier attempts even
  if another rule or the collectors' minutes then stopped them (conservative).
* A collector team sorts its queue by priority (ties: account, then hour, then request
  order), deals it round robin to its collectors, and each collector works its share in
  order while its minutes used are below its budget (the last attempt runs to its end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np
import scipy.linalg

from collectsim.errors import InputError
from collectsim.policies import Observation, Policy, prepare_policy
from collectsim.scenario import PRESETS, Rule, Scenario
from collectsim.vocabulary.channels import CALL, CHANNELS, VISIT
from collectsim.vocabulary.offers import OFFER_INDEX

__all__ = ["ReferenceBorrower", "ReferenceCollector", "ReferenceModel", "run_reference"]

DAYS_PER_YEAR = 365
DT = 1.0 / DAYS_PER_YEAR

ACTIVE, CURED, PAID, SETTLED, CHARGED_OFF = "active", "cured", "paid", "settled", "charged_off"
STATUSES = (ACTIVE, CURED, PAID, SETTLED, CHARGED_OFF)
GOOD_ENDINGS = (CURED, PAID, SETTLED)  # resolved customers who may churn

PTP, INSTALMENT, SETTLEMENT = OFFER_INDEX["ptp"], OFFER_INDEX["instalment"], OFFER_INDEX["settlement"]
CONVERSATION_CHANNELS = (CALL, VISIT)  # a reached call or visit is a conversation


def daily_matrix(monthly: list[list[float]], stress: float = 1.0) -> np.ndarray:
    """One day of the regime chain: exp(log(M)/30), optionally stressed.

    Stress multiplies every move to a worse regime (above the diagonal); the diagonal takes
    what is left. Written independently of the engine's version (matrix logarithm here,
    fractional power there).
    """
    m = np.asarray(monthly, dtype=float)
    if np.allclose(m, np.eye(3)):
        p = np.eye(3)
    else:
        p = np.real(scipy.linalg.expm(scipy.linalg.logm(m) / 30.0))
        p = np.clip(p, 0.0, None)
        p = p / p.sum(axis=1, keepdims=True)
    if stress != 1.0:
        p = p.copy()
        for i in range(3):
            worse = p[i, i + 1 :] * stress
            p[i, i + 1 :] = worse
            p[i, i] = max(0.0, 1.0 - p[i, :i].sum() - worse.sum())
            p[i] = p[i] / p[i].sum()
    return p


@dataclass(frozen=True)
class ChannelParams:
    """One channel's parameters, as plain Python numbers."""

    code: int
    cost_cents: float
    attempt_minutes: float
    connect_minutes: float
    handle_minutes: float
    connect: float
    connect_by_hour: tuple[float, ...]
    right_party: float
    effect: float
    irritation: float
    complaint_weight: float
    optout_prob: float
    team: str | None


@dataclass(frozen=True)
class RuleParams:
    """One contact rule, with its channels as a set of codes."""

    kind: str
    name: str
    channels: frozenset[int]
    start_hour: int
    end_hour: int
    max_count: int
    window_days: int

    @staticmethod
    def of(rule: Rule) -> RuleParams:
        """From a scenario rule."""
        codes = frozenset(CHANNELS.index(c) for c in rule.channels)
        return RuleParams(
            rule.kind, rule.name, codes, rule.start_hour, rule.end_hour, rule.max_count, rule.window_days
        )


class Contact:
    """One requested contact of one borrower on one day, followed until it is done or dropped."""

    __slots__ = (
        "borrower", "order", "channel", "hour", "offer", "discount", "plan_months", "priority",
        "connected", "reached", "opts_out", "minutes", "done", "skill",
    )

    def __init__(self, borrower, order, channel, hour, offer, discount, plan_months, priority):
        self.borrower = borrower
        self.order = order  # position in the policy's request list (ties within an hour)
        self.channel = channel
        self.hour = hour
        self.offer = offer
        self.discount = discount
        self.plan_months = plan_months
        self.priority = priority
        self.connected = False  # would anybody answer it if made?
        self.reached = False  # would it reach the debtor themself if made?
        self.opts_out = False  # would it make the debtor opt out of its channel if made?
        self.minutes = 0.0
        self.done = False  # made (by automation, or by a collector with time left)
        self.skill = 1.0  # of the collector who made it (1 for automated channels)


class ReferenceCollector(mesa.Agent):
    """A collector: a skill and a daily budget of minutes, working its queue in order."""

    def __init__(self, model: ReferenceModel, team: str, skill: float, minutes_per_day: float) -> None:
        super().__init__(model)
        self.team = team
        self.skill = skill
        self.minutes_per_day = minutes_per_day
        self.minutes_used = 0.0
        self.attempts_total = 0
        self.conversations_total = 0

    def work(self, queue: list[Contact]) -> None:
        """Make the attempts of ``queue`` in order while minutes are left (the last one runs to
        its end: starting an attempt never depends on how it will end)."""
        self.minutes_used = 0.0
        for c in queue:
            if self.minutes_used >= self.minutes_per_day - 1e-9:
                break
            self.minutes_used += c.minutes
            c.done = True
            c.skill = self.skill
            self.attempts_total += 1
            self.conversations_total += c.reached


class ReferenceBorrower(mesa.Agent):
    """One delinquent account and its debtor.

    The latent traits (segment, regime, willingness, reachability, repayment intensity λ,
    irritation) are never shown to the policy; the observable state is what
    :meth:`ReferenceModel.observe` collects.
    """

    def __init__(self, model: ReferenceModel, account: int) -> None:
        super().__init__(model)
        sc = model.inputs
        rnd = model.random
        pf = sc.portfolio
        self.account = account

        # --- entry DPD, then the latent traits given it ---------------------------------
        self.entry_day = model.entry_days[account]
        if pf.entry_dpd is not None:
            self.dpd = pf.entry_dpd
        else:
            buckets = pf.entry_buckets if self.entry_day == 0 else (pf.inflow_entry_buckets or pf.entry_buckets)
            names = list(buckets)
            bucket = rnd.choices(names, weights=[buckets[b] for b in names])[0]
            self.dpd = 30 * (int(bucket[1:]) - 1) + rnd.randint(1, 30)
        # The segments describe accounts as they become delinquent: one found at DPD d went d − 1
        # days without a payment that cleared its arrears (rate λ∞·a·p_full a year). Draw traits
        # until such an account would have survived that long (rejection sampling).
        survivors = pf.entry_selection == "survivors" and pf.product != "recovery"
        for _ in range(10_000):
            balance = self.draw_traits(sc, rnd)
            if not survivors:
                break
            rate = self.lam_inf * sc.regimes.ability[self.regime] * self.seg.p_full_payment
            if rnd.random() < math.exp(-rate * (self.dpd - 1) / DAYS_PER_YEAR):
                break
        else:
            raise ValueError(f"account {account}: no draw of the segments survives to DPD {self.dpd}")
        # the intensity at entry: the segment's λ0 if given, else the baseline of the regime the account is in
        if self.seg.lambda0_per_year is None:
            self.lam = self.lam_inf * sc.regimes.ability[self.regime]
        else:
            self.lam = self.seg.lambda0_per_year

        # --- observable at entry: a noisy score of the 30-day payment propensity, its tier -
        ability = sc.regimes.ability[self.regime]
        propensity = -math.expm1(-(30.0 / DAYS_PER_YEAR) * self.lam_inf * ability * (0.5 + self.willingness))
        propensity = min(max(propensity, 1e-6), 1 - 1e-6)
        logit = math.log(propensity / (1 - propensity)) + sc.scoring.noise_sd * rnd.gauss(0.0, 1.0)
        self.score = 1.0 / (1.0 + math.exp(-logit))
        self.tier = sum(1 for cut in sc.scoring.tier_cutoffs if self.score >= cut)

        # --- the account ---------------------------------------------------------------
        self.balance0 = max(round(balance * 100.0), 100)  # cents (round half to even)
        self.balance = self.balance0
        if pf.product == "recovery":  # charged-off debt: everything is due
            self.instalment = self.balance0
            self.arrears = self.balance0
        else:  # one instalment per 30 days past due, at most the balance
            self.instalment = max(round(self.balance0 * pf.monthly_due_fraction), 1)
            self.arrears = min(self.instalment * ((self.dpd + 29) // 30), self.balance0)
        self.arrears0 = self.arrears
        self.status = ACTIVE
        self.resolved_day = -1
        self.irritation = 0.0
        self.peak_irritation = 0.0
        self.opted_out = 0  # bit c set: opted out of channel c
        self.last_payment_day = -1
        self.last_contact_day = -1
        self.last_rpc_day = -1
        self.promise_due_day = -1
        self.promise_amount = 0
        self.broken_promises = 0
        self.in_plan = False
        self.plan_amount = 0
        self.plan_next_day = -1
        self.plan_paid = 0
        self.history: list[tuple[int, int, bool]] = []  # executed contacts: (day, channel, reached)
        self.requests: list[Contact] = []  # today's

        # --- results -------------------------------------------------------------------
        self.collected = 0
        self.discounted_collected = 0.0
        self.discount = 0
        self.charged_off = 0
        self.complaints = 0
        self.worked = False
        self.churned = False
        self.cost_cents = 0.0
        self.discounted_cost_cents = 0.0  # the cost booked to this account, each day's discounted
        self.cycle_bucket = self.bucket

    def draw_traits(self, sc: Scenario, rnd) -> float:
        """Draw the latent traits from the segments' laws; return the balance (currency units)."""
        seg = rnd.choices(sc.segments, weights=[s.share for s in sc.segments])[0]
        self.segment = sc.segments.index(seg)
        self.seg = seg
        s = seg.balance_sigma
        balance = seg.balance_mean * math.exp(s * rnd.gauss(0.0, 1.0) - 0.5 * s * s)
        s = seg.lambda_sigma
        self.lam_inf = seg.lambda_inf_per_year * math.exp(s * rnd.gauss(0.0, 1.0) - 0.5 * s * s)
        if seg.willingness_sd == 0:
            self.willingness = seg.willingness_mean
        else:
            m, sd = seg.willingness_mean, seg.willingness_sd
            k = m * (1 - m) / (sd * sd) - 1.0
            self.willingness = rnd.betavariate(m * k, (1 - m) * k)
        s = seg.reachability_sigma
        self.reachability = math.exp(s * rnd.gauss(0.0, 1.0) - 0.5 * s * s)
        self.regime = rnd.choices(range(3), weights=seg.regime_shares)[0]
        return balance

    # ------------------------------------------------------------------ small facts -------
    @property
    def bucket(self) -> int:
        """DPD bucket 0..5 (M1..M6, M6 also holds everything past 180 DPD)."""
        return min(max((self.dpd - 1) // 30, 0), 5)

    def in_collections(self, day: int) -> bool:
        """Entered collections by ``day`` and not resolved yet."""
        return self.status == ACTIVE and self.entry_day <= day

    @property
    def ability(self) -> float:
        """Ability to pay in the current regime."""
        return self.model.inputs.regimes.ability[self.regime]

    # ------------------------------------------------------------------ start of the day --
    def age(self, day: int, daily_regime_matrix: np.ndarray) -> None:
        """The regime moves; DPD ages (not in a plan) and an instalment falls due every 30 DPD."""
        u = self.model.random.random()
        row = daily_regime_matrix[self.regime]
        self.regime = int(u >= row[0]) + int(u >= row[0] + row[1])
        if not self.in_plan:
            self.dpd += 1
            if self.model.inputs.portfolio.product != "recovery" and self.dpd % 30 == 1:
                self.arrears = min(self.arrears + self.instalment, self.balance)
        self.irritation *= self.model.irritation_decay

    # ------------------------------------------------------------------ contacts ----------
    def screen_requests(self, day: int) -> list[Contact]:
        """Today's requests, minus what the rules forbid; each survivor's reach is drawn.

        Returns the attempts that may be made (collectors may still run out of minutes).
        """
        model = self.model
        todo = sorted(self.requests, key=lambda c: (c.hour, c.order))
        self.requests = []
        for rule in model.rules:  # before execution: filters in list order
            blocked = self._blocked_before(day, rule, [c for c in todo if c.channel in rule.channels])
            model.blocked[rule.name] += len(blocked)
            todo = [c for c in todo if c not in blocked]
        b = model.inputs.behaviour
        fatigue = math.exp(-b.answer_fatigue * self.irritation)
        for c in todo:  # would anybody answer, would it be the debtor, would they opt out?
            ch = model.channels[c.channel]
            c.connected = model.random.random() < min(ch.connect * ch.connect_by_hour[c.hour] * self.reachability, 1.0)
            c.reached = c.connected and model.random.random() < min(ch.right_party * fatigue, 1.0)
            if c.reached and ch.optout_prob > 0:
                c.opts_out = model.random.random() < ch.optout_prob * math.exp(b.optout_irritation * self.irritation)
        allowed = todo
        for rule in model.rules:  # during execution, in hour order
            if rule.kind in ("cooldown_after_conversation", "max_connects", "opt_out"):
                blocked = self._blocked_during(day, rule, todo, allowed)
                model.blocked[rule.name] += len(blocked)
                allowed = [c for c in allowed if c not in blocked]
        return allowed

    def _count_history(self, day: int, rule: RuleParams, counts: str) -> int:
        """Executed contacts on the rule's channels in the window's earlier days: every one
        (``counts="attempts"``), those answered (``"connects"``) or conversations (``"rpcs"``)."""
        return sum(
            1
            for d, ch, connected, reached in self.history
            if d > day - rule.window_days and ch in rule.channels
            and {"attempts": True, "connects": connected, "rpcs": reached}[counts]
        )

    def _blocked_before(self, day: int, rule: RuleParams, mine: list[Contact]) -> set[Contact]:
        """Which of today's requests on ``rule``'s channels (hour order) the rule forbids."""
        if rule.kind == "quiet_hours":
            return {c for c in mine if not rule.start_hour <= c.hour < rule.end_hour}
        if rule.kind == "opt_out":  # opted out of any of the rule's channels: all are closed
            closed = any((self.opted_out >> ch) & 1 for ch in rule.channels)
            return set(mine) if closed else set()
        if rule.kind == "cooldown_after_conversation":
            talked = self._count_history(day, rule, "rpcs") > 0
            return set(mine) if talked else set()
        if rule.kind == "max_attempts":
            room = max(rule.max_count - self._count_history(day, rule, "attempts"), 0)
            return set(mine[room:])  # today's first `room` requests may go
        # max_connects: the connects of earlier days in the window (today's: during execution)
        return set(mine) if self._count_history(day, rule, "connects") >= rule.max_count else set()

    def _blocked_during(
        self, day: int, rule: RuleParams, screened: list[Contact], allowed: list[Contact]
    ) -> set[Contact]:
        """Attempts stopped after a conversation (cooldown: a right-party contact), an opt-out
        from any of the rule's channels, or once the connect cap (answered attempts) is used.

        ``screened`` are all of today's attempts that passed the rules before execution;
        an earlier one that *would* reach (or opt out) counts even if it was stopped or never
        made.
        """
        still = set(allowed)
        if rule.kind == "opt_out":
            opted_today = False  # opted out of one of the rule's channels earlier today
            blocked = set()
            for c in screened:
                if c.channel in rule.channels:
                    if c in still and opted_today:
                        blocked.add(c)
                    if c.opts_out:
                        opted_today = True
            return blocked
        cooldown = rule.kind == "cooldown_after_conversation"
        prior = 0 if cooldown else self._count_history(day, rule, "connects")
        cap = 1 if cooldown else rule.max_count
        blocked = set()
        counted = 0
        for c in screened:
            if c.channel in rule.channels:
                if c in still and prior + counted >= cap:
                    blocked.add(c)
                counted += c.reached if cooldown else c.connected
        return blocked

    def absorb_contacts(self, day: int, made: list[Contact]) -> None:
        """What today's executed contacts do: irritation, complaints, opt-outs, effort on λ.

        Then the day's first conversation (a reached call or visit) carries its offer.
        """
        model = self.model
        b = model.inputs.behaviour
        irritation0, opted0 = self.irritation, self.opted_out  # as the day's contacts began
        response = 1.0 - irritation0 / (b.backlash_irritation or math.inf)  # past I_b contact backfires
        if b.effect_half_life_dpd and model.inputs.portfolio.product != "recovery":  # 0 or None: no fading
            response *= 0.5 ** ((self.dpd - 1) / b.effect_half_life_dpd)  # the longer in arrears, the less it works
        for c in made:
            self.history.append((day, c.channel, c.connected, c.reached))
            ch = model.channels[c.channel]
            p_complaint = b.complaint_base * b.complaint_sensitivity * ch.complaint_weight
            p_complaint *= 1.0 + b.complaint_irritation * irritation0
            if c.hour < 8 or c.hour >= 21:
                p_complaint *= b.complaint_out_of_hours
            if (opted0 >> c.channel) & 1:
                p_complaint *= b.complaint_after_optout
            if model.random.random() < p_complaint:
                self.complaints += 1
                model.tally["complaints"] += 1
            if c.opts_out:
                self.opted_out |= 1 << c.channel
                model.tally["optouts"] += 1
            self.irritation += ch.irritation
            self.cost_cents += ch.cost_cents
            self.discounted_cost_cents += ch.cost_cents * model.discount(day)
            model.tally["contact_cost_cents"] += ch.cost_cents
            model.tally[f"contacts_{CHANNELS[c.channel]}"] += 1
            model.tally[f"connected_{CHANNELS[c.channel]}"] += c.connected
            if c.reached:
                model.tally[f"reached_{CHANNELS[c.channel]}"] += 1
                # effort makes a debtor pay sooner in proportion to what they can pay (ability)
                effort = ch.effect * self.willingness * c.skill * response * model.inputs.regimes.ability[self.regime]
                if effort != 0:
                    self.lam = max(self.lam + self.seg.delta2 * effort, 0.0)
        self.history = [h for h in self.history if h[0] > day - model.longest_window]
        self.peak_irritation = max(self.peak_irritation, self.irritation)
        self.worked = True
        self.last_contact_day = day
        talk = next((c for c in made if c.reached and c.channel in CONVERSATION_CHANNELS), None)
        if talk is not None:
            self.converse(day, talk)

    def converse(self, day: int, c: Contact) -> None:
        """A right-party conversation: the offer is a promise, a plan or a settlement.

        P(promise) = ptp_accept·w·skill; P(plan) = plan_accept·w·√a·skill·f, with the plan's
        affordability f = min(1, m/m')^γ (m: the usual instalment, m' = ⌈B/k⌉ the plan's);
        P(settle) = settle_accept·a·d/(d + d½)·skill; a = min(ability, 1). No new offer is
        taken while a promise or a plan is running.
        """
        model, b, t = self.model, self.model.inputs.behaviour, self.model.tally
        self.last_rpc_day = day
        t["conversations"] += 1
        w, a = self.willingness, min(self.ability, 1.0)
        u = model.random.random()
        if self.promise_due_day >= 0 or self.in_plan:
            return
        if c.offer == SETTLEMENT:
            t["settlements_offered"] += 1
            d = c.discount
            if u < min(1.0, b.settle_accept * a * d / (d + b.settle_half_discount) * c.skill):
                t["settlements_accepted"] += 1
                pay = round(self.balance * (1.0 - d))
                self.discount += self.balance - pay
                self._receive(pay, day)
                self.balance, self.arrears = 0, 0
                self._resolve(SETTLED, day)
        elif c.offer == INSTALMENT:
            t["plans_offered"] += 1
            months = max(c.plan_months, 1)
            amount = -(-self.balance // months)  # ceil
            if u < min(1.0, b.plan_accept * w * math.sqrt(a) * c.skill * self.affordability(amount)):
                t["plans_accepted"] += 1
                self.in_plan = True
                self.plan_amount = amount
                self.plan_next_day = day + 7
                self.plan_paid = 0
        elif c.offer == PTP:
            if u < min(1.0, b.ptp_accept * w * c.skill):
                t["ptp_made"] += 1
                self.promise_due_day = day + 1 + int(model.random.random() * b.ptp_days_max)
                self.promise_amount = max(self.arrears, 1)

    # ------------------------------------------------------------------ the rest of the day
    def step(self) -> None:
        """The borrower's own day once the contacts are over (see :meth:`ReferenceModel.step`)."""
        day = self.model.day
        if self.status != ACTIVE:
            return
        self.keep_promise(day)
        if self.status == ACTIVE:
            self.pay_plan(day)
        if self.status == ACTIVE and not self.in_plan:
            self.repay(day)
        if self.status == ACTIVE:
            self.bankrupt(day)
        if self.status == ACTIVE:
            self.charge_off(day)

    def affordability(self, plan_amount: int) -> float:
        """How affordable a plan paying ``plan_amount`` a month is: min(1, usual instalment / it)^γ."""
        gamma = self.model.inputs.behaviour.plan_affordability
        return min(1.0, self.instalment / max(plan_amount, 1)) ** gamma

    def keep_promise(self, day: int) -> None:
        """A promise due today is kept with p = ptp_keep·a·(0.5 + 0.5·w), else broken."""
        if self.promise_due_day != day:
            return
        t = self.model.tally
        a = min(self.ability, 1.0)
        kept = self.model.random.random() < self.model.inputs.behaviour.ptp_keep * a * (0.5 + 0.5 * self.willingness)
        t["ptp_due"] += 1
        self.promise_due_day = -1
        if kept:
            t["ptp_kept"] += 1
            self.pay(self.promise_amount, day)
        else:
            self.broken_promises = min(self.broken_promises + 1, 127)

    def pay_plan(self, day: int) -> None:
        """A plan instalment due today is paid with p = plan_keep·√a·f (f: its affordability);
        a miss ends the plan.

        After ``reage_after_payments`` paid instalments the account is re-aged (cured).
        """
        if not (self.in_plan and self.plan_next_day == day):
            return
        b = self.model.inputs.behaviour
        keep = b.plan_keep * math.sqrt(min(self.ability, 1.0)) * self.affordability(self.plan_amount)
        if self.model.random.random() >= keep:
            self.in_plan = False
            self.model.tally["plans_broken"] += 1
            return
        self.plan_paid += 1
        self.plan_next_day += 30
        self.pay(self.plan_amount, day)
        if self.status == ACTIVE and self.plan_paid >= b.reage_after_payments:
            self._resolve(CURED, day)

    def repay(self, day: int) -> None:
        """The self-exciting repayment process of Chehrazi, Glynn & Weber (2019), one day.

        With λ∞ₐ = λ∞·ability and the intensity λ at the start of the day, the expected
        number of repayments today is Λ = λ∞ₐ·dt + (λ − λ∞ₐ)(1 − e^{−κ dt})/κ (the exact
        integral of the relaxing intensity). At most one repayment happens, with
        probability 1 − e^{−Λ}; it pays everything due with probability p_full, else a
        fraction R ~ U[r_min, r_max] of it, rounded to cents (at least one cent). The
        intensity relaxes to λ∞ₐ + (λ − λ∞ₐ)e^{−κ dt} and jumps by δ10 + δ11·R
        (R = 1 for a full payment).
        """
        rnd, seg = self.model.random, self.seg
        lam_inf = self.lam_inf * self.ability
        decay = math.exp(-seg.kappa_per_year * DT)
        expected = lam_inf * DT + (self.lam - lam_inf) * (1.0 - decay) / seg.kappa_per_year
        relaxed = lam_inf + (self.lam - lam_inf) * decay
        if rnd.random() < -math.expm1(-expected):
            if rnd.random() < seg.p_full_payment:
                r = 1.0
            else:
                r = seg.r_min + (seg.r_max - seg.r_min) * rnd.random()
            self.lam = relaxed + seg.delta10 + seg.delta11 * r
            self.pay(max(round(r * self.arrears), 1), day)
        else:
            self.lam = relaxed

    def bankrupt(self, day: int) -> None:
        """A bankruptcy notice arrives with probability 1 − e^{−h/365} (h: the hazard a year of
        the borrower's regime); the remaining balance is then written off, whatever the DPD."""
        h = self.model.inputs.regimes.bankruptcy_per_year[self.regime]
        if h <= 0 or self.model.chargeoff_dpd <= 0:
            return
        if self.model.random.random() < -math.expm1(-h / DAYS_PER_YEAR):
            self.charged_off += self.balance
            self.balance, self.arrears = 0, 0
            self._resolve(CHARGED_OFF, day)

    def charge_off(self, day: int) -> None:
        """At the charge-off DPD the remaining balance is written off."""
        co = self.model.chargeoff_dpd
        if co > 0 and self.dpd >= co:
            self.charged_off += self.balance
            self.balance, self.arrears = 0, 0
            self._resolve(CHARGED_OFF, day)

    # ------------------------------------------------------------------ money ---------------
    def _receive(self, amount: int, day: int) -> None:
        """Book a payment of ``amount`` cents (collected, discounted at the end of the day)."""
        self.collected += amount
        self.last_payment_day = day
        self.model.tally["collected"] += amount
        self.discounted_collected += amount * self.model.discount(day)

    def pay(self, amount: int, day: int) -> None:
        """A payment: paid off, cured (nothing overdue) or partly paid (DPD rolls back)."""
        amount = min(amount, self.balance)
        self.balance -= amount
        self.arrears = max(self.arrears - amount, 0)
        self._receive(amount, day)
        if self.balance == 0:
            self._resolve(PAID, day)
        elif self.model.inputs.portfolio.product != "recovery":
            if self.arrears == 0:
                self._resolve(CURED, day)
            else:  # DPD counts from the oldest unpaid instalment
                unpaid = -(-self.arrears // self.instalment)
                within = (self.dpd - 1) % 30 + 1
                self.dpd = min(self.dpd, within + 30 * (unpaid - 1))

    def _resolve(self, status: str, day: int) -> None:
        """Leave collections. A pending promise counts as kept (broken at charge-off).

        A customer leaving on good terms churns with p = base + irr·(1 − e^{−peak/scale}).
        """
        t = self.model.tally
        self.status = status
        self.resolved_day = day
        if self.promise_due_day >= 0:
            t["ptp_due"] += 1
            t["ptp_kept"] += status != CHARGED_OFF
            self.promise_due_day = -1
        self.in_plan = False
        if status == CURED:
            self.arrears, self.dpd = 0, 0
        if status in GOOD_ENDINGS:
            scale = self.model.inputs.behaviour.churn_irritation_scale
            p = self.seg.churn_base + self.seg.churn_irritation * -math.expm1(-self.peak_irritation / scale)
            self.churned = self.model.random.random() < p


class ReferenceModel(mesa.Model):
    """The per-agent reference: same scenario, same policy interface, same day.

    Parameters
    ----------
    scenario:
        A validated :class:`~collectsim.scenario.Scenario`.
    policy:
        A policy object (``decide(Observation) -> Requests``), e.g. from
        :func:`collectsim.policies.prepare_policy`.
    seed:
        Seed of Mesa's generators; every draw comes from ``self.random`` in sequence.
    """

    def __init__(self, scenario: Scenario, policy: Policy, seed: int = 0) -> None:
        if scenario.scoring.rescore_every_days > 0:
            raise InputError(f"scoring.rescore_every_days = {scenario.scoring.rescore_every_days}: the reference "
                             "model scores an account once at entry; behavioural re-scoring runs only in the "
                             "engine (allowed here: 0)")
        super().__init__(rng=seed)
        self.inputs = scenario
        self.policy = policy
        self.day = 0
        pf = scenario.portfolio
        self.chargeoff_dpd = pf.resolved_chargeoff_dpd
        self.irritation_decay = 0.5 ** (1.0 / scenario.behaviour.irritation_half_life_days)
        self.regime_day = daily_matrix(scenario.regimes.monthly_transitions)
        shock = scenario.shock
        self.regime_day_shock = (
            daily_matrix(scenario.regimes.monthly_transitions, shock.stress_multiplier) if shock else self.regime_day
        )
        self.channels = []
        for code, name in enumerate(CHANNELS):
            c = scenario.channels[name]
            self.channels.append(
                ChannelParams(
                    code, c.cost_per_contact * 100.0, c.attempt_minutes, c.connect_minutes, c.handle_minutes,
                    c.connect, tuple(c.connect_by_hour), c.right_party, c.effect, c.irritation, c.complaint_weight,
                    c.optout_prob, c.team,
                )
            )
        self.rules = [RuleParams.of(r) for r in list(PRESETS[scenario.rules.preset]) + list(scenario.rules.extra)]
        self.longest_window = max([r.window_days for r in self.rules] + [1])
        self.blocked = {r.name: 0 for r in self.rules}
        self.contact_cost_before = 0.0
        self.tally: dict[str, float] = {
            k: 0
            for k in (
                "collected", "contact_cost_cents", "complaints", "optouts", "conversations", "ptp_made", "ptp_due",
                "ptp_kept", "plans_offered", "plans_accepted", "plans_broken", "settlements_offered",
                "settlements_accepted", "requested", "unworked", "rpcs", "effort_units", "effort_cost_cents",
                *[f"contacts_{c}" for c in CHANNELS], *[f"reached_{c}" for c in CHANNELS],
                *[f"connected_{c}" for c in CHANNELS],
            )
        }
        # the opening stock on day 0, then (an open book) the inflow of each day, in order
        self.entry_days = [d for d, k in enumerate(pf.entries()) for _ in range(k)]
        self.borrowers = [ReferenceBorrower(self, i) for i in range(len(self.entry_days))]
        self.teams: dict[str, list[ReferenceCollector]] = {}
        for team in scenario.teams:
            self.teams[team.name] = [
                ReferenceCollector(
                    self, team.name, min(max(self.random.gauss(team.skill_mean, team.skill_sd), 0.2), 3.0),
                    team.minutes_per_day,
                )
                for _ in range(team.resolved_headcount(pf.accounts))
            ]
        self.team_cost_cents = 0.0
        self.discounted_cost_cents = 0.0  # every day's whole cost, discounted
        self.in_runoff = False
        self.roll_num = [0] * 6
        self.roll_den = [0] * 6
        self.cycle_start = 0

    # ------------------------------------------------------------------ what a policy sees --
    def observe(self, day: int) -> Observation:
        """The observable state of every account, as the engine's Observation arrays."""
        bs = self.borrowers

        def col(attr: str, dtype) -> np.ndarray:
            return np.array([getattr(b, attr) for b in bs], dtype=dtype)

        return Observation(
            day=day,
            n=len(bs),
            active=np.array([b.in_collections(day) for b in bs], dtype=bool),
            tier=col("tier", np.int8),
            tier_names=tuple(self.inputs.scoring.tier_names),
            score=col("score", np.float32),
            dpd=col("dpd", np.int16),
            balance=col("balance", np.int64),
            arrears=col("arrears", np.int64),
            last_payment_day=col("last_payment_day", np.int16),
            last_contact_day=col("last_contact_day", np.int16),
            last_rpc_day=col("last_rpc_day", np.int16),
            promise_due_day=col("promise_due_day", np.int16),
            broken_promises=col("broken_promises", np.int8),
            in_plan=col("in_plan", bool),
            opted_out=col("opted_out", np.uint8),
            account_id=np.arange(len(bs), dtype=np.int64),  # one agent per account, in order
            active_index=np.array([i for i, b in enumerate(bs) if b.in_collections(day)], dtype=np.int64),
            entry_day=col("entry_day", np.int16),
        )

    # ------------------------------------------------------------------ the day -------------
    def step(self) -> None:
        """One day, in the engine's order (docs/model.md §Day)."""
        day = self.day
        active = [b for b in self.borrowers if b.in_collections(day)]
        # 1. regimes move, DPD ages, instalments fall due, irritation fades
        matrix = self.regime_day_shock if self._shock_on(day) else self.regime_day
        for b in active:
            b.age(day, matrix)
        # 2. the policy asks; each borrower receives its own requests
        obs = self.observe(day)
        self.deliver(self.policy.decide(obs))
        effort = self.policy.effort(obs) if self.policy.applies_effort else None
        # 3-4. each borrower's requests are screened by the rules; reach is drawn
        attempts: list[Contact] = []
        for b in active:
            if b.requests:
                attempts.extend(b.screen_requests(day))
        # 5. automated channels go out; collectors work their queues
        self.work(attempts)
        # 6. executed contacts act on their borrowers
        made_by: dict[ReferenceBorrower, list[Contact]] = {}
        for c in attempts:
            if c.done:
                made_by.setdefault(c.borrower, []).append(c)
        for b, made in made_by.items():
            made.sort(key=lambda c: (c.hour, c.order))
            b.absorb_contacts(day, made)
        # direct effort (docs/model.md §Direct effort): λ += δ2·u, u·c booked to the account
        if effort is not None:
            self.apply_effort(day, effort)
        # 7-8. promises, plans, repayments, charge-off: each borrower's own step
        for b in active:
            b.step()
        if not self.in_runoff:
            team_cost = sum(
                t.resolved_headcount(self.inputs.portfolio.accounts) * t.cost_per_day * 100.0 for t in self.inputs.teams
            )
            self.team_cost_cents += team_cost
            day_cost = self.tally["contact_cost_cents"] - self.contact_cost_before + team_cost
            self.discounted_cost_cents += day_cost * self.discount(day)
            if (day + 1) % 30 == 0:
                self.roll(day)
        self.contact_cost_before = self.tally["contact_cost_cents"]
        self.day += 1

    def apply_effort(self, day: int, effort) -> None:
        """Each unit of direct effort raises the borrower's λ by its segment's δ2 and costs
        ``costs.effort_cost_per_unit`` (counted in the day's contact cost, so discounted with it)."""
        per_unit = self.inputs.costs.effort_cost_per_unit
        if per_unit is None:
            raise InputError(f"policy {self.policy.name!r} applies direct effort; costs.effort_cost_per_unit is not set")
        effort.validate(len(self.borrowers), self.policy.name)
        for slot, u in zip(effort.account.tolist(), effort.units.tolist(), strict=True):
            b = self.borrowers[slot]
            if u == 0.0 or not b.in_collections(day):
                continue
            b.lam = max(b.lam + b.seg.delta2 * u, 0.0)
            cost = u * per_unit * 100.0
            b.cost_cents += cost
            b.discounted_cost_cents += cost * self.discount(day)
            self.tally["contact_cost_cents"] += cost
            self.tally["effort_units"] += u
            self.tally["effort_cost_cents"] += cost

    def discount(self, day: int) -> float:
        """Present value at day 0 of one unit paid at the end of ``day``."""
        return math.exp(-self.inputs.valuation.discount_rate_per_year * (day + 1) * DT)

    # ------------------------------------------------------------------ the run-off --------
    def run_off(self, policy: Policy, max_days: int) -> int:
        """After the horizon: the same day under ``policy`` for the accounts still open, until
        none is or ``max_days`` have passed (no team day cost: contacts cost their channel
        and the collectors' minutes). Returns the days run."""
        self.horizon_end = self.day
        self.open_at_horizon = {b.account for b in self.borrowers if b.status == ACTIVE}
        self.at_horizon = {b.account: (b.discounted_collected, b.discounted_cost_cents) for b in self.borrowers}
        self.policy = policy
        self.in_runoff = True
        days = 0
        while days < max_days and any(b.status == ACTIVE for b in self.borrowers):
            self.step()
            days += 1
        return days

    def value(self) -> dict:
        """Net value and its parts (docs/model.md §Valuation), after :meth:`run_off`."""
        v = self.inputs.valuation
        horizon_cash = horizon_cost = 0.0
        cured = sale = residual = 0.0
        for b in self.borrowers:
            cash_h, cost_h = self.at_horizon[b.account]
            horizon_cash += cash_h
            horizon_cost += cost_h
            worth = 0.0
            if b.status == CURED:
                worth = v.performing_value_rate * b.balance * self.discount(b.resolved_day)
            elif b.status == CHARGED_OFF:
                worth = v.debt_sale_rate * b.charged_off * self.discount(b.resolved_day)
            if b.resolved_day >= self.horizon_end:
                residual += worth
            else:
                cured += worth if b.status == CURED else 0.0
                sale += worth if b.status == CHARGED_OFF else 0.0
            residual += (b.discounted_collected - cash_h) - (b.discounted_cost_cents - cost_h)
        parts = {
            "discounted_collected": horizon_cash,
            "discounted_treatment_cost": self.discounted_cost_cents,
            "cured_value": cured,
            "debt_sale_value": sale,
            "residual_value": residual,
        }
        net = horizon_cash - self.discounted_cost_cents + cured + sale + residual
        out = {k: x / 100.0 for k, x in parts.items()}
        out["net_value"] = net / 100.0
        out["expected_loss"] = (sum(b.balance0 for b in self.borrowers) - net) / 100.0
        return out

    def _shock_on(self, day: int) -> bool:
        s = self.inputs.shock
        return s is not None and day >= s.start_day and (s.duration_days == 0 or day < s.start_day + s.duration_days)

    def deliver(self, req) -> None:
        """Hand each active borrower its requests (in the policy's order)."""
        acc, ch, hour = req.account.tolist(), req.channel.tolist(), req.hour.tolist()
        offer, disc, months, prio = req.offer.tolist(), req.discount.tolist(), req.plan_months.tolist(), req.priority.tolist()
        for i, a in enumerate(acc):
            b = self.borrowers[a]
            if not b.in_collections(self.day):
                continue
            self.tally["requested"] += 1
            b.requests.append(Contact(b, i, ch[i], hour[i], offer[i], disc[i], months[i], prio[i]))

    def work(self, attempts: list[Contact]) -> None:
        """Automated contacts are all made; each team works its queue (highest priority first)."""
        queues: dict[str, list[Contact]] = {name: [] for name in self.teams}
        for c in attempts:
            ch = self.channels[c.channel]
            if ch.team is None:
                c.done = True
            else:
                c.minutes = ch.handle_minutes if c.reached else ch.connect_minutes if c.connected else ch.attempt_minutes
                queues[ch.team].append(c)
        for name, queue in queues.items():
            collectors = self.teams[name]
            queue.sort(key=lambda c: (-c.priority, c.borrower.account, c.hour, c.order))
            h = len(collectors)
            for k, collector in enumerate(collectors):
                collector.work(queue[k::h])  # round robin: the k-th, (k+h)-th, ... attempts
            spec = next(t for t in self.inputs.teams if t.name == name)
            per_minute = spec.cost_per_day * 100.0 / spec.minutes_per_day if spec.minutes_per_day > 0 else 0.0
            for c in queue:
                if c.done:
                    c.borrower.cost_cents += c.minutes * per_minute
                    c.borrower.discounted_cost_cents += c.minutes * per_minute * self.discount(self.day)
                elif not self.in_runoff:
                    self.tally["unworked"] += 1

    def roll(self, day: int) -> None:
        """Roll rates of the 30-day cycle ending today (count of accounts by starting bucket)."""
        for b in self.borrowers:
            entered = b.entry_day <= self.cycle_start
            active_at_start = entered and (b.resolved_day < 0 or b.resolved_day >= self.cycle_start)
            if active_at_start:
                start = b.cycle_bucket
                self.roll_den[start] += 1
                rolled = (b.status == ACTIVE and b.bucket >= start + 1) or b.status == CHARGED_OFF
                self.roll_num[start] += rolled
            b.cycle_bucket = b.bucket
        self.cycle_start = day + 1

    # ------------------------------------------------------------------ results -------------
    def kpis(self) -> dict:
        """The portfolio KPIs (primer §2), computed from the agents."""
        bs, t = self.borrowers, self.tally
        n = len(bs)
        b0 = sum(b.balance0 for b in bs)
        a0 = sum(b.arrears0 for b in bs)
        collected = sum(b.collected for b in bs)
        discounts = sum(b.discount for b in bs)
        charged = sum(b.charged_off for b in bs)
        cost = t["contact_cost_cents"] + self.team_cost_cents
        count = {s: sum(1 for b in bs if b.status == s) for s in STATUSES}
        good = count[CURED] + count[PAID] + count[SETTLED]
        worked = sum(b.worked for b in bs)
        complaints = sum(b.complaints for b in bs)
        churned = sum(b.churned for b in bs)
        calls = t["contacts_call"]
        out = {
            "accounts": n,
            "initial_balance": b0 / 100.0,
            "collected": collected / 100.0,
            "recovery_rate": collected / b0,
            "overdue_at_entry": a0 / 100.0,
            "overdue_recovery_rate": sum(min(b.collected, b.arrears0) for b in bs) / a0 if a0 else None,
            "collected_over_entry_overdue": collected / a0 if a0 else None,
            "net_recovery": (collected - cost - discounts * self.inputs.costs.settlement_discount_counts_as_cost) / 100.0,
            "treatment_cost": cost / 100.0,
            "discounts_given": discounts / 100.0,
            "charged_off_balance": charged / 100.0,
            "outstanding_balance": sum(b.balance for b in bs) / 100.0,
            "cure_rate": count[CURED] / n,
            "paid_rate": count[PAID] / n,
            "settled_rate": count[SETTLED] / n,
            "chargeoff_rate": charged / b0,
            "cost_to_collect": cost / collected if collected else None,
            "complaints": complaints,
            "complaints_per_1k_worked": 1000.0 * complaints / worked if worked else 0.0,
            "complaints_per_1k_accounts": 1000.0 * complaints / n,
            "accounts_worked": worked,
            "churn_rate": churned / good if good else None,
            "churned": churned,
            "lost_clv": float(sum(b.seg.clv for b in bs if b.churned)),
            "contact_rate": t["connected_call"] / calls if calls else None,
            "rpc_rate": t["reached_call"] / calls if calls else None,
            "ptp_rate": t["ptp_made"] / t["conversations"] if t["conversations"] else None,
            "kept_rate": t["ptp_kept"] / t["ptp_due"] if t["ptp_due"] else None,
            "unworked": t["unworked"],
            "conversations": t["conversations"],
            "requested": t["requested"],
            "optouts": t["optouts"],
            "effort_units": float(t["effort_units"]),
            "effort_cost": t["effort_cost_cents"] / 100.0,
            "contacts": {c: t[f"contacts_{c}"] for c in CHANNELS},
            "reached": {c: t[f"reached_{c}"] for c in CHANNELS},
            "blocked": dict(self.blocked),
            "plans": {"offered": t["plans_offered"], "accepted": t["plans_accepted"], "broken": t["plans_broken"]},
            "settlements": {"offered": t["settlements_offered"], "accepted": t["settlements_accepted"]},
            "roll_rates": {
                f"M{k + 1}->M{k + 2}": self.roll_num[k] / self.roll_den[k] if self.roll_den[k] else None
                for k in range(5)
            },
        }
        if any(b.entry_day > 0 for b in bs):  # an open book: by vintage (month of entry)
            months = sorted({b.entry_day // 30 for b in bs})
            out["vintages"] = {}
            for m in months:
                vs = [b for b in bs if b.entry_day // 30 == m]
                out["vintages"][f"month {m}"] = {
                    "accounts": len(vs),
                    "cure_rate": sum(b.status == CURED for b in vs) / len(vs),
                    "recovery_rate": sum(b.collected for b in vs) / sum(b.balance0 for b in vs),
                }
        return out


def run_reference(scenario: Scenario, policy, seed: int = 0, days: int | None = None, value: bool = True) -> dict:
    """Run the reference for ``days`` (default: the scenario's horizon); return its KPIs, and
    (``value``) the net value after the run-off under ``scenario.valuation.runoff_policy``."""
    model = ReferenceModel(scenario, prepare_policy(policy, scenario), seed=seed)
    for _ in range(scenario.portfolio.horizon_days if days is None else days):
        model.step()
    kpis = model.kpis()
    if value:
        model.run_off(prepare_policy(scenario.valuation.runoff_policy, scenario), scenario.valuation.runoff_max_days)
        kpis.update(model.value())
    return kpis
