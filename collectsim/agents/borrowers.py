"""The borrower population: every delinquent account as one row of a struct of arrays.

One :class:`BorrowerPopulation` Mesa agent holds the whole portfolio, so the daily step is
a short sequence of named behaviour steps, each matching an equation of ``docs/model.md``:

=====================  =================================================================
``age``                regime moves, DPD ageing, new instalments due, irritation decay
``observe``            the read-only :class:`~collectsim.policies.base.Observation`
``draw_outcomes``      who would answer a contact (channel, hour), and opt out of it
``absorb_contacts``    irritation, complaints, opt-outs and the effort jump of λ
``apply_effort``       direct effort units: λ += δ2 · units, at the effort cost per unit
``converse``           right-party conversations: promises, plans, settlements
``keep_promises``      promises falling due are kept or broken
``pay_plans``          plan instalments falling due are paid or the plan breaks
``repay``              the self-exciting repayment intensity (Chehrazi, Glynn & Weber 2019)
``receive_payments``   the three before, in that order
``bankrupt``           bankruptcy notices: charge-off outside the buckets
``charge_off``         accounts reaching the charge-off DPD (and the day's active index)
=====================  =================================================================

Each step is a small numba kernel (``_age``, ``_repay``, ...) that loops over the
*active-account index* (:attr:`BorrowerPopulation.active_idx`, rebuilt by ``charge_off`` at
the end of each day) or over the day's contacts, so a day costs time in proportion to the
accounts still in collections and the contacts made, never to the size of the book. A
kernel reads like the equation it implements, one account at a time; the shared
bookkeeping of a payment and of leaving collections is done in batches by :func:`_pay_all`
and :func:`_resolve_all` (a step collects the day's payments and departures, each account
at most once, then hands them over: a kernel call that passes the account arrays costs
far more than the bookkeeping itself, so it is made once per step, not once per account).
The per-agent reference (:mod:`collectsim.validation.reference`) implements the same
behaviour in plain Python, one Mesa agent per borrower, and
``tests/validation/test_equivalence.py`` checks that both give the same KPI distributions.

Money is integer cents, so conservation (collected + discounts + charged off +
outstanding = initial balance) holds exactly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import mesa
import numpy as np
from scipy.linalg import fractional_matrix_power

from collectsim.agents.counters import Tally
from collectsim.errors import InputError
from collectsim.kernels import njit
from collectsim.policies.base import Observation
from collectsim.scenario import ChannelTable, Scenario
from collectsim.streams import Streams, request_counter, uniform_at
from collectsim.vocabulary.accounts import ACTIVE, CHARGED_OFF, CURED, OUTCOMES, PAID, SETTLED, bucket_of, dpd_buckets
from collectsim.vocabulary.channels import CHANNELS
from collectsim.vocabulary.offers import INSTALMENT, PTP, SETTLEMENT
from collectsim.vocabulary.units import DAYS_PER_YEAR, DT

__all__ = ["BorrowerPopulation", "SlotMove", "daily_transition_matrix", "PER_ACCOUNT"]

OUTCOME_RPC, OUTCOME_PROMISE, OUTCOME_PLAN, OUTCOME_SETTLED = (OUTCOMES.index(o) for o in ("rpc", "promise", "plan",
                                                                                          "settled"))

#: Names of the population's per-account arrays (all permuted together by ``repack``).
PER_ACCOUNT: tuple[str, ...] = (
    "segment", "regime", "lam", "lam_inf", "willingness", "reachability", "score", "tier", "dpd", "instalment",
    "balance0", "balance", "arrears0", "arrears", "status", "is_active", "irritation", "peak_irritation",
    "opted_out", "last_payment_day", "last_contact_day", "last_rpc_day", "promise_due_day", "promise_amount",
    "broken_promises", "in_plan", "plan_amount", "plan_next_day", "plan_paid", "collected", "discount",
    "charged_off", "complaints", "churned", "cost_cents", "resolved_day", "discounted_collected_cents",
    "discounted_cost_cents",
    "account_id", "entry_day",
)
@dataclass(frozen=True)
class SlotMove:
    """Accounts moving between slots: every per-account array ``a`` becomes ``a[dst] = a[src]``
    (``dst`` a slice or an index array; the right-hand side is read before anything is written)."""

    src: np.ndarray
    dst: slice | np.ndarray

    def apply(self, a: np.ndarray) -> None:
        """Move the entries of one array (the first axis)."""
        a[self.dst] = a[self.src]


def _entry_dpd(rng: np.random.Generator, entry_dpd: int | None, buckets: dict[str, float], n: int) -> np.ndarray:
    """DPD at entry of ``n`` accounts: ``entry_dpd`` for all, else a bucket by ``buckets`` and
    a DPD uniform within it."""
    if entry_dpd is not None:
        return np.full(n, entry_dpd, dtype=np.int64)
    names = list(buckets)
    probs = np.array([buckets[b] for b in names])
    b = np.array([int(x[1:]) - 1 for x in names])[rng.choice(len(names), size=n, p=probs / probs.sum())]
    return 30 * b + rng.integers(1, 31, size=n)


#: :meth:`BorrowerPopulation.repack` moves the active accounts to the front once they fill
#: no more than this share of the open slots (measured: benchmarks/scale.py)
REPACK_BELOW = 0.5

# Slots of the ledger a kernel writes its portfolio-wide counts into (flushed to the Tally).
(L_COLLECTED, L_PTP_DUE, L_PTP_KEPT, L_PTP_MADE, L_PLANS_OFFERED, L_PLANS_ACCEPTED, L_PLANS_BROKEN,
 L_SETTLE_OFFERED, L_SETTLE_ACCEPTED, L_CONVERSATIONS, L_CHURNED, L_STATUS) = range(12)
LEDGER_SIZE = L_STATUS + 5  # then one slot per status code: accounts moved into it


class Accounts(NamedTuple):
    """The population's per-account arrays, as the kernels see them (same objects)."""

    segment: np.ndarray
    regime: np.ndarray
    lam: np.ndarray
    lam_inf: np.ndarray
    willingness: np.ndarray
    reachability: np.ndarray
    tier: np.ndarray
    dpd: np.ndarray
    instalment: np.ndarray
    balance: np.ndarray
    arrears: np.ndarray
    status: np.ndarray
    is_active: np.ndarray
    irritation: np.ndarray
    peak_irritation: np.ndarray
    opted_out: np.ndarray
    last_payment_day: np.ndarray
    last_contact_day: np.ndarray
    last_rpc_day: np.ndarray
    promise_due_day: np.ndarray
    promise_amount: np.ndarray
    broken_promises: np.ndarray
    in_plan: np.ndarray
    plan_amount: np.ndarray
    plan_next_day: np.ndarray
    plan_paid: np.ndarray
    collected: np.ndarray
    discount: np.ndarray
    charged_off: np.ndarray
    complaints: np.ndarray
    churned: np.ndarray
    cost_cents: np.ndarray
    resolved_day: np.ndarray
    discounted: np.ndarray  # discounted collected cents
    discounted_cost: np.ndarray  # discounted treatment cost booked to the account, cents
    tier_contacts: np.ndarray
    tier_connected: np.ndarray
    tier_reached: np.ndarray
    account_id: np.ndarray  # the account number each slot holds (keys the random draws)


