"""The repayment intensity by maximum simulated likelihood, in the manner of Chehrazi & Weber.

Chehrazi & Weber ("Dynamic valuation of delinquent credit-card accounts", Management
Science 61(12), 2015) fit a self-exciting point process of repayments, with collection
actions as impulses, to account-level data by maximum likelihood. The engine's repayment
process is theirs (docs/model.md §4.1): on a day in collections, outside a plan, an
account repays with probability ``1 − e^{−Λ}``,

    Λ = λ∞ₐ·dt + (λ − λ∞ₐ)(1 − e^{−κ dt})/κ,   λ∞ₐ = λ∞ · a(g),

and after the day λ relaxes toward λ∞ₐ, jumps by ``δ10 + δ11·R`` after a repayment of a
fraction R of the arrears, and by ``δ2 · e`` after a right-party contact of effort
``e = effect_c · w · skill · (1 − I/I_b) · a(g) · 2^{−(d−1)/h}`` (docs/model.md §5). Given
an account's latent traits — its segment, its λ∞ (lognormal about the segment's), its
willingness ``w``, its ability regime path ``g`` and each contact's collector skill — the
intensity path is a deterministic function of the history's own payments and contacts, so
the likelihood of its days is a product of Bernoulli terms. The traits are not in a
history, so each account's likelihood integrates them out:

- the segment and the regime at entry exactly (a sum with the base's shares);
- λ∞'s lognormal on a fixed grid in z (:data:`Z_NODES` points on [−6, 6], trapezoid
  weights: the survivors' tilt below makes the integrand steep at low z, where a
  Gauss–Hermite rule has no nodes);
- ``w`` by a :data:`W_NODES`-point Gauss–Jacobi rule of the segment's beta law (quantile
  nodes, which shrink its spread, put the impulse 11 % low and the level 15 % high with
  two of them on a subprime book);
- the regime's daily moves and the collectors' skills by Monte Carlo, one path per node
  (counter-based draws, the same at every trial value: the likelihood is smooth in the
  parameters).

What the department saw of the traits is conditioned on, since its contacts depend on it
(the selection is ignorable only given what it saw): the **entry score**,
``logit s = logit π + N(0, noise_sd²)`` with ``π = 1 − e^{−(30/365)·λ∞·a(g)·(0.5 + w)}``
(docs/model.md §2; a tier without a score: the probability of its cut-offs' interval) —
leaving it out biased the relaxation to half its truth and the impulse 6 % low, because
the riskiest tier, contacted most, is mostly the slow payers — and the **entry DPD**: an
opening stock found at DPD d is the accounts that did not pay for d − 1 days
(``portfolio.entry_selection = "survivors"``), its traits' prior tilted by
``exp(−λ∞·a(g)·p_full·(d − 1)/365)``. A promise's due day is uniform on the
``ptp_days_max`` days after it (or the history's ``promise_day``), kept with
``ptp_keep · min(a, 1) · (0.5 + 0.5 w)``: a payment clearing the arrears inside its window
is a repayment or the kept promise (a mixture), a window without one multiplies by the
probability it was broken. A repayment's amount contributes the segment's
``p_full_payment`` (R = 1) or the density of R ~ U[r_min, r_max]; a day active at close
the survival of a bankruptcy notice (its regime's hazard), a charge-off before the
charge-off DPD the notice's probability.

Fitted: common scales of the segments' ``lambda_inf_per_year`` (the level), ``delta2`` (the
contacts' impulse), ``delta10`` and ``delta11`` together (the self-excitation),
``kappa_per_year`` (the relaxation) and the regimes' ``bankruptcy_per_year`` (a zero
hazard stays zero); their ratios across segments and every other parameter are held at
the base's (conditional, as every fit of ``collectsim calibrate``), among them the
conversations' outcomes, which are conditioned on as they happened.
``scipy.optimize.minimize`` (L-BFGS-B) on the log scales with the analytic gradient
(forward-mode derivatives carried along each node's path); the covariance is the sandwich
H⁻¹ B H⁻¹ (H the Hessian, central differences of the gradient; B the outer product of the
accounts' scores), and the impulse's variance adds that of the teams' realised mean skill
(a history does not say which collector made a contact: a team of n collectors has a mean
skill of sd ``skill_sd/√n`` about its law's, which multiplies every impulse it gives).
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from collectsim.experiments.calibrate.likelihood import _Z, Estimate
from collectsim.experiments.calibrate.moments import _HAZARD_MAX
from collectsim.experiments.calibrate.state import (
    DAY_BANKRUPT,
    DAY_CLOSE,
    DAY_HAZARD,
    DAY_PAID,
    codes_of,
)
from collectsim.history.schema import CONTACT_OUTCOMES
from collectsim.kernels import njit
from collectsim.streams import uniform_at
from collectsim.vocabulary.channels import CHANNELS
from collectsim.vocabulary.units import DT

__all__ = ["INTENSITY_PARAMETERS", "INTENSITY_ACCOUNTS", "Z_NODES", "W_NODES", "IntensityData", "intensity_data",
           "loglik_accounts", "fit_intensity"]

#: The scales fitted, each with the segment fields it multiplies.
INTENSITY_PARAMETERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("level", ("lambda_inf_per_year",)),
    ("contact", ("delta2",)),
    ("excitation", ("delta10", "delta11")),
    ("relaxation", ("kappa_per_year",)),
    ("bankruptcy", ()),  # a common scale of regimes.bankruptcy_per_year (a zero hazard stays zero)
)
#: The largest sample of accounts the likelihood runs on (a larger history is sampled, seeded).
INTENSITY_ACCOUNTS = 10_000
#: Grid points in z for λ∞'s lognormal, and Gauss–Jacobi nodes for the willingness's beta law.
Z_NODES = 25
W_NODES = 5
_Z_RANGE = 6.0
_SCALE_BOUNDS = (1 / 20, 20.0)
_PROMISE = CONTACT_OUTCOMES.index("promise")
_RPC = CONTACT_OUTCOMES.index("rpc")
_METHOD = ("maximum simulated likelihood of the repayment days (the self-exciting intensity with right-party "
           "contacts as impulses, Chehrazi & Weber 2015): segments and entry regimes summed, lambda's lognormal on a "
           "grid, willingness at beta quantiles, regime moves and collector skills simulated with fixed draws, the "
           "opening stock's survivor tilt; one common scale per parameter across segments; sandwich covariance; "
           "conditional on every other parameter")


class IntensityData:
    """What the likelihood reads of a history (accounts in the sample, in account order):
    per account its window of days, flags and repayment fractions (from the replay), its
    entry DPD, its right-party contacts (day, channel, irritation and DPD factors) and its
    promises (made on, due window)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _csr(owner: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(owner, np.arange(n + 1), side="left").astype(np.int64)


def intensity_data(h, scenario, *, accounts: int = INTENSITY_ACCOUNTS, seed: int = 0) -> IntensityData:
    """The likelihood's input from history ``h`` under ``scenario`` (the base's irritation,
    backlash, effect half-life and promise length): a seeded sample of at most ``accounts``
    accounts, replayed with :func:`~collectsim.experiments.calibrate.state.replay`'s day table."""
    from collectsim.experiments.calibrate.likelihood import day_start_state  # lazy: start-up time
    from collectsim.experiments.calibrate.state import replay  # lazy: start-up time
    from collectsim.history.read import History  # lazy: start-up time

    acc_all = h.accounts["account"].to_numpy(np.int64)
    if len(acc_all) > accounts:
        keep = np.sort(np.random.default_rng(seed).choice(acc_all, size=int(accounts), replace=False))
        sub = lambda t: t[t["account"].isin(keep)].reset_index(drop=True)  # noqa: E731
        h = History(accounts=sub(h.accounts), payments=sub(h.payments), contacts=sub(h.contacts),
                    outcomes=sub(h.outcomes), days=h.days, meta=dict(h.meta))
    b = scenario.behaviour
    rep = replay(h, reage_after=int(b.reage_after_payments), ptp_days_max=int(b.ptp_days_max), days_table=True,
                 chargeoff_dpd=scenario.portfolio.chargeoff_dpd)
    acc = rep.account
    n = len(acc)
    order = np.argsort(h.accounts["account"].to_numpy(np.int64))
    dpd0 = h.accounts["dpd"].to_numpy(np.int64)[order]
    last = np.where(rep.exit_day >= 0, rep.exit_day, h.days - 1)

    c = h.contacts
    per_channel = np.array([scenario.channels[ch].irritation for ch in CHANNELS])
    irr, _ = day_start_state(c, per_channel, b.irritation_half_life_days)
    out = codes_of(c["outcome"], CONTACT_OUTCOMES)
    chan = codes_of(c["channel"], CHANNELS)
    c_acc = np.searchsorted(acc, c["account"].to_numpy(np.int64))
    c_day = c["day"].to_numpy(np.int64)
    backlash = b.backlash_irritation or math.inf
    fade = (0.0 if not b.effect_half_life_dpd or scenario.portfolio.product == "recovery"
            else -math.log(2.0) / float(b.effect_half_life_dpd))  # (as the engine's effect_fade)
    effect = np.array([scenario.channels[ch].effect for ch in CHANNELS])
    rpc = (out >= _RPC) & (rep.contact_dpd >= 0)
    k = np.flatnonzero(rpc)
    k = k[np.lexsort((c_day[k], c_acc[k]))]
    # the contact's impulse without the latent factors: effect · response · fade
    unit = effect[chan[k]] * (1.0 - irr[k] / backlash) * np.exp(fade * (rep.contact_dpd[k] - 1.0))
    team_of = [next((t for t, team in enumerate(scenario.teams) if team.name == scenario.channels[ch].team), -1)
               for ch in CHANNELS]  # each channel's team (-1: automated, skill 1)
    skill_mean = np.array([scenario.teams[t].skill_mean if t >= 0 else 1.0 for t in team_of])
    skill_sd = np.array([scenario.teams[t].skill_sd if t >= 0 else 0.0 for t in team_of])
    # the history does not say which collector made a contact: each team's mean skill is a random effect of
    # the whole history (its collectors are a sample of its law), sd/√headcount, which the likelihood's
    # per-contact draws do not see; fit_intensity adds its variance to the impulse's
    share = np.zeros(len(scenario.teams))
    rel_var = np.zeros(len(scenario.teams))
    total = float(np.abs(unit).sum())
    for t_i, team in enumerate(scenario.teams):
        on = (np.asarray(team_of) == t_i)[chan[k]]
        share[t_i] = float(np.abs(unit[on]).sum()) / total if total > 0 else 0.0
        heads = max(int(team.resolved_headcount(scenario.portfolio.accounts)), 1)
        rel_var[t_i] = (team.skill_sd / team.skill_mean) ** 2 / heads if team.skill_mean > 0 else 0.0
    promise = np.flatnonzero((out == _PROMISE) & (rep.contact_dpd >= 0))
    promise = promise[np.lexsort((c_day[promise], c_acc[promise]))]
    if "promise_day" in c.columns:
        pd_ = c["promise_day"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)[promise]
    else:
        pd_ = np.full(len(promise), np.nan)
    kmax = int(b.ptp_days_max)
    ws = np.where(np.isfinite(pd_) & (pd_ > c_day[promise]), pd_, c_day[promise] + 1).astype(np.int64)
    we = np.where(np.isfinite(pd_) & (pd_ > c_day[promise]), pd_, c_day[promise] + kmax).astype(np.int64)
    # the score the policy saw (its tier decides the contacts): logit s = logit π(λ∞, a, w) + N(0, noise²), so it
    # says something of the latent traits and the likelihood conditions on it; a score written to 6 decimals at
    # 0 or 1 is censored there, a tier without a score is the interval of its cut-offs
    a_sorted = h.accounts.iloc[order]
    lo = np.full(n, -np.inf)
    hi = np.full(n, np.inf)
    if "score" in a_sorted.columns and a_sorted["score"].notna().any():
        sc_ = a_sorted["score"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(sc_)
        edge = 5e-7
        mid = ok & (sc_ > edge) & (sc_ < 1 - edge)
        lo[mid] = hi[mid] = np.log(sc_[mid] / (1 - sc_[mid]))
        hi[ok & (sc_ <= edge)] = math.log(edge / (1 - edge))
        lo[ok & (sc_ >= 1 - edge)] = math.log((1 - edge) / edge)
    elif "tier" in a_sorted.columns:
        cut = np.log(np.asarray(scenario.scoring.tier_cutoffs) / (1 - np.asarray(scenario.scoring.tier_cutoffs)))
        edges = np.r_[-np.inf, cut, np.inf]
        tier = rep.tier
        known = (tier >= 0) & (tier < len(edges) - 1)
        lo[known], hi[known] = edges[tier[known]], edges[tier[known] + 1]
    return IntensityData(
        score_lo=lo, score_hi=hi,
        n=n, days=int(h.days), entry=rep.entry_day.astype(np.int64), last=last.astype(np.int64), dpd0=dpd0,
        flags=rep.day_flags, r=rep.day_r, account=acc,
        c_ptr=_csr(c_acc[k], n), c_day=c_day[k], c_unit=unit.astype(np.float64), c_chan=chan[k].astype(np.int64),
        skill_mean=skill_mean, skill_sd=skill_sd, team_skill_var=float((share**2 * rel_var).sum()),
        p_ptr=_csr(c_acc[promise], n), p_day=c_day[promise], p_ws=ws, p_we=we,
        payments=int(np.count_nonzero(rep.day_flags & DAY_PAID)),
        hazard_days=int(np.count_nonzero(rep.day_flags & DAY_HAZARD)), rpcs=len(k),
        repeat_payers=int(np.count_nonzero((rep.day_flags & DAY_PAID).astype(bool).sum(axis=1) >= 2)),
    )


@njit(nogil=True)
def _kernel(lo, hi, entry, last, dpd0, flags, rr, c_ptr, c_day, c_unit, c_chan, sk_mean, sk_sd, p_ptr, p_day,
            p_ws, p_we, account, score_lo, score_hi, noise_sd, seg_share, seg_lam, seg_sigma, seg_lam0, seg_kappa, seg_d10, seg_d11, seg_d2, seg_pfull,
            seg_rmin, seg_rmax, seg_reg, w_nodes, w_wt, z, z_wt, ability, cum, hazard, ptp_keep, tilt, base, base_s1, base_s2,
            scales, out, grad):
    """Per-account simulated log-likelihood for accounts ``lo..hi`` (see the module docstring)
    into ``out``, and its gradient in the log scales (level, contact, excitation,
    relaxation, bankruptcy) into ``grad``: forward-mode derivatives carried along each node's intensity path."""
    s_lam, s_d2, s_d1, s_kap = scales[0], scales[1], scales[2], scales[3]
    bank = np.empty(3)  # the daily probability of a notice by regime, and the derivatives in log s_bankruptcy
    d_log_bank = np.empty(3)
    d_log_keep = np.empty(3)
    for g_ in range(3):
        hz = hazard[g_] * scales[4] * DT
        bank[g_] = -math.expm1(-hz)
        d_log_bank[g_] = hz * math.exp(-hz) / bank[g_] if bank[g_] > 0.0 else 0.0
        d_log_keep[g_] = -hz
    n_seg = len(seg_share)
    nz = len(z)
    nw = w_nodes.shape[1]
    n_part = n_seg * 3 * nz * nw
    logw = np.empty(n_part)  # log prior weight · tilt of each node
    logl = np.empty(n_part)  # log likelihood of the account's days at each node
    dlw = np.zeros(n_part)  # d logw / d log s_level (the tilt's)
    dll = np.zeros((n_part, 5))
    dl = np.zeros(4)  # d λ
    da = np.zeros(4)  # d λ∞ₐ
    db = np.zeros(4)  # d Λ
    for i in range(lo, hi):
        e, L = entry[i], last[i]
        aid = account[i]
        q = 0
        for s in range(n_seg):
            kap = seg_kappa[s] * s_kap
            decay = math.exp(-kap * DT)
            relax = (1.0 - decay) / kap
            d_decay = -DT * kap * decay  # d / d log s_relaxation
            d_relax = DT * decay - relax
            d10, d11, d2 = seg_d10[s] * s_d1, seg_d11[s] * s_d1, seg_d2[s] * s_d2
            dens_part = (1.0 - seg_pfull[s]) / max(seg_rmax[s] - seg_rmin[s], 1e-9)
            for g0 in range(3):
                pg = seg_reg[s, g0]
                for zi in range(nz):
                    lam_inf = seg_lam[s] * s_lam * math.exp(seg_sigma[s] * z[zi] - 0.5 * seg_sigma[s] ** 2)
                    for wi in range(nw):
                        for k4 in range(5):
                            dll[q, k4] = 0.0
                        dlw[q] = 0.0
                        if pg <= 0.0 or seg_share[s] <= 0.0:
                            logw[q] = -math.inf
                            logl[q] = 0.0
                            q += 1
                            continue
                        w = w_nodes[s, wi]
                        lw = math.log(seg_share[s] * pg * z_wt[zi] * w_wt[s, wi])
                        if tilt and dpd0[i] > 1:
                            c_t = (dpd0[i] - 1.0) * DT * lam_inf * ability[g0] * seg_pfull[s]
                            lw -= c_t
                            dlw[q] = -c_t
                        if noise_sd > 0.0 and (score_lo[i] > -math.inf or score_hi[i] < math.inf):
                            # the entry score: logit s ~ N(logit π, noise²), π = 1 − e^{−(30/365)·λ∞·a·(0.5 + w)}
                            xs = (30.0 * DT) * lam_inf * ability[g0] * (0.5 + w)
                            pi_ = -math.expm1(-xs)
                            d_ell = xs / pi_ if 1e-6 < pi_ < 1.0 - 1e-6 else 0.0  # d logit π / d log s_level
                            pi_ = min(max(pi_, 1e-6), 1.0 - 1e-6)
                            ell = math.log(pi_ / (1.0 - pi_))
                            if score_lo[i] == score_hi[i]:
                                zs = (score_lo[i] - ell) / noise_sd
                                lw -= 0.5 * zs * zs
                                dlw[q] += zs / noise_sd * d_ell
                            else:
                                za = (score_lo[i] - ell) / noise_sd
                                zb = (score_hi[i] - ell) / noise_sd
                                pa = 0.5 * math.erfc(-za / math.sqrt(2.0)) if za > -math.inf else 0.0
                                pb = 0.5 * math.erfc(-zb / math.sqrt(2.0)) if zb < math.inf else 1.0
                                fa = math.exp(-0.5 * za * za) / math.sqrt(2.0 * math.pi) if za > -math.inf else 0.0
                                fb = math.exp(-0.5 * zb * zb) / math.sqrt(2.0 * math.pi) if zb < math.inf else 0.0
                                mass = max(pb - pa, 1e-300)
                                lw += math.log(mass)
                                dlw[q] += (fa - fb) / noise_sd / mass * d_ell
                        logw[q] = lw
                        g = g0
                        for k4 in range(4):
                            dl[k4] = 0.0
                        if seg_lam0[s] >= 0.0:
                            lam = seg_lam0[s]
                        else:
                            lam = lam_inf * ability[g0]
                            dl[0] = lam
                        ll = 0.0
                        jc = c_ptr[i]
                        jp = p_ptr[i]
                        pws, pwe, pk_open = -1, -1, False
                        node = np.int64(aid) * n_part + q
                        for t in range(e, L + 1):
                            f = flags[i, t]
                            if not (f & 1):
                                continue
                            # 1 age: the regime's daily move
                            u = uniform_at(base, node * 4096 + t)
                            g = (u >= cum[g, 0]) + (u >= cum[g, 1])
                            a = ability[g]
                            # 2-6 contacts: right-party impulses
                            while jc < c_ptr[i + 1] and c_day[jc] < t:
                                jc += 1
                            while jc < c_ptr[i + 1] and c_day[jc] == t:
                                ch = c_chan[jc]
                                skill = sk_mean[ch]
                                if sk_sd[ch] > 0.0:
                                    u1 = uniform_at(base_s1, node * 65536 + (jc - c_ptr[i]))
                                    u2 = uniform_at(base_s2, node * 65536 + (jc - c_ptr[i]))
                                    zn = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
                                    skill = min(max(sk_mean[ch] + sk_sd[ch] * zn, 0.2), 3.0)
                                eff = c_unit[jc] * w * skill * a
                                if eff != 0.0:
                                    if lam + d2 * eff > 0.0:
                                        lam += d2 * eff
                                        dl[1] += d2 * eff
                                    else:
                                        lam = 0.0
                                        for k4 in range(4):
                                            dl[k4] = 0.0
                                jc += 1
                            while jp < p_ptr[i + 1] and p_day[jp] < t:  # a promise made before today opens
                                if not pk_open:
                                    pws, pwe, pk_open = p_ws[jp], p_we[jp], True
                                jp += 1
                            pk = ptp_keep * min(a, 1.0) * (0.5 + 0.5 * w)
                            # 7 payments
                            if f & DAY_HAZARD:
                                lam_a = lam_inf * a
                                gap = lam - lam_a
                                big = lam_a * DT + gap * relax
                                new = lam_a + gap * decay
                                da[0] = lam_a
                                for k4 in range(4):
                                    db[k4] = da[k4] * DT + (dl[k4] - da[k4]) * relax
                                    dl[k4] = da[k4] + (dl[k4] - da[k4]) * decay
                                db[3] += gap * d_relax
                                dl[3] += gap * d_decay
                                if f & DAY_PAID:
                                    r = rr[i, t]
                                    p = -math.expm1(-big)
                                    dp = math.exp(-big)  # × dΛ
                                    dens = seg_pfull[s] if r >= 1.0 else dens_part
                                    c_a, c_b = dens, 0.0  # like = p · c_a + (1 − p) · c_b
                                    if pk_open and r >= 1.0 and pws <= t <= pwe:
                                        k = pwe - pws + 1.0
                                        c_a = dens * (1.0 - (t - pws) / k * pk)
                                        c_b = pk / k
                                        pk_open = False
                                    like = max(p * c_a + (1.0 - p) * c_b, 1e-300)
                                    ll += math.log(like)
                                    sens = dp * (c_a - c_b) / like
                                    for k4 in range(4):
                                        dll[q, k4] += sens * db[k4]
                                    new += d10 + d11 * r
                                    dl[2] += d10 + d11 * r
                                else:
                                    ll -= big
                                    for k4 in range(4):
                                        dll[q, k4] -= db[k4]
                                lam = new
                            if pk_open and (t >= pwe or t == L):  # the window closes unkept
                                k = pwe - pws + 1.0
                                ll += math.log(max(1.0 - min(t - pws + 1.0, k) / k * pk, 1e-300))
                                pk_open = False
                            # 8 close: a bankruptcy notice
                            if f & DAY_BANKRUPT:  # (impossible in a regime without the hazard)
                                ll += math.log(max(bank[g], 1e-300))
                                dll[q, 4] += d_log_bank[g]
                            elif f & DAY_CLOSE and bank[g] > 0.0:
                                ll += math.log1p(-bank[g])
                                dll[q, 4] += d_log_keep[g]
                        logl[q] = ll
                        q += 1
        m1 = -math.inf
        m0 = -math.inf
        for j in range(n_part):
            m1 = max(m1, logw[j] + logl[j])
            m0 = max(m0, logw[j])
        s1 = 0.0
        s0 = 0.0
        g0_ = 0.0  # Σ prior weight × d logw (the denominator's derivative)
        for k4 in range(5):
            grad[i, k4] = 0.0
        for j in range(n_part):
            if logw[j] > -math.inf:
                w1 = math.exp(logw[j] + logl[j] - m1)
                w0 = math.exp(logw[j] - m0)
                s1 += w1
                s0 += w0
                for k4 in range(5):
                    grad[i, k4] += w1 * dll[j, k4]
                grad[i, 0] += w1 * dlw[j]
                g0_ += w0 * dlw[j]
        for k4 in range(5):
            grad[i, k4] /= s1
        grad[i, 0] -= g0_ / s0
        out[i] = m1 + math.log(s1) - m0 - math.log(s0)


class _Model:
    """The segments' and regimes' arrays the kernel reads, from a scenario."""

    def __init__(self, scenario, seed: int):
        from scipy.special import roots_jacobi  # lazy: start-up time

        from collectsim.agents.borrowers import daily_transition_matrix  # lazy: start-up time

        segs = scenario.segments
        f = lambda name: np.array([float(getattr(s, name)) for s in segs])  # noqa: E731
        self.share = f("share") / f("share").sum()
        self.lam, self.sigma, self.kappa = f("lambda_inf_per_year"), f("lambda_sigma"), f("kappa_per_year")
        self.lam0 = np.array([-1.0 if s.lambda0_per_year is None else float(s.lambda0_per_year) for s in segs])
        self.d10, self.d11, self.d2 = f("delta10"), f("delta11"), f("delta2")
        self.pfull, self.rmin, self.rmax = f("p_full_payment"), f("r_min"), f("r_max")
        reg = np.array([np.asarray(s.regime_shares, float) / sum(s.regime_shares) for s in segs])
        self.reg = reg
        w = np.empty((len(segs), W_NODES))
        w_wt = np.empty((len(segs), W_NODES))
        for k, s in enumerate(segs):
            if s.willingness_sd == 0:
                w[k], w_wt[k] = s.willingness_mean, 1.0 / W_NODES
            else:  # Gauss–Jacobi: exact for polynomials of degree < 2·W_NODES against the beta density
                kk = s.willingness_mean * (1 - s.willingness_mean) / s.willingness_sd**2 - 1.0
                a, b = s.willingness_mean * kk, (1 - s.willingness_mean) * kk
                x, wt = roots_jacobi(W_NODES, b - 1.0, a - 1.0)
                w[k], w_wt[k] = 0.5 * (x + 1.0), wt / wt.sum()
        self.w = w.astype(np.float32).astype(np.float64)  # the engine keeps willingness in float32
        self.w_wt = w_wt
        self.z = np.linspace(-_Z_RANGE, _Z_RANGE, Z_NODES)
        wt = np.exp(-0.5 * self.z**2)
        wt[[0, -1]] *= 0.5
        self.z_wt = wt / wt.sum()
        r = scenario.regimes
        self.ability = np.asarray(r.ability, dtype=float)
        self.cum = np.cumsum(daily_transition_matrix(r.monthly_transitions), axis=1)
        self.hazard = np.asarray(r.bankruptcy_per_year, dtype=float)  # per year; the engine's daily 1 − e^{−h dt}
        if scenario.portfolio.product == "recovery" or not scenario.portfolio.resolved_chargeoff_dpd:
            self.hazard = np.zeros(3)
        self.ptp_keep = float(scenario.behaviour.ptp_keep)
        self.noise_sd = float(scenario.scoring.noise_sd)
        self.tilt = scenario.portfolio.entry_selection == "survivors" and scenario.portfolio.product != "recovery"
        from collectsim.streams import _mix_scalar  # lazy: start-up time

        # three counter-based streams (regime moves, the skills' two uniforms), fixed by the seed
        self.base, self.base_s1, self.base_s2 = (np.uint64(_mix_scalar(0x1D7E5517 * (int(seed) + 1) + k))
                                                 for k in range(3))


def loglik_accounts(data: IntensityData, scenario, scales, *, seed: int = 0, threads: int | None = None,
                    model: _Model | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each sampled account's simulated log-likelihood at ``scales`` (level, contact,
    excitation, relaxation, bankruptcy; the other parameters ``scenario``'s) and its gradient
    in the logs of the scales, (accounts,) and (accounts, 5)."""
    m = model or _Model(scenario, seed)
    out = np.zeros(data.n)
    grad = np.zeros((data.n, 5))
    scales = np.asarray(scales, dtype=float)
    chunks = np.array_split(np.arange(data.n), 8 if data.n >= 2_000 else 1)
    chunks = [c for c in chunks if len(c)]

    def run(c):
        _kernel(int(c[0]), int(c[-1]) + 1, data.entry, data.last, data.dpd0, data.flags, data.r, data.c_ptr,
                data.c_day, data.c_unit, data.c_chan, data.skill_mean, data.skill_sd, data.p_ptr, data.p_day, data.p_ws,
                data.p_we, data.account, data.score_lo, data.score_hi, m.noise_sd, m.share, m.lam, m.sigma, m.lam0, m.kappa, m.d10, m.d11, m.d2, m.pfull, m.rmin,
                m.rmax, m.reg, m.w, m.w_wt, m.z, m.z_wt, m.ability, m.cum, m.hazard, m.ptp_keep, m.tilt, m.base, m.base_s1,
                m.base_s2, scales, out, grad)

    threads = threads or min(os.cpu_count() or 1, len(chunks))
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, chunks))
    else:
        for c in chunks:
            run(c)
    return out, grad


def fit_intensity(h, scenario, *, accounts: int = INTENSITY_ACCOUNTS, seed: int = 0) -> list[Estimate]:
    """The scales of :data:`INTENSITY_PARAMETERS` by maximum simulated likelihood (the module
    docstring), as estimates of every segment's field (``segments.<k>.<field>``). A scale
    whose fit saw too few events, or whose 95 % interval spans its allowed range, keeps the
    base's values."""
    from scipy.optimize import minimize  # lazy: start-up time
    from statsmodels.tools.numdiff import approx_fprime  # lazy: start-up time

    from collectsim.experiments.calibrate.likelihood import MIN_EVENTS  # lazy: start-up time
    from collectsim.scenario.base import field_bounds  # lazy: start-up time
    from collectsim.scenario.schema import Segment  # lazy: start-up time

    data = intensity_data(h, scenario, accounts=accounts, seed=seed)
    segs = scenario.segments
    m = _Model(scenario, seed)

    def targets(key: str, fields: tuple[str, ...]) -> list[tuple[str, float, float]]:
        """(name, prior, upper bound) of every field one scale multiplies."""
        if key == "bankruptcy":  # the regimes with a hazard (a zero hazard stays zero)
            return [(f"regimes.bankruptcy_per_year.{g}", float(v), _HAZARD_MAX)
                    for g, v in enumerate(scenario.regimes.bankruptcy_per_year) if v > 0]
        return [(f"segments.{k}.{f}", float(getattr(seg, f)), field_bounds(Segment, f)[1])
                for f in fields for k, seg in enumerate(segs)]

    bankrupt = int(np.count_nonzero(data.flags & DAY_BANKRUPT))
    events = {"level": min(data.payments, data.hazard_days - data.payments),
              "contact": data.rpcs if data.payments >= MIN_EVENTS else 0,
              "excitation": data.repeat_payers,
              "relaxation": data.repeat_payers + (data.rpcs if data.payments >= MIN_EVENTS else 0),
              "bankruptcy": bankrupt if m.hazard.max() > 0 else 0}
    out: list[Estimate] = []
    active = []
    for j, (key, fs) in enumerate(INTENSITY_PARAMETERS):
        tg = targets(key, fs)
        if events[key] >= MIN_EVENTS and tg and max(p0 for _, p0, _ in tg) > 0:
            active.append(j)
            continue
        for name, p0, _ in tg:
            why = (f"{events[key]} events inform it (fewer than {MIN_EVENTS})" if events[key] < MIN_EVENTS
                   else "zero in the base")
            out.append(Estimate(name, p0, None, None, _METHOD, False, p0, why))
    if not active:
        return out
    bounds = []
    for j in active:
        tg = [t for t in targets(*INTENSITY_PARAMETERS[j]) if t[1] > 0]
        ceil = min(math.log(hi / p0) for _, p0, hi in tg)
        bounds.append((math.log(_SCALE_BOUNDS[0]), min(math.log(_SCALE_BOUNDS[1]), ceil)))

    def scales_of(x):
        s = np.ones(len(INTENSITY_PARAMETERS))
        s[active] = np.exp(x)
        return s

    def per_account(x):
        ll, g = loglik_accounts(data, scenario, scales_of(x), model=m)
        return ll, g[:, active]

    def f(x):
        ll, g = per_account(x)
        return -float(ll.sum()), -g.sum(axis=0)

    res = minimize(f, np.zeros(len(active)), method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": 200})
    x = res.x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hess = approx_fprime(x, lambda v: f(v)[1], epsilon=1e-4, centered=True)  # of −log L
    hess = 0.5 * (np.atleast_2d(hess) + np.atleast_2d(hess).T)
    scores = per_account(x)[1]
    try:
        h_inv = np.linalg.inv(hess)
        cov = h_inv @ (scores.T @ scores) @ h_inv
    except np.linalg.LinAlgError:
        cov = np.full((len(active), len(active)), np.nan)
    if 1 in active:  # the teams' realised mean skills (intensity_data): the impulse is δ2 × their mean, × 1 ± that
        i2 = active.index(1)
        cov[i2, i2] += data.team_skill_var
    detail = (f" ({data.n:,} accounts, {data.payments:,} repayments, {data.rpcs:,} right-party contacts; "
              f"log-likelihood {-res.fun:.1f})")
    for i, j in enumerate(active):
        key, fs = INTENSITY_PARAMETERS[j]
        se_x = math.sqrt(cov[i, i]) if np.isfinite(cov[i, i]) and cov[i, i] > 0 else math.nan
        edge = x[i] <= bounds[i][0] + 1e-4 or x[i] >= bounds[i][1] - 1e-4
        wide = (not np.isfinite(se_x)) or 2 * _Z * se_x >= bounds[i][1] - bounds[i][0]
        for name, p0, _ in targets(key, fs):
            if edge or wide or p0 == 0:
                why = ("its estimate lies at the edge of the allowed range" if edge else
                       "zero in the base" if p0 == 0 else "its 95 % interval is as wide as the allowed range")
                out.append(Estimate(name, p0, None, None, _METHOD, False, p0, why))
                continue
            est = p0 * math.exp(x[i])
            ci = (est * math.exp(-_Z * se_x), est * math.exp(_Z * se_x))
            out.append(Estimate(name, est, est * se_x, ci, _METHOD + detail, True, p0))
    return out
