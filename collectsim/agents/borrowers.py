"""The borrower population: every delinquent account as one row of a struct of arrays.

One :class:`BorrowerPopulation` Mesa agent holds the whole portfolio, so the daily step is
a short sequence of named, vectorised behaviour steps, each a few lines that match an
equation of ``docs/model.md``:

==================  =====================================================================
``age``             regime moves, DPD ageing, new instalments due, irritation decay
``observe``         the read-only :class:`~collectsim.policies.base.Observation`
``reach_probability``  who answers a contact on a channel at an hour
``absorb_contacts``    irritation, complaints, opt-outs and the effort jump of λ
``converse``        right-party conversations: promises, plans, settlements
``keep_promises``   promises falling due are kept or broken
``pay_plans``       plan instalments falling due are paid or the plan breaks
``repay``           the self-exciting repayment intensity (Chehrazi, Glynn & Weber 2019)
``charge_off``      accounts reaching the charge-off DPD
==================  =====================================================================

Money is integer cents, so conservation (collected + discounts + charged off +
outstanding = initial balance) holds exactly.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from scipy.linalg import fractional_matrix_power

from collectsim.policies.base import Observation
from collectsim.sim.channels import CHANNELS, OFFER_INDEX
from collectsim.sim.metrics import ACTIVE, CHARGED_OFF, CURED, PAID, SETTLED, Tally
from collectsim.sim.rng import Streams
from collectsim.sim.scenario import Scenario

__all__ = ["BorrowerPopulation", "daily_transition_matrix", "DAYS_PER_YEAR"]

DAYS_PER_YEAR = 365
DT = 1.0 / DAYS_PER_YEAR
_NONE16 = np.int16(-1)


def daily_transition_matrix(monthly: list[list[float]], stress_multiplier: float = 1.0) -> np.ndarray:
    """Daily regime transition matrix: the 30th root of the monthly matrix.

    Negative round-off entries are clipped and rows renormalised. With
    ``stress_multiplier`` ≠ 1 the daily probabilities of moving to a *worse* regime are
    multiplied and the diagonal absorbs the difference.
    """
    m = np.asarray(monthly, dtype=float)
    if np.allclose(m, np.eye(3)):
        p = np.eye(3)
    else:
        p = np.real(fractional_matrix_power(m, 1.0 / 30.0))
        p = np.clip(p, 0.0, None)
        p /= p.sum(axis=1, keepdims=True)
    if stress_multiplier != 1.0:
        p = p.copy()
        for i in range(3):
            for j in range(i + 1, 3):
                p[i, j] *= stress_multiplier
            p[i, i] = 0.0
            p[i, i] = max(0.0, 1.0 - p[i].sum())
            p[i] /= p[i].sum()
    return p


def _beta(rng: np.random.Generator, mean: float, sd: float, size: int) -> np.ndarray:
    if sd == 0 or size == 0:
        return np.full(size, mean)
    k = mean * (1 - mean) / (sd * sd) - 1.0
    return rng.beta(mean * k, (1 - mean) * k, size)


class BorrowerPopulation(mesa.Agent):
    """All borrowers of the portfolio as arrays (a struct of arrays inside one Mesa agent).

    Parameters
    ----------
    model:
        The :class:`~collectsim.sim.model.CollectionsModel`.
    scenario:
        The validated scenario.
    streams:
        The replication's random streams.
    tally:
        The model's running counters.
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, streams: Streams, tally: Tally) -> None:
        super().__init__(model)
        self.spec = scenario
        self.streams = streams
        self.tally = tally
        pf = scenario.portfolio
        segs = scenario.segments
        n = self.n = pf.accounts
        rng = streams.generator("population")
        self.product = pf.product
        self.chargeoff_dpd = pf.resolved_chargeoff_dpd
        self.discount_is_cost = int(scenario.costs.settlement_discount_counts_as_cost)

        # --- latent, drawn once ---------------------------------------------------------
        shares = np.array([s.share for s in segs])
        self.segment = np.sort(rng.choice(len(segs), size=n, p=shares / shares.sum())).astype(np.int8)
        rng.shuffle(self.segment)
        sp = lambda attr: np.array([getattr(s, attr) for s in segs], dtype=float)  # noqa: E731
        self.kappa_by_segment = sp("kappa_per_year")
        self.d10_by_segment = sp("delta10")
        self.d11_by_segment = sp("delta11")
        self.d2_by_segment = sp("delta2")
        self.rmin_by_segment = sp("r_min")
        self.rmax_by_segment = sp("r_max")
        self.pfull_by_segment = sp("p_full_payment")
        self.clv_by_segment = sp("clv")
        self.churn_base_by_segment = sp("churn_base")
        self.churn_irr_by_segment = sp("churn_irritation")

        seg = self.segment
        z = rng.standard_normal(n)
        bal = np.exp(np.log(sp("balance_mean"))[seg] - 0.5 * sp("balance_sigma")[seg] ** 2 + sp("balance_sigma")[seg] * z)
        self.balance0 = np.maximum(np.rint(bal * 100.0), 100).astype(np.int64)
        z = rng.standard_normal(n)
        lsig = sp("lambda_sigma")[seg]
        self.lam_inf = sp("lambda_inf_per_year")[seg] * np.exp(lsig * z - 0.5 * lsig**2)
        self.willingness = np.empty(n, dtype=np.float32)
        rsig = sp("reachability_sigma")[seg]
        self.reachability = np.exp(rsig * rng.standard_normal(n) - 0.5 * rsig**2).astype(np.float32)
        self.regime = np.empty(n, dtype=np.int8)
        for k, s in enumerate(segs):
            idx = np.flatnonzero(seg == k)
            self.willingness[idx] = _beta(rng, s.willingness_mean, s.willingness_sd, len(idx))
            self.regime[idx] = rng.choice(3, size=len(idx), p=np.array(s.regime_shares) / sum(s.regime_shares))
        self.ability_by_regime = np.array(scenario.regimes.ability, dtype=float)
        self.p_day = daily_transition_matrix(scenario.regimes.monthly_transitions)
        self.p_day_shock = (
            daily_transition_matrix(scenario.regimes.monthly_transitions, scenario.shock.stress_multiplier)
            if scenario.shock is not None
            else self.p_day
        )
        lam0 = np.array([np.nan if s.lambda0_per_year is None else s.lambda0_per_year for s in segs])
        self.lam = np.where(np.isnan(lam0[seg]), self.lam_inf, lam0[seg]).astype(np.float64)

        # --- observable at entry: score and tier ------------------------------------------
        sc = scenario.scoring
        ability0 = self.ability_by_regime[self.regime]
        propensity = -np.expm1(-(30.0 / DAYS_PER_YEAR) * self.lam_inf * ability0 * (0.5 + self.willingness))
        propensity = np.clip(propensity, 1e-6, 1 - 1e-6)
        logit = np.log(propensity / (1 - propensity)) + sc.noise_sd * rng.standard_normal(n)
        self.score = (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
        self.tier = np.searchsorted(np.array(sc.tier_cutoffs), self.score, side="right").astype(np.int8)
        self.tier_names = tuple(sc.tier_names)

        # --- account state ------------------------------------------------------------------
        if pf.entry_dpd is not None:
            dpd = np.full(n, pf.entry_dpd, dtype=np.int64)
        else:
            names = list(pf.entry_buckets)
            probs = np.array([pf.entry_buckets[b] for b in names])
            b = np.array([int(x[1:]) - 1 for x in names])[rng.choice(len(names), size=n, p=probs / probs.sum())]
            dpd = 30 * b + rng.integers(1, 31, size=n)
        self.dpd = dpd.astype(np.int16)
        if self.product == "recovery":
            self.instalment = self.balance0.copy()
            self.arrears = self.balance0.copy()
        else:
            self.instalment = np.maximum(np.rint(self.balance0 * pf.monthly_due_fraction), 1).astype(np.int64)
            n_due = (dpd + 29) // 30
            self.arrears = np.minimum(self.instalment * n_due, self.balance0)
        self.arrears0 = self.arrears.copy()
        self.balance = self.balance0.copy()
        self.status = np.full(n, ACTIVE, dtype=np.int8)
        self.irritation = np.zeros(n, dtype=np.float32)
        self.peak_irritation = np.zeros(n, dtype=np.float32)
        self.opted_out = np.zeros(n, dtype=np.uint8)
        self.last_payment_day = np.full(n, -1, dtype=np.int16)
        self.last_contact_day = np.full(n, -1, dtype=np.int16)
        self.last_rpc_day = np.full(n, -1, dtype=np.int16)
        self.promise_due_day = np.full(n, -1, dtype=np.int16)
        self.promise_amount = np.zeros(n, dtype=np.int64)
        self.broken_promises = np.zeros(n, dtype=np.int8)
        self.in_plan = np.zeros(n, dtype=bool)
        self.plan_amount = np.zeros(n, dtype=np.int64)
        self.plan_next_day = np.full(n, -1, dtype=np.int16)
        self.plan_paid = np.zeros(n, dtype=np.int8)

        # --- per-account results ------------------------------------------------------------
        self.collected = np.zeros(n, dtype=np.int64)
        self.discount = np.zeros(n, dtype=np.int64)
        self.charged_off = np.zeros(n, dtype=np.int64)
        self.complaints = np.zeros(n, dtype=np.int16)
        self.worked = np.zeros(n, dtype=bool)
        self.churned = np.zeros(n, dtype=bool)
        self.cost_cents = np.zeros(n, dtype=np.float64)
        self.resolved_day = np.full(n, -1, dtype=np.int16)
        rho = pf.discount_rate_per_year
        self.rho = rho
        self.discounted_collected_cents = np.zeros(n, dtype=np.float64) if rho is not None else None
        self.tier_contacts = np.zeros((len(self.tier_names), len(CHANNELS)), dtype=np.int64)
        self.tier_reached = np.zeros((len(self.tier_names), len(CHANNELS)), dtype=np.int64)

        b = scenario.behaviour
        self.beh = b
        self.irritation_decay = math.exp(-math.log(2.0) / b.irritation_half_life_days)

    # ------------------------------------------------------------------ helpers ---------
    @property
    def active(self) -> np.ndarray:
        """Boolean mask of accounts still in collections."""
        return self.status == ACTIVE

    def bucket(self) -> np.ndarray:
        """DPD bucket index 0..5 of every account."""
        return np.clip((self.dpd.astype(np.int32) - 1) // 30, 0, 5).astype(np.int8)

    def _pay(self, idx: np.ndarray, amount: np.ndarray, day: int) -> None:
        """Apply payments (cents, unique accounts) and resolve cured / paid-off accounts."""
        if len(idx) == 0:
            return
        amount = np.minimum(amount, self.balance[idx])
        self.balance[idx] -= amount
        self.arrears[idx] = np.maximum(self.arrears[idx] - amount, 0)
        self.collected[idx] += amount
        self.last_payment_day[idx] = day
        self.tally.today["collected"] += float(amount.sum())
        if self.discounted_collected_cents is not None:
            self.discounted_collected_cents[idx] += amount * math.exp(-self.rho * (day + 1) * DT)
        paid = self.balance[idx] == 0
        self._resolve(idx[paid], PAID, day)
        if self.product == "recovery":
            return
        rest = idx[~paid]
        cured = self.arrears[rest] == 0
        self._resolve(rest[cured], CURED, day)
        part = rest[~cured]
        # DPD = days since the oldest unpaid due date: each instalment covered rolls it back
        n_unpaid = (self.arrears[part] + self.instalment[part] - 1) // self.instalment[part]
        within = (self.dpd[part].astype(np.int64) - 1) % 30 + 1
        self.dpd[part] = np.minimum(self.dpd[part], within + 30 * (n_unpaid - 1)).astype(np.int16)

    def _resolve(self, idx: np.ndarray, status: int, day: int) -> None:
        """Close accounts with ``status``; resolved good customers may churn (leave)."""
        if len(idx) == 0:
            return
        self.status[idx] = status
        self.resolved_day[idx] = day
        pending = self.promise_due_day[idx] >= 0
        if pending.any():  # a promise overtaken by payment counts as kept
            k = int(pending.sum()) if status != CHARGED_OFF else 0
            self.tally.ptp_due += int(pending.sum())
            self.tally.ptp_kept += k
            self.promise_due_day[idx] = -1
        self.in_plan[idx] = False
        if status == CURED:
            self.arrears[idx] = 0
            self.dpd[idx] = 0
        if status in (CURED, PAID, SETTLED):
            seg = self.segment[idx]
            p = self.churn_base_by_segment[seg] + self.churn_irr_by_segment[seg] * -np.expm1(
                -self.peak_irritation[idx] / self.beh.churn_irritation_scale
            )
            u = self.streams.uniform("churn", day, idx)
            self.churned[idx] = u < p

    # ------------------------------------------------------------------ behaviour steps ----
    def age(self, day: int) -> None:
        """Regimes move, DPD ages (not while in a plan), instalments fall due, irritation decays."""
        act = np.flatnonzero(self.status == ACTIVE)
        p = self.p_day
        sh = self.spec.shock
        if sh is not None and day >= sh.start_day and (sh.duration_days == 0 or day < sh.start_day + sh.duration_days):
            p = self.p_day_shock
        if not np.allclose(p, np.eye(3)):
            cum = np.cumsum(p, axis=1)
            u = self.streams.uniform("regime", day, act)
            r = self.regime[act]
            self.regime[act] = (u >= cum[r, 0]).astype(np.int8) + (u >= cum[r, 1]).astype(np.int8)
        ageing = act[~self.in_plan[act]]
        d = self.dpd[ageing] + 1
        self.dpd[ageing] = d
        if self.product != "recovery":
            due = ageing[(d % 30) == 1]
            self.arrears[due] = np.minimum(self.arrears[due] + self.instalment[due], self.balance[due])
        self.irritation *= self.irritation_decay

    def observe(self, day: int) -> Observation:
        """The observable state, as read-only views (never the latent traits)."""

        def ro(a: np.ndarray) -> np.ndarray:
            v = a.view()
            v.flags.writeable = False
            return v

        return Observation(
            day=day,
            n=self.n,
            active=ro(self.status == ACTIVE),
            tier=ro(self.tier),
            tier_names=self.tier_names,
            score=ro(self.score),
            dpd=ro(self.dpd),
            balance=ro(self.balance),
            arrears=ro(self.arrears),
            last_payment_day=ro(self.last_payment_day),
            last_contact_day=ro(self.last_contact_day),
            last_rpc_day=ro(self.last_rpc_day),
            promise_due_day=ro(self.promise_due_day),
            broken_promises=ro(self.broken_promises),
            in_plan=ro(self.in_plan),
            opted_out=ro(self.opted_out),
        )

    def reach_probability(
        self, account: np.ndarray, channel: np.ndarray, hour: np.ndarray, reach: np.ndarray, reach_by_hour: np.ndarray
    ) -> np.ndarray:
        """P(reach) = min(1, reach_c · hour_c[h] · reachability_i · exp(−answer_fatigue · I_i))."""
        p = reach[channel] * reach_by_hour[channel, hour] * self.reachability[account]
        p *= np.exp(-self.beh.answer_fatigue * self.irritation[account])
        return np.minimum(p, 1.0)

    def absorb_contacts(
        self,
        day: int,
        account: np.ndarray,
        channel: np.ndarray,
        hour: np.ndarray,
        reached: np.ndarray,
        seq: np.ndarray,
        effort: np.ndarray,
        ch: dict[str, np.ndarray],
        optout: np.ndarray,
    ) -> np.ndarray:
        """Effects of executed contacts; returns the complaint flag of each contact.

        complaint: p = base · w_c · (1 + a · I) · (ooh if hour ∉ [8, 21)) · (opt if opted out) · s.
        opt-out: the contacts flagged by :meth:`opt_out_draws` opt the debtor out of their channel.
        effort: λ += δ2 · effort for reached contacts (effort = effect_c · willingness · skill).
        """
        b = self.beh
        irr = self.irritation[account]
        was_opted = ((self.opted_out[account] >> channel.astype(np.uint8)) & 1) == 1
        p_c = b.complaint_base * b.complaint_sensitivity * ch["complaint_weight"][channel] * (1.0 + b.complaint_irritation * irr)
        p_c *= np.where((hour < 8) | (hour >= 21), b.complaint_out_of_hours, 1.0)
        p_c *= np.where(was_opted, b.complaint_after_optout, 1.0)
        # distinct draws per contact of the same account-day: the sequence number is mixed in
        complaint = self.streams.uniform("complaint", day, account * 1024 + seq) < p_c
        if optout.any():
            np.bitwise_or.at(self.opted_out, account[optout], (1 << channel[optout].astype(np.uint8)).astype(np.uint8))
        np.add.at(self.irritation, account, ch["irritation"][channel].astype(np.float32))
        np.add.at(self.complaints, account, complaint.astype(np.int16))
        np.maximum.at(self.peak_irritation, account, self.irritation[account])
        self.worked[account] = True
        self.last_contact_day[account] = day
        np.add.at(self.cost_cents, account, ch["cost_cents"][channel])
        hit = reached & (effort > 0)
        np.add.at(self.lam, account[hit], self.d2_by_segment[self.segment[account[hit]]] * effort[hit])
        np.add.at(self.tier_contacts, (self.tier[account], channel), 1)
        np.add.at(self.tier_reached, (self.tier[account[reached]], channel[reached]), 1)
        return complaint

    def opt_out_draws(
        self, day: int, account: np.ndarray, channel: np.ndarray, reached: np.ndarray, seq: np.ndarray, optout_prob: np.ndarray
    ) -> np.ndarray:
        """Whether each contact, if executed, makes the debtor opt out of its channel.

        p = optout_c · exp(optout_irritation · I) for reached contacts on channels with an
        opt-out. Drawn before execution so that the rule engine can stop later contacts on
        the same channel the same day (an opt-out takes effect at once).
        """
        p_o = optout_prob[channel] * np.exp(self.beh.optout_irritation * self.irritation[account])
        return reached & (p_o > 0) & (self.streams.uniform("optout", day, account * 1024 + seq) < p_o)

    def converse(
        self, day: int, account: np.ndarray, offer: np.ndarray, discount: np.ndarray, plan_months: np.ndarray, skill: np.ndarray
    ) -> np.ndarray:
        """Right-party conversations (unique accounts) and their offers; returns outcome codes.

        Outcome codes: 1 conversation, 2 promise to pay, 3 plan accepted, 4 settled.
        P(promise) = ptp_accept·w·skill; P(plan) = plan_accept·w·√a·skill;
        P(settle) = settle_accept·a·d/(d + d½)·skill (a: regime ability, w: willingness).
        """
        b = self.beh
        t = self.tally
        out = np.ones(len(account), dtype=np.int8)
        self.last_rpc_day[account] = day
        t.conversations += len(account)
        w = self.willingness[account].astype(float)
        a = np.minimum(self.ability_by_regime[self.regime[account]], 1.0)
        u = self.streams.uniform("response", day, account)
        free = (self.promise_due_day[account] < 0) & ~self.in_plan[account]

        s_mask = free & (offer == OFFER_INDEX["settlement"])
        t.settlements_offered += int(s_mask.sum())
        d = discount.astype(float)
        p_s = np.minimum(1.0, b.settle_accept * a * d / (d + b.settle_half_discount) * skill)
        settle = s_mask & (u < p_s)
        if settle.any():
            idx = account[settle]
            pay = np.rint(self.balance[idx] * (1.0 - d[settle])).astype(np.int64)
            disc = self.balance[idx] - pay
            t.settlements_accepted += len(idx)
            self.discount[idx] += disc
            self.balance[idx] -= disc
            self.arrears[idx] = np.minimum(self.arrears[idx], self.balance[idx])
            self._pay(idx, pay, day)  # pays the rest: balance reaches 0
            self.status[idx] = SETTLED
            out[settle] = 4

        p_mask = free & (offer == OFFER_INDEX["instalment"]) & (self.status[account] == ACTIVE)
        t.plans_offered += int(p_mask.sum())
        p_p = np.minimum(1.0, b.plan_accept * w * np.sqrt(a) * skill)
        plan = p_mask & (u < p_p)
        if plan.any():
            idx = account[plan]
            k = np.maximum(plan_months[plan].astype(np.int64), 1)
            self.in_plan[idx] = True
            self.plan_amount[idx] = (self.balance[idx] + k - 1) // k
            self.plan_next_day[idx] = day + 7
            self.plan_paid[idx] = 0
            t.plans_accepted += len(idx)
            out[plan] = 3

        q_mask = free & (offer == OFFER_INDEX["ptp"]) & (self.status[account] == ACTIVE)
        p_q = np.minimum(1.0, b.ptp_accept * w * skill)
        promise = q_mask & (u < p_q)
        if promise.any():
            idx = account[promise]
            u2 = self.streams.uniform("response", day, idx, slot=1)
            self.promise_due_day[idx] = day + 1 + (u2 * b.ptp_days_max).astype(np.int64)
            self.promise_amount[idx] = np.maximum(self.arrears[idx], 1)
            t.ptp_made += len(idx)
            self.tally.today["ptps"] += len(idx)
            out[promise] = 2
        return out

    def keep_promises(self, day: int) -> None:
        """Promises due today: kept with p = ptp_keep · a · (0.5 + 0.5·w), else broken."""
        idx = np.flatnonzero(self.promise_due_day == day)
        idx = idx[self.status[idx] == ACTIVE]
        if len(idx) == 0:
            return
        a = np.minimum(self.ability_by_regime[self.regime[idx]], 1.0)
        p = self.beh.ptp_keep * a * (0.5 + 0.5 * self.willingness[idx])
        kept = self.streams.uniform("keep", day, idx) < p
        self.tally.ptp_due += len(idx)
        self.tally.ptp_kept += int(kept.sum())
        self.broken_promises[idx[~kept]] = np.minimum(self.broken_promises[idx[~kept]] + 1, 127)
        self.promise_due_day[idx] = -1
        k = idx[kept]
        self._pay(k, self.promise_amount[k], day)

    def pay_plans(self, day: int) -> None:
        """Plan instalments due today: paid with p = plan_keep · √a; a miss breaks the plan."""
        idx = np.flatnonzero(self.in_plan & (self.plan_next_day == day))
        if len(idx) == 0:
            return
        a = np.minimum(self.ability_by_regime[self.regime[idx]], 1.0)
        ok = self.streams.uniform("keep", day, idx, slot=1) < self.beh.plan_keep * np.sqrt(a)
        broken = idx[~ok]
        self.in_plan[broken] = False
        self.tally.plans_broken += len(broken)
        paid = idx[ok]
        self.plan_paid[paid] += 1
        self.plan_next_day[paid] += 30
        self._pay(paid, self.plan_amount[paid], day)
        still = paid[self.status[paid] == ACTIVE]
        reaged = still[self.plan_paid[still] >= self.beh.reage_after_payments]
        self._resolve(reaged, CURED, day)

    def repay(self, day: int) -> None:
        """Self-exciting repayments for active accounts not in a plan.

        Λ = λ∞ₐ·dt + (λ − λ∞ₐ)(1 − e^{−κ dt})/κ with λ∞ₐ = λ∞·ability; a repayment happens
        with probability 1 − e^{−Λ}; it pays everything due with probability p_full, else a
        fraction R ~ U[r_min, r_max] of it; then λ ← λ∞ₐ + (λ − λ∞ₐ)e^{−κ dt} + δ10 + δ11·R.
        """
        act = np.flatnonzero(self.status == ACTIVE)
        idx = act[~self.in_plan[act]]
        seg = self.segment[idx]
        kappa = self.kappa_by_segment[seg]
        lam_inf = self.lam_inf[idx] * self.ability_by_regime[self.regime[idx]]
        lam = self.lam[idx]
        decay = np.exp(-kappa * DT)
        big_lambda = lam_inf * DT + (lam - lam_inf) * (1.0 - decay) / kappa
        event = self.streams.uniform("repay_event", day, idx) < -np.expm1(-big_lambda)
        new_lam = lam_inf + (lam - lam_inf) * decay
        e = idx[event]
        if len(e):
            s = seg[event]
            full = self.streams.uniform("full_payment", day, e) < self.pfull_by_segment[s]
            u = self.streams.uniform("repay_fraction", day, e)
            r = np.where(full, 1.0, self.rmin_by_segment[s] + (self.rmax_by_segment[s] - self.rmin_by_segment[s]) * u)
            amount = np.maximum(np.rint(r * self.arrears[e]), 1).astype(np.int64)
            new_lam[event] += self.d10_by_segment[s] + self.d11_by_segment[s] * r
            self._pay(e, amount, day)
        self.lam[idx] = new_lam

    def charge_off(self, day: int) -> None:
        """Active accounts at or past the charge-off DPD are charged off (balance written off)."""
        if self.chargeoff_dpd <= 0:
            return
        idx = np.flatnonzero((self.status == ACTIVE) & (self.dpd >= self.chargeoff_dpd))
        if len(idx) == 0:
            return
        self.charged_off[idx] += self.balance[idx]
        self.balance[idx] = 0
        self.arrears[idx] = 0
        self._resolve(idx, CHARGED_OFF, day)