class Params(NamedTuple):
    """Behaviour parameters as the kernels see them (per segment / regime arrays, scalars)."""

    recovery: bool  # product "recovery": everything due, no cure, no charge-off
    ability: np.ndarray  # by regime
    kappa: np.ndarray  # by segment ...
    decay: np.ndarray  # exp(-κ dt)
    d10: np.ndarray
    d11: np.ndarray
    d2: np.ndarray
    rmin: np.ndarray
    rmax: np.ndarray
    pfull: np.ndarray
    churn_base: np.ndarray
    churn_irr: np.ndarray
    churn_scale: float
    ptp_keep: float
    plan_keep: float
    plan_affordability: float
    backlash: float
    reage_after: int
    ptp_accept: float
    ptp_days_max: int
    plan_accept: float
    settle_accept: float
    settle_half: float
    chargeoff_dpd: int
    bankruptcy: np.ndarray  # by regime: daily probability of a bankruptcy notice
    effect_fade: float  # −ln 2 / effect_half_life_dpd: effort × e^{effect_fade·(d − 1)} at DPD d (0: none)


@functools.lru_cache(maxsize=64)
def _thirtieth_root(monthly: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
    """P₃₀^{1/30}, clipped at 0 and row-normalised (cached: ~80 ms per call, same every replication)."""
    m = np.asarray(monthly, dtype=float)
    if np.allclose(m, np.eye(3)):
        return tuple(map(tuple, np.eye(3)))
    p = np.real(fractional_matrix_power(m, 1.0 / 30.0))
    p = np.clip(p, 0.0, None)
    p /= p.sum(axis=1, keepdims=True)
    return tuple(map(tuple, p))


def daily_transition_matrix(monthly: list[list[float]], stress_multiplier: float = 1.0) -> np.ndarray:
    """Daily regime transition matrix: the 30th root of the monthly matrix.

    Negative round-off entries are clipped and rows renormalised. With
    ``stress_multiplier`` ≠ 1 the daily probabilities of moving to a *worse* regime are
    multiplied and the diagonal absorbs the difference.
    """
    p = np.array(_thirtieth_root(tuple(tuple(float(x) for x in row) for row in monthly)))
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


def _per_segment(segs, attr: str) -> np.ndarray:
    """The value of ``attr`` of every segment, as floats indexed by segment."""
    return np.array([getattr(s, attr) for s in segs], dtype=float)


def _unit_lognormal(rng: np.random.Generator, sigma: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Mean-one lognormal draws exp(σZ − σ²/2), σ by each account's segment (in place)."""
    x = sigma[segment]
    x *= rng.standard_normal(len(segment))
    x -= (0.5 * sigma**2)[segment]
    np.exp(x, out=x)
    return x


def _draw_latent(rng: np.random.Generator, segs, n: int) -> dict[str, np.ndarray]:
    """The latent traits of ``n`` accounts drawn from the segments' laws (docs/model.md §1):
    segment, balance at entry (cents), λ∞, willingness, reachability, ability regime."""
    shares = np.array([s.share for s in segs])
    counts = np.bincount(rng.choice(len(segs), size=n, p=shares / shares.sum()), minlength=len(segs))
    segment = np.repeat(np.arange(len(segs), dtype=np.int8), counts)  # sorted draws
    rng.shuffle(segment)
    sp = lambda attr: _per_segment(segs, attr)  # noqa: E731
    # lognormal draws, mean-preserving: exp(σZ − σ²/2) (computed in place, per-segment constants)
    bsig = sp("balance_sigma")
    x = bsig[segment]
    x *= rng.standard_normal(n)
    x += (np.log(sp("balance_mean")) - 0.5 * bsig**2)[segment]
    np.exp(x, out=x)
    x *= 100.0
    np.rint(x, out=x)
    balance0 = np.maximum(x, 100).astype(np.int64)
    lam_inf = _unit_lognormal(rng, sp("lambda_sigma"), segment)
    lam_inf *= sp("lambda_inf_per_year")[segment]
    reachability = _unit_lognormal(rng, sp("reachability_sigma"), segment).astype(np.float32)
    willingness = np.empty(n, dtype=np.float32)
    regime = np.empty(n, dtype=np.int8)
    for k, s in enumerate(segs):
        idx = np.flatnonzero(segment == k)
        willingness[idx] = _beta(rng, s.willingness_mean, s.willingness_sd, len(idx))
        regime[idx] = rng.choice(3, size=len(idx), p=np.array(s.regime_shares) / sum(s.regime_shares))
    return {"segment": segment, "balance0": balance0, "lam_inf": lam_inf, "willingness": willingness,
            "reachability": reachability, "regime": regime}


#: rounds of redrawing after which the survivors' selection gives up (a clear error)
MAX_SELECTION_ROUNDS = 10_000


def _select_survivors(rng: np.random.Generator, segs, latent: dict[str, np.ndarray], dpd: np.ndarray,
                      ability: np.ndarray, p_full: np.ndarray) -> None:
    """Condition the latent traits on the entry DPD, in place (docs/model.md §1.1).

    The segments describe accounts as they become delinquent. An account found at DPD
    ``d`` has gone ``d − 1`` days without a payment that cleared its arrears, which at its
    baseline rate of such payments, ``r = λ∞ · a(g) · p_full``, happens with probability
    ``exp(−r (d − 1)/365)``. Each account's traits are accepted with that probability and
    redrawn from the segments' laws until accepted (rejection sampling: the accepted traits
    follow the prior law tilted by the survival probability).
    """
    todo = np.arange(len(dpd))
    days = (dpd.astype(np.float64) - 1.0) / DAYS_PER_YEAR
    for _ in range(MAX_SELECTION_ROUNDS):
        seg, reg = latent["segment"][todo], latent["regime"][todo]
        survive = np.exp(-days[todo] * latent["lam_inf"][todo] * ability[reg] * p_full[seg])
        todo = todo[rng.random(len(todo)) >= survive]
        if not len(todo):
            return
        fresh = _draw_latent(rng, segs, len(todo))
        for key, values in fresh.items():
            latent[key][todo] = values
    raise InputError(
        "portfolio.entry_selection = 'survivors': almost no account of the segments survives to its entry DPD "
        f"unpaid (after {MAX_SELECTION_ROUNDS:,} rounds); lower the entry DPD or set entry_selection = 'none'"
    )


class BorrowerPopulation(mesa.Agent):
    """All borrowers of the portfolio as arrays (a struct of arrays inside one Mesa agent).

    Parameters
    ----------
    model:
        The :class:`~collectsim.model.CollectionsModel`.
    scenario:
        The validated scenario.
    streams:
        The replication's random streams.
    tally:
        The model's running counters.
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, streams: Streams, tally: Tally) -> None:
        super().__init__(model)
        self.shock = scenario.shock
        self.streams = streams
        self.tally = tally
        pf = scenario.portfolio
        segs = scenario.segments
        n = self.n = pf.total_accounts  # the opening stock, then the inflow in order of entry
        rng = streams.generator("population")
        self.product = pf.product
        self.chargeoff_dpd = pf.resolved_chargeoff_dpd
        self.discount_is_cost = int(scenario.costs.settlement_discount_counts_as_cost)

        # --- entry DPD, then the latent traits given it (docs/model.md §1) ------------------
        #: the day each account enters collections (0: the opening stock; open book: the inflow)
        self.entries = np.array(pf.entries(), dtype=np.int64)
        self.entry_day = np.repeat(np.arange(len(self.entries), dtype=np.int16), self.entries)
        stock = pf.accounts
        dpd = _entry_dpd(rng, pf.entry_dpd, pf.entry_buckets, stock)
        if n > stock:
            dpd = np.concatenate([dpd, _entry_dpd(rng, pf.entry_dpd, pf.inflow_entry_buckets or pf.entry_buckets,
                                                  n - stock)])
        sp = lambda attr: _per_segment(segs, attr)  # noqa: E731
        self.ability_by_regime = np.array(scenario.regimes.ability, dtype=float)
        latent = _draw_latent(rng, segs, n)
        if pf.entry_selection == "survivors" and self.product != "recovery":
            _select_survivors(rng, segs, latent, dpd, self.ability_by_regime, sp("p_full_payment"))
        self.segment = latent["segment"]
        self.balance0 = latent["balance0"]
        self.lam_inf = latent["lam_inf"]
        self.willingness = latent["willingness"]
        self.reachability = latent["reachability"]
        self.regime = latent["regime"]
        seg = self.segment
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
        #: daily probability of a bankruptcy notice by regime, 1 − e^{−h/365} (docs/model.md §3.4)
        self.bankruptcy_by_regime = -np.expm1(-np.array(scenario.regimes.bankruptcy_per_year, dtype=float) * DT)
        self.p_day = daily_transition_matrix(scenario.regimes.monthly_transitions)
        self.p_day_shock = (
            daily_transition_matrix(scenario.regimes.monthly_transitions, scenario.shock.stress_multiplier)
            if scenario.shock is not None
            else self.p_day
        )
        # the intensity at entry is the baseline of the account's regime then, λ∞·a(g(0))
        self.lam = self.lam_inf * self.ability_by_regime[self.regime]
        for k, s in enumerate(segs):
            if s.lambda0_per_year is not None:
                self.lam[seg == k] = s.lambda0_per_year

        # --- observable at entry: score and tier ------------------------------------------
        sc = scenario.scoring
        # propensity π = 1 − exp(−(30/365)·λ∞·a·(0.5 + w)), score = σ(logit π + noise) (in place)
        x = np.multiply(-(30.0 / DAYS_PER_YEAR), self.lam_inf)
        x *= self.ability_by_regime[self.regime]
        x *= 0.5 + self.willingness
        np.expm1(x, out=x)
        np.negative(x, out=x)
        np.clip(x, 1e-6, 1 - 1e-6, out=x)
        x /= 1 - x
        np.log(x, out=x)
        z = rng.standard_normal(n)
        z *= sc.noise_sd
        x += z
        del z
        np.negative(x, out=x)
        np.exp(x, out=x)
        x += 1.0
        np.divide(1.0, x, out=x)
        self.score = x.astype(np.float32)
        del x
        self.tier = np.searchsorted(np.array(sc.tier_cutoffs), self.score, side="right").astype(np.int8)
        self.tier_names = tuple(sc.tier_names)

        # --- account state ------------------------------------------------------------------
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
        self.churned = np.zeros(n, dtype=bool)
        self.cost_cents = np.zeros(n, dtype=np.float64)
        self.resolved_day = np.full(n, -1, dtype=np.int16)
        #: continuous discount rate per year of every cash flow (valuation.discount_rate_per_year)
        self.rho = scenario.valuation.discount_rate_per_year
        #: Σ payments × e^{−ρ(t+1)/365}, and the same of the treatment cost booked to the account (cents)
        self.discounted_collected_cents = np.zeros(n, dtype=np.float64)
        self.discounted_cost_cents = np.zeros(n, dtype=np.float64)
        self.tier_contacts = np.zeros((len(self.tier_names), len(CHANNELS)), dtype=np.int64)
        self.tier_connected = np.zeros((len(self.tier_names), len(CHANNELS)), dtype=np.int64)
        self.tier_reached = np.zeros((len(self.tier_names), len(CHANNELS)), dtype=np.int64)

        b = scenario.behaviour
        self.beh = b
        self.irritation_decay = math.exp(-math.log(2.0) / b.irritation_half_life_days)


        # --- the active-account index, counts and the kernels' views -------------------------
        self.is_active = self.entry_day == 0
        #: the account number held by each slot (see :meth:`repack`); every random draw of an
        #: account is keyed by its number, so moving it to another slot changes nothing
        self.account_id = np.arange(n, dtype=np.int64)
        #: slots ``[0, live)`` may hold active accounts; every slot from ``live`` on is closed
        #: or, from :attr:`pending_start` on, holds an account yet to enter (in order of entry)
        self.live = stock
        self.pending_start = stock
        #: ascending indices of the accounts still in collections (compacted once a day)
        self.active_idx = np.arange(stock, dtype=np.int64)
        #: accounts by status code (kept up to date by the kernels; accounts yet to enter in none)
        self.status_counts = np.zeros(5, dtype=np.int64)
        self.status_counts[ACTIVE] = stock
        #: active accounts per DPD bucket M1..M6 (kept up to date by :meth:`charge_off`)
        self.bucket_counts = _bucket_counts(self.dpd, self.active_idx)
        #: resolved customers who left (churned.sum(), kept up to date)
        self.churned_count = 0
        self._ledger = np.zeros(LEDGER_SIZE, dtype=np.float64)
        self.acct = Accounts(
            self.segment, self.regime, self.lam, self.lam_inf, self.willingness, self.reachability, self.tier,
            self.dpd, self.instalment, self.balance, self.arrears, self.status, self.is_active, self.irritation,
            self.peak_irritation, self.opted_out, self.last_payment_day, self.last_contact_day, self.last_rpc_day,
            self.promise_due_day, self.promise_amount, self.broken_promises, self.in_plan, self.plan_amount,
            self.plan_next_day, self.plan_paid, self.collected, self.discount, self.charged_off, self.complaints,
            self.churned, self.cost_cents, self.resolved_day,
            self.discounted_collected_cents, self.discounted_cost_cents,
            self.tier_contacts, self.tier_connected, self.tier_reached, self.account_id,
        )
        self.par = Params(
            self.product == "recovery", self.ability_by_regime, self.kappa_by_segment,
            np.exp(-self.kappa_by_segment * DT), self.d10_by_segment, self.d11_by_segment, self.d2_by_segment,
            self.rmin_by_segment, self.rmax_by_segment, self.pfull_by_segment, self.churn_base_by_segment,
            self.churn_irr_by_segment, float(b.churn_irritation_scale), float(b.ptp_keep), float(b.plan_keep),
            float(b.plan_affordability), float(b.backlash_irritation or math.inf), int(b.reage_after_payments), float(b.ptp_accept), int(b.ptp_days_max), float(b.plan_accept),
            float(b.settle_accept), float(b.settle_half_discount), int(self.chargeoff_dpd),
            self.bankruptcy_by_regime,
            0.0 if not b.effect_half_life_dpd or self.product == "recovery" else -math.log(2.0) / b.effect_half_life_dpd,
        )

    # ------------------------------------------------------------------ helpers ---------
    @property
    def active(self) -> np.ndarray:
        """Boolean mask of accounts still in collections."""
        return self.status == ACTIVE

    @property
    def worked(self) -> np.ndarray:
        """Boolean mask of accounts contacted at least once (an executed contact)."""
        return self.last_contact_day >= 0

    def bucket(self) -> np.ndarray:
        """DPD bucket index 0..5 of every account."""
        return dpd_buckets(self.dpd)

    def enter(self, day: int) -> SlotMove | None:
        """The accounts entering collections today join the active ones (an open book).

        They wait, in order of entry, in the slots from :attr:`pending_start`; today's are
        moved to the slots right after the open ones ``[live, live + k)`` — swapped with the
        closed accounts there, O(k) — so the active accounts stay in ascending account order
        in ascending slots. Returns the move (for the other per-account state), or ``None``.
        """
        k = int(self.entries[day]) if 0 < day < len(self.entries) else 0
        if k == 0:
            return None
        lo, start = self.live, self.pending_start
        move = None
        if start > lo:  # closed accounts sit between the open slots and the entering ones
            if start - lo >= k:  # swap the two blocks
                src = np.concatenate([np.arange(start, start + k), np.arange(lo, lo + k)])
                dst = np.concatenate([np.arange(lo, lo + k), np.arange(start, start + k)])
            else:  # rotate [lo, start + k): the entering first
                src = np.concatenate([np.arange(start, start + k), np.arange(lo, start)])
                dst = np.arange(lo, start + k)
            move = SlotMove(src, dst)
            self._move(move)
        self.is_active[lo : lo + k] = True
        self.active_idx = np.concatenate([self.active_idx, np.arange(lo, lo + k, dtype=np.int64)])
        self.live, self.pending_start = lo + k, start + k
        self.status_counts[ACTIVE] += k
        return move

    def repack(self, below: float | None = None) -> SlotMove | None:
        """Move the active accounts to the front slots when they have become sparse.

        When the active accounts fill no more than ``below`` of the open slots ``[0, live)``,
        (default :data:`REPACK_BELOW`) every per-account array is permuted in place so that they occupy slots
        ``[0, n_active)`` in the same relative order (then the accounts that left, also in
        order); ``live`` shrinks to ``n_active``. The daily kernels then read dense memory
        instead of a few accounts per cache line. Nothing the model computes depends on
        the slots: draws are keyed by :attr:`account_id`, and the relative order of the
        active accounts (which breaks ties in the collectors' queues) is kept.

        Returns the move (new slot ``k`` holds what slot ``src[k]`` held, for ``k`` below
        ``live`` before the move), so the owner of other per-account arrays (the rule memory)
        can apply it too; ``None`` when nothing moved.
        """
        m = len(self.active_idx)
        if m > (REPACK_BELOW if below is None else below) * self.live:
            return None
        if m == 0 or self.active_idx[-1] == m - 1:  # already at the front
            self.live = m
            return None
        closed = np.flatnonzero(~self.is_active[: self.live])
        move = SlotMove(np.concatenate([self.active_idx, closed]), slice(0, self.live))
        self._move(move)
        self.active_idx = np.arange(m, dtype=np.int64)
        self.live = m
        return move

    def restore_account_order(self) -> SlotMove | None:
        """Put every account back into the slot of its number (slot ``k`` = account ``k``).

        The model calls this at the end of the horizon (every account has entered by then)
        and of the run-off, so results and per-account arrays read in account order. Returns the move applied (see :meth:`repack`), or ``None``
        when the slots were already in account order.
        """
        in_order = np.array_equal(self.account_id, np.arange(self.n))
        if not in_order:
            src = np.empty(self.n, dtype=np.int64)
            src[self.account_id] = np.arange(self.n, dtype=np.int64)
            move = SlotMove(src, slice(0, self.n))
            self._move(move)
        self.active_idx = np.flatnonzero(self.is_active).astype(np.int64)
        self.live = self.pending_start = self.n  # (called when every account has entered)
        return None if in_order else move

    def _move(self, move: SlotMove) -> None:
        """Apply ``move`` to every per-account array, in place (the kernels' views stay valid)."""
        for name in PER_ACCOUNT:
            move.apply(getattr(self, name))

    def discount_factor(self, day: int) -> float:
        """e^{−ρ(day+1)/365}: the present value at day 0 of one unit paid at the end of ``day``."""
        return math.exp(-self.rho * (day + 1) * DT)

    def _money_day(self, day: int) -> tuple[float, np.uint64]:
        """Discount factor of a payment made on ``day`` and the churn stream's offset."""
        return self.discount_factor(day), self.streams.base("churn", day)

    def _flush(self) -> None:
        """Move the kernels' ledger into the Tally and the status counts."""
        g, t = self._ledger, self.tally
        t.today["collected"] += float(g[L_COLLECTED])
        t.ptp_due += int(g[L_PTP_DUE])
        t.ptp_kept += int(g[L_PTP_KEPT])
        t.ptp_made += int(g[L_PTP_MADE])
        t.today["ptps"] += float(g[L_PTP_MADE])
        t.plans_offered += int(g[L_PLANS_OFFERED])
        t.plans_accepted += int(g[L_PLANS_ACCEPTED])
        t.plans_broken += int(g[L_PLANS_BROKEN])
        t.settlements_offered += int(g[L_SETTLE_OFFERED])
        t.settlements_accepted += int(g[L_SETTLE_ACCEPTED])
        t.conversations += int(g[L_CONVERSATIONS])
        self.churned_count += int(g[L_CHURNED])
        self.status_counts += g[L_STATUS:].astype(np.int64)
        g[:] = 0.0

    # ------------------------------------------------------------------ behaviour steps ----
    def age(self, day: int) -> None:
        """Regimes move, DPD ages (not while in a plan), instalments fall due, irritation decays."""
        p = self.p_day
        sh = self.shock
        if sh is not None and day >= sh.start_day and (sh.duration_days == 0 or day < sh.start_day + sh.duration_days):
            p = self.p_day_shock
        move = not np.allclose(p, np.eye(3))
        _age(self.acct, self.active_idx, np.cumsum(p, axis=1), move, self.streams.base("regime", day),
             self.product == "recovery", np.float32(self.irritation_decay))

    def observe(self, day: int) -> Observation:
        """The observable state, as read-only views (never the latent traits)."""

        def ro(a: np.ndarray) -> np.ndarray:
            v = a.view()
            v.flags.writeable = False
            return v

        return Observation(
            day=day,
            n=self.n,
            active=ro(self.is_active),
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
            account_id=ro(self.account_id),
            active_index=ro(self.active_idx),
            entry_day=ro(self.entry_day),
        )

    def draw_outcomes(
        self, day: int, account: np.ndarray, channel: np.ndarray, hour: np.ndarray, seq: np.ndarray,
        ch: ChannelTable, ok: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whether each contact (where ``ok``) would be connected, would reach the debtor (a
        right-party contact), and would make them opt out of its channel (see
        :func:`_draw_outcomes`). Drawn before execution, so the rules can stop later contacts
        after a conversation, an opt-out or a used-up connect cap the same day."""
        ok = np.ones(len(account), dtype=bool) if ok is None else ok
        s = self.streams
        return _draw_outcomes(self.acct, account, channel, hour, seq, ok, ch.connect, ch.connect_by_hour,
                              ch.right_party, ch.optout_prob, float(self.beh.answer_fatigue),
                              float(self.beh.optout_irritation), s.base("connect", day), s.base("right_party", day),
                              s.base("optout", day))

    def absorb_contacts(
        self, day: int, account: np.ndarray, channel: np.ndarray, hour: np.ndarray, connected: np.ndarray,
        reached: np.ndarray,
        optout: np.ndarray, seq: np.ndarray, skill: np.ndarray, ch: ChannelTable, team_cost: np.ndarray,
        made: np.ndarray,
    ) -> np.ndarray:
        """Effects of the day's executed contacts (sorted by account, then hour); returns the
        complaint flag of each contact (see :func:`_absorb_contacts`). ``team_cost``: the
        collector team's cost of each contact (cents), booked to the account team by team
        (``ch.team_of``: channel → team index). ``made``: which entries were executed (the
        others are skipped and get no complaint)."""
        b = self.beh
        return _absorb_contacts(
            self.acct, self.par, day, account, channel, hour, connected, reached, optout, seq, skill, team_cost,
            ch.team_of,
            made, int(ch.team_of.max()) + 1, self.discount_factor(day),
            ch.effect, ch.irritation.astype(np.float32), ch.complaint_weight, ch.cost_cents,
            float(b.complaint_base * b.complaint_sensitivity), np.float32(b.complaint_irritation),
            float(b.complaint_out_of_hours), float(b.complaint_after_optout), self.streams.base("complaint", day),
        )

    def apply_effort(self, day: int, account: np.ndarray, units: np.ndarray, cost_cents_per_unit: float) -> None:
        """Direct effort (:class:`~collectsim.policies.base.Effort`, validated): each unit raises
        λ by the account's segment ``δ2`` and costs ``cost_cents_per_unit``, booked to the
        account (and its discounted cost, at the end of the day) and to the day's cost; accounts
        no longer in collections are skipped (see :func:`_apply_effort`)."""
        if len(account) == 0:
            return
        spent, cost = _apply_effort(self.acct, self.par, account, units, float(cost_cents_per_unit),
                                    self.discount_factor(day))
        t = self.tally
        t.effort_units += spent
        t.effort_cost_cents += cost
        t.today["cost"] += cost

    def converse(
        self, day: int, account: np.ndarray, offer: np.ndarray, discount: np.ndarray, plan_months: np.ndarray,
        skill: np.ndarray,
    ) -> np.ndarray:
        """Right-party conversations (unique accounts) and their offers; returns outcome codes.

        Outcome codes (:data:`~collectsim.vocabulary.accounts.OUTCOMES`): a conversation
        (``rpc``), a promise to pay, a plan accepted, settled (see :func:`_converse`). A
        settlement pays the rest of the balance at once.
        """
        disc, churn = self._money_day(day)
        out, settled, pay = _converse(self.acct, self.par, day, account, offer, discount, plan_months, skill,
                                      self.streams.base("response", day, "offer"),
                                      self.streams.base("response", day, "promise_day"),
                                      self._ledger)
        _pay_all(self.acct, self.par, settled, pay, day, disc, churn, self._ledger, SETTLED)
        self._flush()
        return out

    def keep_promises(self, day: int) -> None:
        """Promises due today: kept with p = ptp_keep · a · (0.5 + 0.5·w), else broken."""
        disc, churn = self._money_day(day)
        acc, amount = _keep_promises(self.acct, self.par, self.active_idx, day, self.streams.base("keep", day, "promise"),
                                     self._ledger)
        _pay_all(self.acct, self.par, acc, amount, day, disc, churn, self._ledger, PAID)
        self._flush()

    def pay_plans(self, day: int) -> None:
        """Plan instalments due today: paid with p = plan_keep · √a; a miss breaks the plan;
        after ``reage_after_payments`` paid instalments the account is re-aged (cured)."""
        disc, churn = self._money_day(day)
        acc, amount = _pay_plans(self.acct, self.par, self.active_idx, day, self.streams.base("keep", day, "plan"),
                                 self._ledger)
        _pay_all(self.acct, self.par, acc, amount, day, disc, churn, self._ledger, PAID)
        _reage(self.acct, self.par, acc, day, churn, self._ledger)
        self._flush()

    def repay(self, day: int) -> None:
        """Self-exciting repayments for active accounts not in a plan (see :func:`_repay`)."""
        disc, churn = self._money_day(day)
        s = self.streams
        acc, amount = _repay(self.acct, self.par, self.active_idx, s.base("repay_event", day),
                             s.base("full_payment", day), s.base("repay_fraction", day))
        _pay_all(self.acct, self.par, acc, amount, day, disc, churn, self._ledger, PAID)
        self._flush()

    def bankrupt(self, day: int) -> None:
        """Bankruptcy notices: an active account is charged off with the daily probability
        1 − e^{−h/365} of its regime's hazard h, whatever its DPD (docs/model.md §3.4)."""
        if self.chargeoff_dpd <= 0 or not self.bankruptcy_by_regime.any():
            return
        _bankrupt(self.acct, self.par, self.active_idx, day, self.streams.base("bankruptcy", day), self._ledger)
        self._flush()

    def charge_off(self, day: int) -> None:
        """Active accounts at or past the charge-off DPD are charged off (balance written off).

        The same pass closes the day's books: the accounts that left collections today
        leave the active index, and :attr:`bucket_counts` counts the rest by DPD bucket.
        """
        self.active_idx, self.bucket_counts = _charge_off(self.acct, self.par, self.active_idx, day,
                                                          self.chargeoff_dpd > 0, self._ledger)
        self._flush()

    def receive_payments(self, day: int) -> None:
        """The day's payments: :meth:`keep_promises`, :meth:`pay_plans`, then :meth:`repay`
        (each account sees them in this order)."""
        self.keep_promises(day)
        self.pay_plans(day)
        self.repay(day)


# ====================================================================== kernels ==========
# Each kernel works on one account (or one contact) at a time; `A` are the account arrays
# (:class:`Accounts`), `P` the parameters (:class:`Params`), `g` the ledger.


@njit
def _resolve_all(A, P, accounts, status, day, churn_base, g):
    """Accounts ``accounts[k]`` leave collections with ``status[k]``.

    A pending promise counts as due, and as kept unless the account is charged off. A
    resolved good customer (cured, paid, settled) churns with
    p = churn_base + churn_irr · (1 − e^{−peak irritation / scale}).
    """
    for k in range(len(accounts)):
        i, st = accounts[k], status[k]
        A.status[i] = st
        A.is_active[i] = False
        A.resolved_day[i] = day
        g[L_STATUS + ACTIVE] -= 1.0
        g[L_STATUS + st] += 1.0
        if A.promise_due_day[i] >= 0:
            g[L_PTP_DUE] += 1.0
            if st != CHARGED_OFF:
                g[L_PTP_KEPT] += 1.0
            A.promise_due_day[i] = -1
        A.in_plan[i] = False
        if st == CURED:
            A.arrears[i] = 0
            A.dpd[i] = 0
        if st != CHARGED_OFF:
            s = A.segment[i]
            p = P.churn_base[s] + P.churn_irr[s] * -math.expm1(-np.float64(A.peak_irritation[i]) / P.churn_scale)
            if uniform_at(churn_base, A.account_id[i]) < p:
                A.churned[i] = True
                g[L_CHURNED] += 1.0


@njit
def _pay_all(A, P, accounts, amounts, day, disc, churn_base, g, paid_status):
    """Payments of ``amounts[k]`` cents by ``accounts[k]`` (each account at most once).

    B ← B − p, A ← max(A − p, 0); B = 0 → paid (``paid_status``: paid, or settled for a
    settlement); else A = 0 → cured; else DPD rolls back to the oldest unpaid instalment:
    d ← min(d, ((d − 1) mod 30) + 1 + 30(⌈A/m⌉ − 1)).
    """
    leave = np.empty(len(accounts), dtype=np.int64)
    why = np.empty(len(accounts), dtype=np.int8)
    n = 0
    for k in range(len(accounts)):
        i = accounts[k]
        amount = min(amounts[k], A.balance[i])
        A.balance[i] -= amount
        A.arrears[i] = max(A.arrears[i] - amount, 0)
        A.collected[i] += amount
        A.last_payment_day[i] = day
        g[L_COLLECTED] += amount
        A.discounted[i] += amount * disc
        if A.balance[i] == 0:
            leave[n], why[n] = i, paid_status
            n += 1
        elif not P.recovery:
            if A.arrears[i] == 0:
                leave[n], why[n] = i, CURED
                n += 1
            else:
                unpaid = (A.arrears[i] + A.instalment[i] - 1) // A.instalment[i]
                within = (np.int64(A.dpd[i]) - 1) % 30 + 1
                A.dpd[i] = min(np.int64(A.dpd[i]), within + 30 * (unpaid - 1))
    _resolve_all(A, P, leave[:n], why[:n], day, churn_base, g)


@njit
def _age(A, idx, cum, move, base, recovery, decay):
    """Regime step (u against the cumulative daily matrix), DPD + 1 unless in a plan, an
    instalment due every 30 DPD (A ← min(B, A + m)), irritation × 2^(−1/half-life)."""
    for i in idx:
        if move:
            u = uniform_at(base, A.account_id[i])
            r = A.regime[i]
            A.regime[i] = (u >= cum[r, 0]) + (u >= cum[r, 1])
        if not A.in_plan[i]:
            d = A.dpd[i] + 1
            A.dpd[i] = d
            if not recovery and d % 30 == 1:
                A.arrears[i] = min(A.arrears[i] + A.instalment[i], A.balance[i])
        if A.irritation[i] != 0:  # (most accounts have none: no write)
            A.irritation[i] *= decay


@njit
def _bucket_counts(dpd, idx):
    out = np.zeros(6, dtype=np.int64)
    for i in idx:
        out[bucket_of(dpd[i])] += 1
    return out


@njit
def _draw_outcomes(A, account, channel, hour, seq, ok, connect, connect_by_hour, right_party, optout_prob, fatigue,
                   k_optout, base_connect, base_right_party, base_optout):
    """P(connect) = min(1, connect_c · hour_c[h] · reachability_i);
    P(right party | connected) = min(1, right_party_c · exp(−answer_fatigue · I_i));
    a right-party contact on a channel with an opt-out opts out with p = optout_c · exp(k_O · I_i)
    (I_i: irritation as the day's contacts begin)."""
    connected = np.zeros(len(account), dtype=np.bool_)
    reached = np.zeros(len(account), dtype=np.bool_)
    optout = np.zeros(len(account), dtype=np.bool_)
    for j in range(len(account)):
        if not ok[j]:
            continue
        i, c = account[j], channel[j]
        slot = request_counter(A.account_id[i], seq[j])  # the draw's counter: account number, request
        p = connect[c] * connect_by_hour[c, hour[j]] * np.float64(A.reachability[i])
        if uniform_at(base_connect, slot) >= min(p, 1.0):
            continue
        connected[j] = True
        irr = np.float64(A.irritation[i])
        if uniform_at(base_right_party, slot) < min(right_party[c] * math.exp(-fatigue * irr), 1.0):
            reached[j] = True
            if optout_prob[c] > 0:
                optout[j] = uniform_at(base_optout, slot) < optout_prob[c] * math.exp(k_optout * irr)
    return connected, reached, optout


@njit
def _absorb_contacts(A, P, day, account, channel, hour, connected, reached, optout, seq, skill, team_cost, team_of,
                     made, n_teams, disc, effect, irritation, weight, cost, complaint_scale, k_irr, out_of_hours,
                     after_optout, base):
    """Executed contacts (``made``), account by account (sorted by account, then hour).

    complaint: p = base · s · w_c · (1 + k_I · I) · (ooh if h ∉ [8, 21)) · (opt if opted out),
    with I and the opt-outs as the account's day began; then each contact adds its
    channel's irritation, cost and (right-party contacts) effort
    λ += δ2 · effect_c · w · skill · a(g) · 2^{−(d−1)/h} · (1 − I/I_b) (h: the effect's half-life in
    days past due, behaviour.effect_half_life_dpd, 0: no fading; I_b: the backlash irritation, past which a contact lowers the
    intensity; λ stays ≥ 0), and opts out of its channel if drawn so. The collector teams' cost comes first, team by team; the
    day's cost booked to the account also enters its discounted cost (× ``disc``).
    """
    m = len(account)
    complaint = np.zeros(m, dtype=np.bool_)
    j = 0
    while j < m:
        i = account[j]
        end = j  # the account's run of requests: [j, end)
        any_made = False
        while end < m and account[end] == i:
            any_made |= made[end]
            end += 1
        if not any_made:
            j = end
            continue
        irr0 = A.irritation[i]  # float32, as the day's contacts begin
        opted0 = A.opted_out[i]
        scale0 = np.float64(np.float32(1.0) + k_irr * irr0)
        w = np.float64(A.willingness[i])
        response = 1.0 - np.float64(irr0) / P.backlash  # how a right-party contact lands today
        ability = P.ability[A.regime[i]]  # effort brings a payment sooner only as far as the debtor can pay
        if P.effect_fade != 0.0:  # and works less the longer the account is in arrears
            ability *= math.exp(P.effect_fade * (np.float64(A.dpd[i]) - 1.0))
        tier = A.tier[i]
        aid = A.account_id[i]  # draw counters: account number, request
        irr, cost_i, lam, opted = irr0, A.cost_cents[i], A.lam[i], opted0
        day_cost = 0.0
        for team in range(n_teams):  # the teams' minutes, in team order
            for k in range(j, end):
                if made[k] and team_of[channel[k]] == team:
                    cost_i += team_cost[k]
                    day_cost += team_cost[k]
        for k in range(j, end):
            if not made[k]:
                continue
            c = channel[k]
            p = complaint_scale * weight[c] * scale0
            if hour[k] < 8 or hour[k] >= 21:
                p *= out_of_hours
            if (opted0 >> c) & 1:
                p *= after_optout
            if uniform_at(base, request_counter(aid, seq[k])) < p:
                complaint[k] = True
                A.complaints[i] += 1
            if optout[k]:
                opted |= np.uint8(1 << c)
            irr += irritation[c]
            cost_i += cost[c]
            day_cost += cost[c]
            A.tier_contacts[tier, c] += 1
            A.tier_connected[tier, c] += connected[k]
            if reached[k]:
                A.tier_reached[tier, c] += 1
                effort = effect[c] * w * skill[k] * response * ability
                if effort != 0:
                    lam = max(lam + P.d2[A.segment[i]] * effort, 0.0)
        A.irritation[i] = irr
        A.cost_cents[i] = cost_i
        A.discounted_cost[i] += day_cost * disc
        A.lam[i] = lam
        A.opted_out[i] = opted
        A.peak_irritation[i] = max(A.peak_irritation[i], irr)
        A.last_contact_day[i] = day
        j = end
    return complaint


@njit
def _apply_effort(A, P, account, units, cost_per_unit, disc):
    """Direct effort: λ ← max(λ + δ2·u, 0) for each active account, cost u·c booked to the
    account (× ``disc`` into its discounted cost). Returns the units applied and their cost (cents)."""
    spent = 0.0
    total = 0.0
    for k in range(len(account)):
        i = account[k]
        u = units[k]
        if u == 0.0 or not A.is_active[i]:
            continue
        A.lam[i] = max(A.lam[i] + P.d2[A.segment[i]] * u, 0.0)
        cost = u * cost_per_unit
        A.cost_cents[i] += cost
        A.discounted_cost[i] += cost * disc
        spent += u
        total += cost
    return spent, total


@njit
def _converse(A, P, day, account, offer, discount, plan_months, skill, base, base2, g):
    """Right-party conversations and the offer each carries (accounts unique).

    No offer is taken while a promise or a plan runs (a = min(ability, 1), w = willingness):
    settlement P = min(1, settle_accept · a · d/(d + d½) · skill): pay (1 − d)B, forgive dB;
    plan P = min(1, plan_accept · w · √a · skill · f): k instalments of m' = ⌈B/k⌉, first in 7
    days, with affordability f = min(1, m/m')^γ (m: the account's usual instalment);
    promise P = min(1, ptp_accept · w · skill): the arrears, due in 1..ptp_days_max days.
    Returns the outcome codes and the settlements' accounts and payments (paid by the caller).
    """
    out = np.full(len(account), OUTCOME_RPC, dtype=np.int8)
    settled = np.empty(len(account), dtype=np.int64)
    pays = np.empty(len(account), dtype=np.int64)
    n = 0
    for j in range(len(account)):
        i = account[j]
        A.last_rpc_day[i] = day
        g[L_CONVERSATIONS] += 1.0
        w = np.float64(A.willingness[i])
        a = min(P.ability[A.regime[i]], 1.0)
        u = uniform_at(base, A.account_id[i])
        if A.promise_due_day[i] >= 0 or A.in_plan[i]:
            continue
        o = offer[j]
        if o == SETTLEMENT:
            g[L_SETTLE_OFFERED] += 1.0
            d = np.float64(discount[j])
            if u < min(1.0, P.settle_accept * a * d / (d + P.settle_half) * skill[j]):
                pay = np.int64(np.rint(A.balance[i] * (1.0 - d)))
                forgiven = A.balance[i] - pay
                g[L_SETTLE_ACCEPTED] += 1.0
                A.discount[i] += forgiven
                A.balance[i] -= forgiven
                A.arrears[i] = min(A.arrears[i], A.balance[i])
                settled[n], pays[n] = i, pay  # the balance reaches 0: settled
                n += 1
                out[j] = OUTCOME_SETTLED
        elif o == INSTALMENT:
            g[L_PLANS_OFFERED] += 1.0
            k = max(np.int64(plan_months[j]), 1)
            amount = (A.balance[i] + k - 1) // k
            f = _affordability(A.instalment[i], amount, P.plan_affordability)
            if u < min(1.0, P.plan_accept * w * math.sqrt(a) * skill[j] * f):
                A.in_plan[i] = True
                A.plan_amount[i] = amount
                A.plan_next_day[i] = day + 7
                A.plan_paid[i] = 0
                g[L_PLANS_ACCEPTED] += 1.0
                out[j] = OUTCOME_PLAN
        elif o == PTP:
            if u < min(1.0, P.ptp_accept * w * skill[j]):
                A.promise_due_day[i] = day + 1 + np.int64(uniform_at(base2, A.account_id[i]) * P.ptp_days_max)
                A.promise_amount[i] = max(A.arrears[i], 1)
                g[L_PTP_MADE] += 1.0
                out[j] = OUTCOME_PROMISE
    return out, settled[:n], pays[:n]


@njit
def _keep_promises(A, P, idx, day, base, g):
    """A promise due today is kept with p = ptp_keep · a · (0.5 + 0.5·w) (a = min(ability, 1),
    w = willingness), else broken (broken_promises + 1, observable). Returns the payments."""
    acc = np.empty(len(idx), dtype=np.int64)
    amount = np.empty(len(idx), dtype=np.int64)
    n = 0
    for i in idx:
        if A.promise_due_day[i] != day or A.status[i] != ACTIVE:
            continue
        a = min(P.ability[A.regime[i]], 1.0)
        p = P.ptp_keep * a * np.float64(np.float32(0.5) + np.float32(0.5) * A.willingness[i])
        g[L_PTP_DUE] += 1.0
        A.promise_due_day[i] = -1
        if uniform_at(base, A.account_id[i]) < p:
            g[L_PTP_KEPT] += 1.0
            acc[n], amount[n] = i, A.promise_amount[i]
            n += 1
        else:
            A.broken_promises[i] = min(A.broken_promises[i] + 1, 127)
    return acc[:n], amount[:n]


@njit
def _affordability(instalment, plan_amount, gamma):
    """min(1, m/m')^γ: how affordable a plan instalment m' is against the usual instalment m."""
    return min(1.0, np.float64(instalment) / np.float64(max(plan_amount, 1))) ** gamma


@njit
def _pay_plans(A, P, idx, day, base, g):
    """A plan instalment due today is paid with p = plan_keep · √min(ability, 1) · f (f: the
    plan's affordability, see :func:`_affordability`), then due again in 30 days; a miss
    breaks the plan. Returns the payments."""
    acc = np.empty(len(idx), dtype=np.int64)
    amount = np.empty(len(idx), dtype=np.int64)
    n = 0
    for i in idx:
        if not A.in_plan[i] or A.plan_next_day[i] != day or A.status[i] != ACTIVE:
            continue
        a = min(P.ability[A.regime[i]], 1.0)
        f = _affordability(A.instalment[i], A.plan_amount[i], P.plan_affordability)
        if uniform_at(base, A.account_id[i]) >= P.plan_keep * math.sqrt(a) * f:
            A.in_plan[i] = False
            g[L_PLANS_BROKEN] += 1.0
            continue
        A.plan_paid[i] += 1
        A.plan_next_day[i] += 30
        acc[n], amount[n] = i, A.plan_amount[i]
        n += 1
    return acc[:n], amount[:n]


@njit
def _reage(A, P, accounts, day, churn_base, g):
    """Plan payers still active after ``reage_after`` paid instalments are re-aged: cured."""
    cured = np.empty(len(accounts), dtype=np.int64)
    n = 0
    for i in accounts:
        if A.status[i] == ACTIVE and A.plan_paid[i] >= P.reage_after:
            cured[n] = i
            n += 1
    _resolve_all(A, P, cured[:n], np.full(n, CURED, dtype=np.int8), day, churn_base, g)


@njit
def _repay(A, P, idx, base_event, base_full, base_fraction):
    """The self-exciting repayment process (Chehrazi, Glynn & Weber 2019), one day.

    Λ = λ∞ₐ·dt + (λ − λ∞ₐ)(1 − e^{−κ dt})/κ with λ∞ₐ = λ∞·ability; a repayment happens
    with probability 1 − e^{−Λ}; it pays everything due with probability p_full (R = 1),
    else a fraction R ~ U[r_min, r_max] of it (rounded to cents, at least 1); then
    λ ← λ∞ₐ + (λ − λ∞ₐ)e^{−κ dt} + δ10 + δ11·R. Accounts in a plan pay through the plan.
    Returns the payments.
    """
    acc = np.empty(len(idx), dtype=np.int64)
    amount = np.empty(len(idx), dtype=np.int64)
    n = 0
    for i in idx:
        if A.status[i] != ACTIVE or A.in_plan[i]:
            continue
        s = A.segment[i]
        kappa, decay = P.kappa[s], P.decay[s]
        lam_inf = A.lam_inf[i] * P.ability[A.regime[i]]
        lam = A.lam[i]
        big_lambda = lam_inf * DT + (lam - lam_inf) * (1.0 - decay) / kappa
        new_lam = lam_inf + (lam - lam_inf) * decay
        u = uniform_at(base_event, A.account_id[i])
        # 1 − e^{−Λ} <= Λ (also in floating point): most days need no exponential
        if u < big_lambda and u < -math.expm1(-big_lambda):
            if uniform_at(base_full, A.account_id[i]) < P.pfull[s]:
                r = 1.0
            else:
                r = P.rmin[s] + (P.rmax[s] - P.rmin[s]) * uniform_at(base_fraction, A.account_id[i])
            new_lam += P.d10[s] + P.d11[s] * r
            acc[n], amount[n] = i, max(np.int64(np.rint(r * A.arrears[i])), 1)
            n += 1
        A.lam[i] = new_lam
    return acc[:n], amount[:n]


@njit
def _charge_off(A, P, idx, day, charge, g):
    """An active account at or past the charge-off DPD: its balance is written off.

    Returns the accounts still active (the new active index: ``idx`` compacted in place,
    as a view of its first entries) and their counts by bucket.
    """
    out = np.empty(len(idx), dtype=np.int64)
    buckets = np.zeros(6, dtype=np.int64)
    n = m = 0
    for j in range(len(idx)):
        i = idx[j]
        if A.status[i] != ACTIVE:
            continue
        if charge and A.dpd[i] >= P.chargeoff_dpd:
            A.charged_off[i] += A.balance[i]
            A.balance[i] = 0
            A.arrears[i] = 0
            out[n] = i
            n += 1
        else:
            idx[m] = i  # m <= j: nothing unread is overwritten
            m += 1
            buckets[bucket_of(A.dpd[i])] += 1
    _resolve_all(A, P, out[:n], np.full(n, CHARGED_OFF, dtype=np.int8), day, np.uint64(0), g)
    return idx[:m], buckets


@njit
def _bankrupt(A, P, idx, day, base, g):
    """A bankruptcy notice: with probability ``P.bankruptcy[regime]`` an active account's
    balance is written off today (charged off outside the buckets)."""
    out = np.empty(len(idx), dtype=np.int64)
    n = 0
    for i in idx:
        if A.status[i] != ACTIVE:
            continue
        p = P.bankruptcy[A.regime[i]]
        if p > 0.0 and uniform_at(base, A.account_id[i]) < p:
            A.charged_off[i] += A.balance[i]
            A.balance[i] = 0
            A.arrears[i] = 0
            out[n] = i
            n += 1
    _resolve_all(A, P, out[:n], np.full(n, CHARGED_OFF, dtype=np.int8), day, np.uint64(0), g)
