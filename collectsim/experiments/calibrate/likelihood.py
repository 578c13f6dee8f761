"""Maximum-likelihood fits of what a collections history's contact table identifies.

Each fit is the likelihood of the engine's own law (docs/model.md §5), conditional on what
the department observed, so it is exact for a history the engine made and an honest
approximation for a lender's:

- **reach** (:func:`fit_connect`): ``P(connect) = min(1, connect_c · hour_c[h] · ρ_i)`` with
  the account's reachability ``ρ_i`` lognormal with mean 1 and log-sd σ (a random effect
  shared by all of the account's contacts, integrated by composite Gauss–Legendre with the
  account's kinks — where ``connect_c · hour_c[h] · ρ`` reaches 1 — as panel ends, so the rule
  is accurate however many contacts an account has; a Gaussian rule across the kink biased
  σ and the connect rates). Which
  accounts are contacted, and how often, depends only on what was observed (their DPD,
  tier, payments, earlier outcomes), so the selection is ignorable and the marginal
  likelihood of each account's connects is the right one. Only ``connect_c · hour_c[h]`` is
  identified; the hour with the most attempts keeps the base experiment's multiplier, and
  ``connect_c`` and the other hours' multipliers follow.
- **right party** (:func:`fit_right_party`): ``P(RPC | connect) = right_party_c ·
  exp(−answer_fatigue · I)``, a binomial model with a log link on the connects (scipy's
  L-BFGS-B on the analytic score; the covariance from the score's central difference);
  ``I`` is the account's irritation as the day began, replayed from its earlier contacts
  (:func:`day_start_state`) with the base's per-channel irritation and half-life.
- **opt-outs** (:func:`fit_optout`): ``P(opt-out | RPC) = optout_c · exp(k_O · I)``, the same
  model on the right-party contacts of channels with an opt-out.
- **complaints** (:func:`fit_complaints`): ``P(complaint) = base · s · w_c · (1 + k_I · I) ·
  ooh^[h ∉ 8–21) · opt^[opted out of c]`` on every contact (statsmodels
  ``GenericLikelihoodModel``); the sensitivity ``s`` and the channel weights ``w_c`` keep the
  base's values (only their product with ``base`` is identified).

Every estimate carries its standard error (the inverse observed information), a 95 %
interval (on the log scale for positive parameters) and whether the data identify it: a
parameter is *identified* when its fit saw at least :data:`MIN_EVENTS` events of each kind
(for right-party contacts and opt-outs one of each kind: their rates' intervals are the
likelihood's, as wide as few events make them, and a threshold on the events seen would
select on the outcome) and its interval is finite and narrower than the parameter's allowed range. One that is
not keeps its prior (the base experiment's value) and says why — never a made-up precision.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from collectsim.experiments.calibrate.state import codes_of
from collectsim.history.schema import CONTACT_OUTCOMES
from collectsim.kernels import njit
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["Estimate", "MIN_EVENTS", "REACH_PANEL", "REACH_PANEL_NODES", "REACH_Z", "day_start_state", "fit_connect", "fit_right_party", "fit_optout",
           "fit_complaints", "fit_contacts"]

#: Fewest events of each kind (successes and failures) a fit needs before it calls a parameter identified.
MIN_EVENTS = 10
_Z = 1.959963984540054
#: Widest panel (in z) of the reach fit's composite Gauss–Legendre rule (``REACH_PANEL / (2σ)`` when σ > 0.5).
REACH_PANEL = 0.5
#: Gauss–Legendre nodes per panel.
REACH_PANEL_NODES = 8
#: The rule's range: ``|z| ≤ REACH_Z`` (the normal mass outside is 2.6e-12).
REACH_Z = 7.0
_CONNECT = CONTACT_OUTCOMES.index("connect")
_RPC = CONTACT_OUTCOMES.index("rpc")


@dataclass(frozen=True)
class Estimate:
    """One fitted parameter, named by its dotted path in the experiment file.

    ``estimate`` is what the fitted experiment uses (the prior when not identified);
    ``se`` and ``ci95`` are None when not identified; ``method`` says how it was fitted and
    on what it is conditional; ``note`` why a parameter is not identified."""

    name: str
    estimate: float
    se: float | None
    ci95: tuple[float, float] | None
    method: str
    identified: bool
    prior: float
    note: str = ""

    def to_dict(self) -> dict:
        """The ``fit.json`` entry."""
        d = {"estimate": self.estimate, "se": self.se, "ci95": list(self.ci95) if self.ci95 else None,
             "method": self.method, "identified": self.identified, "prior": self.prior}
        if self.note:
            d["note"] = self.note
        return d


def _not_identified(name: str, prior: float, method: str, why: str) -> Estimate:
    return Estimate(name, float(prior), None, None, method, False, float(prior), why)


def _log_scale(name, log_est, log_se, prior, method, bounds, events_ok, why_events) -> Estimate:
    """An estimate fitted on the log scale: interval exp(log ± z·se), se by the delta method."""
    if not events_ok:
        return _not_identified(name, prior, method, why_events)
    if not (np.isfinite(log_est) and np.isfinite(log_se) and log_se > 0):
        return _not_identified(name, prior, method, "the information matrix is singular here")
    est = math.exp(log_est)
    lo, hi = math.exp(log_est - _Z * log_se), math.exp(log_est + _Z * log_se)
    return _bounded(name, est, est * log_se, (lo, hi), prior, method, bounds)


def _bounded(name, est, se, ci, prior, method, bounds) -> Estimate:
    lo_b, hi_b = bounds
    if not (np.isfinite(ci[0]) and np.isfinite(ci[1])) or (ci[1] - ci[0]) >= (hi_b - lo_b):
        return _not_identified(name, prior, method, "its 95 % interval is as wide as the allowed range")
    return Estimate(name, float(est), float(se), (float(ci[0]), float(ci[1])), method, True, float(prior))


def _linear(name, est, se, prior, method, bounds, events_ok, why_events) -> Estimate:
    if not events_ok:
        return _not_identified(name, prior, method, why_events)
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        return _not_identified(name, prior, method, "the information matrix is singular here")
    return _bounded(name, est, se, (est - _Z * se, est + _Z * se), prior, method, bounds)


# ----------------------------------------------------------------- replayed contact state --
@njit
def _day_start(acc, day, chan, opt_flag, irr_c, decay):
    n = len(acc)
    irr = np.empty(n)
    opted = np.zeros(n, dtype=np.uint8)
    j = 0
    while j < n:
        a = acc[j]
        cur, cur_opt, cur_day = 0.0, np.uint8(0), -1
        while j < n and acc[j] == a:
            d = day[j]
            if cur_day >= 0:
                cur *= decay ** (d - cur_day)
            add, new_opt = 0.0, cur_opt
            while j < n and acc[j] == a and day[j] == d:
                irr[j] = cur
                opted[j] = cur_opt
                add += irr_c[chan[j]]
                if opt_flag[j]:
                    new_opt |= np.uint8(1 << chan[j])
                j += 1
            cur += add
            cur_opt = new_opt
            cur_day = d
    return irr, opted


def day_start_state(contacts, irritation_per_channel: np.ndarray, half_life_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Each contact's account state as its day began, replayed from the account's earlier
    contacts as the engine keeps it (docs/model.md §5.2): the irritation ``I`` (each executed
    contact adds its channel's irritation; ``I`` halves every ``half_life_days``) and whether
    the debtor had opted out of the contact's channel. Returns ``(irritation, opted_out)``
    in the rows' order."""
    acc = contacts["account"].to_numpy(np.int64)
    day = contacts["day"].to_numpy(np.int64)
    chan = _channel_codes(contacts)
    order = np.lexsort((day, acc))
    decay = 2.0 ** (-1.0 / half_life_days)
    irr_s, opt_s = _day_start(acc[order], day[order], chan[order], contacts["opt_out"].to_numpy(bool)[order],
                              np.asarray(irritation_per_channel, dtype=np.float64), decay)
    irr = np.empty_like(irr_s)
    opt = np.empty_like(opt_s)
    irr[order], opt[order] = irr_s, opt_s
    opted = ((opt >> chan.astype(np.uint8)) & 1).astype(bool)
    return irr, opted


def _channel_codes(contacts) -> np.ndarray:
    return codes_of(contacts["channel"], CHANNELS)


def _outcome_codes(contacts) -> np.ndarray:
    return codes_of(contacts["outcome"], CONTACT_OUTCOMES)


# ----------------------------------------------------------------------------- reach ----
def _reach_rule(order: int = None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [−1, 1] (``order`` points; default
    :data:`REACH_PANEL_NODES`)."""
    return np.polynomial.legendre.leggauss(REACH_PANEL_NODES if order is None else order)


@njit(nogil=True)
def _connect_kernel(log_q, s, cell, n, y, starts, ends, count, t, wt, panel, z_max):
    """Weighted log-likelihood of the account patterns and its gradient in (log q, σ).

    Pattern i's term is L_i = log ∫ Π_r p_r(z)^y_r (1 − p_r(z))^(n_r − y_r) φ(z) dz over
    |z| ≤ ``z_max``, p_r = min(q_c(r) ρ(z), 1 − ε), ρ = exp(σ z − σ²/2), by composite
    Gauss–Legendre (nodes ``t``, weights ``wt`` on [−1, 1]) on panels at most ``panel`` wide
    (``panel / (2σ)`` when σ > 0.5: the same width in log ρ) whose ends include the pattern's
    kinks, the z where a cell's q·ρ reaches 1 — so the integrand is smooth on every panel.
    Where p < 1 − ε, ∂ℓ/∂log q_c = Σ_{r in c} g_r and ∂ℓ/∂σ = (z − σ) Σ_r g_r with
    g = y − (n − y) p/(1 − p); a clipped p has none. The integrand is continuous where a
    kink moves, so the gradient is the integral of the integrand's gradient."""
    n_cells = len(log_q)
    g_order = len(t)
    total = 0.0
    grad = np.zeros(n_cells + 1)
    q = np.exp(log_q)
    cap = 1.0 - 1e-12
    n_uniform = int(math.ceil(2.0 * z_max * max(1.0, 2.0 * s) / panel))
    max_rows = 0
    for i in range(len(starts)):
        max_rows = max(max_rows, ends[i] - starts[i])
    edges = np.empty(n_uniform + 1 + max_rows)
    m_nodes = (n_uniform + max_rows) * g_order
    ll = np.empty(m_nodes)
    zs = np.empty(m_nodes)
    gq = np.empty((m_nodes, n_cells))
    gs = np.empty(m_nodes)
    half_log_2pi = 0.5 * math.log(2.0 * math.pi)
    for i in range(len(starts)):
        b = 0
        for e in range(n_uniform + 1):
            edges[b] = -z_max + 2.0 * z_max * e / n_uniform
            b += 1
        if s > 0:
            for r in range(starts[i], ends[i]):
                kink = (-math.log(q[cell[r]]) + 0.5 * s * s) / s
                if -z_max < kink < z_max:
                    edges[b] = kink
                    b += 1
        ed = np.sort(edges[:b])
        m = 0
        for e in range(b - 1):
            half = 0.5 * (ed[e + 1] - ed[e])
            if half <= 0:
                continue
            mid = 0.5 * (ed[e + 1] + ed[e])
            for k in range(g_order):
                z = mid + half * t[k]
                zs[m] = z
                ll[m] = math.log(half * wt[k]) - 0.5 * z * z - half_log_2pi
                m += 1
        gq[:m, :] = 0.0
        gs[:m] = 0.0
        for r in range(starts[i], ends[i]):
            c = cell[r]
            nr, yr = n[r], y[r]
            for k in range(m):
                p = q[c] * math.exp(s * zs[k] - 0.5 * s * s)
                if p >= cap:
                    ll[k] += yr * math.log(cap) + (nr - yr) * math.log1p(-cap)
                else:
                    ll[k] += yr * math.log(p) + (nr - yr) * math.log1p(-p)
                    gr = yr - (nr - yr) * p / (1.0 - p)
                    gq[k, c] += gr
                    gs[k] += gr * (zs[k] - s)
        top = -math.inf
        for k in range(m):
            top = max(top, ll[k])
        acc = 0.0
        for k in range(m):
            ll[k] = math.exp(ll[k] - top)
            acc += ll[k]
        total += count[i] * (top + math.log(acc))
        for k in range(m):
            post = count[i] * ll[k] / acc
            for c in range(n_cells):
                grad[c] += post * gq[k, c]
            grad[n_cells] += post * gs[k]
    return total, grad


def fit_connect(contacts, scenario) -> list[Estimate]:
    """``channels.<c>.connect``, the observed hours' ``connect_by_hour`` and the segments'
    ``reachability_sigma`` (one σ for all: segments are not observed) by marginal maximum
    likelihood (see the module's docstring). Accounts with the same contacts-by-cell pattern
    are pooled (a weight), so the cost grows with the patterns, not the accounts."""
    import pandas as pd
    from scipy.optimize import minimize
    from statsmodels.tools.numdiff import approx_fprime

    chan = _channel_codes(contacts)
    hit = (_outcome_codes(contacts) >= _CONNECT).astype(np.int64)
    hour = contacts["hour"].to_numpy(np.int64)
    cell_id = chan * 24 + hour
    cells, cell_ix = np.unique(cell_id, return_inverse=True)
    k = len(cells)
    df = pd.DataFrame({"a": contacts["account"].to_numpy(np.int64), "c": cell_ix, "y": hit})
    g = df.groupby(["a", "c"], sort=True)["y"].agg(["size", "sum"]).reset_index()
    # pool accounts with the same pattern: a pattern is the account's (cell, n, y) rows, exactly
    acc, c_, n_, y_ = (g[k].to_numpy() for k in ("a", "c", "size", "sum"))
    starts = np.flatnonzero(np.r_[True, acc[1:] != acc[:-1]])
    lens = np.diff(np.r_[starts, len(acc)])
    pos = np.arange(len(acc)) - np.repeat(starts, lens)
    owner = np.repeat(np.arange(len(starts)), lens)
    pat = np.full((len(starts), 3 * int(lens.max(initial=1))), -1, dtype=np.int64)
    pat[owner, 3 * pos], pat[owner, 3 * pos + 1], pat[owner, 3 * pos + 2] = c_, n_, y_
    _, first, counts = np.unique(pat, axis=0, return_index=True, return_counts=True)
    lengths = lens[first].astype(np.int64)
    ustarts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    rows = np.repeat(starts[first], lengths) + (np.arange(lengths.sum()) - np.repeat(ustarts, lengths))
    cell_r, n_r, y_r = c_[rows], n_[rows].astype(float), y_[rows].astype(float)
    count = counts.astype(float)
    t, wt = _reach_rule()
    uends = ustarts + lengths
    cell_r = cell_r.astype(np.int64)

    tot_n = np.bincount(cell_ix, minlength=k).astype(float)
    tot_y = np.bincount(cell_ix, weights=hit, minlength=k)
    rate = np.clip(tot_y / np.maximum(tot_n, 1), 1e-4, 1 - 1e-4)
    sigmas = [seg.reachability_sigma for seg in scenario.segments]
    s0 = float(np.mean(sigmas))
    theta0 = np.r_[np.log(rate), max(s0, 0.05)]
    # four fixed chunks on large data (the sums, so the estimates, do not depend on the machine's cores); the
    # kernel releases the GIL, so the chunks run on the cores at once
    chunks = np.array_split(np.arange(len(ustarts)), 4 if len(ustarts) >= 50_000 else 1)
    threads = min(os.cpu_count() or 1, len(chunks))
    pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def part(th, idx):
        return _connect_kernel(th[:k].copy(), float(th[k]), cell_r, n_r, y_r, ustarts[idx], uends[idx], count[idx], t,
                               wt, REACH_PANEL, REACH_Z)

    def f(th):
        parts = list(pool.map(lambda idx: part(th, idx), chunks)) if pool else [part(th, idx) for idx in chunks]
        return -sum(p[0] for p in parts), -sum(p[1] for p in parts)

    bounds = [(math.log(1e-6), math.log(10.0))] * k + [(1e-3, 3.0)]
    res = minimize(f, theta0, method="L-BFGS-B", jac=True, bounds=bounds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hess = approx_fprime(res.x, lambda th: f(th)[1], centered=True)
        hess = 0.5 * (hess + hess.T)
        if pool:
            pool.shutdown()
        try:
            cov = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov = np.full_like(hess, np.nan)
    se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    method = ("marginal maximum likelihood, connects given the account's lognormal reachability "
              "(composite Gauss-Legendre, the kinks as panel ends)")
    out: list[Estimate] = []
    for c in np.unique(cells // 24):
        name = CHANNELS[c]
        spec = scenario.channels[name]
        mine = np.flatnonzero(cells // 24 == c)
        ref = mine[np.argmax(tot_n[mine])]  # the channel's hour with most attempts keeps its prior multiplier
        ref_h = int(cells[ref] % 24)
        ref_mult = spec.connect_by_hour[ref_h]
        ok = tot_y[ref] >= MIN_EVENTS and tot_n[ref] - tot_y[ref] >= MIN_EVENTS and ref_mult > 0
        out.append(_log_scale(f"channels.{name}.connect", res.x[ref] - math.log(ref_mult) if ref_mult > 0 else np.nan,
                              se[ref], spec.connect, method + f"; hour {ref_h} keeps its multiplier {ref_mult:g}",
                              (0.0, 1.0), ok, f"fewer than {MIN_EVENTS} connects or misses at hour {ref_h}"))
        for j in mine:
            h = int(cells[j] % 24)
            if j == ref:
                continue
            var = cov[j, j] + cov[ref, ref] - 2 * cov[j, ref]
            ok_h = tot_y[j] >= MIN_EVENTS and tot_n[j] - tot_y[j] >= MIN_EVENTS
            out.append(_log_scale(f"channels.{name}.connect_by_hour.{h}", res.x[j] - res.x[ref] + math.log(ref_mult),
                                  math.sqrt(var) if var > 0 else np.nan, spec.connect_by_hour[h],
                                  method + f"; relative to hour {ref_h}", (0.0, 10.0), ok_h,
                                  f"fewer than {MIN_EVENTS} connects or misses at hour {h}"))
    attempts = np.add.reduceat(n_r, ustarts) if len(ustarts) else np.zeros(0)
    ok_s = bool((count[attempts >= 2].sum() >= MIN_EVENTS) and res.x[k] > 2e-3)
    for i, seg in enumerate(scenario.segments):
        out.append(_linear(f"segments.{i}.reachability_sigma", float(res.x[k]), float(se[k]), seg.reachability_sigma,
                           method + "; one σ for every segment (segments are not observed)", (0.0, 3.0), ok_s,
                           "at the boundary σ = 0 (no spread of reach between accounts)"))
    return out


# ---------------------------------------------------------------- right party, opt-outs ----
@njit(nogil=True)
def _loglink_kernel(theta, y, group, x):
    """Σ y log p + (1 − y) log(1 − p) with log p = θ_group + θ_last · x (p clipped below 1),
    and its gradient: ∂/∂θ_g = Σ_{rows in g} r, ∂/∂θ_last = Σ x r, r = y − (1 − y) p/(1 − p)."""
    m = len(theta) - 1
    total = 0.0
    grad = np.zeros(m + 1)
    cap = 1.0 - 1e-12
    for j in range(len(y)):
        eta = theta[group[j]] + theta[m] * x[j]
        p = math.exp(eta)
        if p >= cap:
            total += y[j] * math.log(cap) + (1.0 - y[j]) * math.log1p(-cap)
            continue
        total += y[j] * eta + (1.0 - y[j]) * math.log1p(-p)
        r = y[j] - (1.0 - y[j]) * p / (1.0 - p)
        grad[group[j]] += r
        grad[m] += r * x[j]
    return total, grad


class _LogLinkFit:
    """A binomial model with a log link fitted by maximum likelihood (scipy's L-BFGS-B on the
    analytic score, the covariance the inverse of the observed information, a central
    difference of the score; statsmodels' ``approx_fprime``). It holds three arrays of the
    rows, not a design matrix: on 10^7 contacts a GLM's working copies took gigabytes."""

    def __init__(self, y, group, x, start):
        from scipy.optimize import minimize  # lazy: start-up time
        from statsmodels.tools.numdiff import approx_fprime  # lazy: start-up time

        y, group, x = np.asarray(y, float), np.asarray(group, np.int64), np.asarray(x, float)
        f = lambda th: tuple(-v for v in _loglink_kernel(th, y, group, x))  # noqa: E731
        res = minimize(f, np.asarray(start, float), method="L-BFGS-B", jac=True)
        hess = approx_fprime(res.x, lambda th: f(th)[1], centered=True)
        hess = 0.5 * (hess + hess.T)
        try:
            cov = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov = np.full_like(hess, np.nan)
        self.converged = bool(res.success)
        self.params = res.x
        self.bse = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))


def _glm_log(y, chan, irr, sign, names, priors, base_method, bounds_c, k_name, k_prior, k_bounds):
    """Binomial model with a log link, log p = log θ_c + sign·k·I, one θ per channel (see
    :class:`_LogLinkFit`)."""
    present = np.unique(chan)
    group = np.searchsorted(present, chan)
    n_c = np.bincount(group, minlength=len(present))
    y_c = np.bincount(group, weights=y, minlength=len(present))
    events = {c: (int(y_c[i]), int(n_c[i] - y_c[i])) for i, c in enumerate(present)}
    start = np.r_[[math.log(max(y_c[i] / n_c[i], 1e-6)) for i in range(len(present))], 0.0]
    est: list[Estimate] = []
    fit = None
    if y.sum() > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = _LogLinkFit(y, group, sign * irr, start)
            if not fit.converged:
                fit = None
    for i, c in enumerate(present):
        name = names(CHANNELS[c])
        # one event of each kind identifies a rate here, its precision the likelihood's (the
        # interval below, on the log scale, is as wide as few events make it): a threshold on
        # the events seen keeps the prior exactly where the data showed few, and the estimates
        # it lets through lean to more events than their truth (docs/data.md, the recovery
        # study's e-mail opt-outs: z +3.0 with 10 of each kind required, +1.9 with one)
        ok = min(events[c]) >= 1
        why = f"{events[c][0]} events in {sum(events[c])} trials (none of one kind)"
        if fit is None:
            est.append(_not_identified(name, priors(CHANNELS[c]), base_method, "the fit did not converge"))
            continue
        est.append(_log_scale(name, float(fit.params[i]), float(fit.bse[i]), priors(CHANNELS[c]), base_method,
                              bounds_c, ok, why))
    n_ev = int(y.sum())
    ok_k = fit is not None and n_ev >= 1 and len(y) - n_ev >= 1 and np.ptp(irr) > 0
    if fit is None:
        est.append(_not_identified(k_name, k_prior, base_method, "no events, or the fit did not converge"))
    else:
        est.append(_linear(k_name, float(fit.params[-1]), float(fit.bse[-1]), k_prior, base_method, k_bounds, ok_k,
                           f"{n_ev} events in {len(y)} trials (none of one kind) or no spread of irritation"))
    return est


def fit_right_party(contacts, scenario, irr: np.ndarray) -> list[Estimate]:
    """``channels.<c>.right_party`` and ``behaviour.answer_fatigue`` from the connects."""
    code = _outcome_codes(contacts)
    conn = code >= _CONNECT
    if not conn.any():
        return []
    chan = _channel_codes(contacts)[conn]
    y = (code[conn] >= _RPC).astype(float)
    return _glm_log(y, chan, irr[conn], -1.0, lambda c: f"channels.{c}.right_party",
                    lambda c: scenario.channels[c].right_party,
                    "maximum likelihood, binomial with log link on the connects, irritation "
                    "replayed with the base's per-channel irritation and half-life", (0.0, 1.0),
                    "behaviour.answer_fatigue", scenario.behaviour.answer_fatigue, (0.0, 10.0))


def fit_optout(contacts, scenario, irr: np.ndarray) -> list[Estimate]:
    """``channels.<c>.optout_prob`` and ``behaviour.optout_irritation`` from the right-party
    contacts of the channels that have an opt-out (a base ``optout_prob`` > 0 or an opt-out
    in the data)."""
    code = _outcome_codes(contacts)
    chan_all = _channel_codes(contacts)
    flag = contacts["opt_out"].to_numpy(bool)
    has = {c for c, name in enumerate(CHANNELS) if scenario.channels[name].optout_prob > 0} | set(
        np.unique(chan_all[flag]).tolist())
    rows = (code >= _RPC) & np.isin(chan_all, sorted(has))
    if not rows.any():
        return []
    return _glm_log(flag[rows].astype(float), chan_all[rows], irr[rows], 1.0, lambda c: f"channels.{c}.optout_prob",
                    lambda c: scenario.channels[c].optout_prob,
                    "maximum likelihood, binomial with log link on the right-party contacts, "
                    "irritation replayed with the base's per-channel irritation and half-life", (0.0, 1.0),
                    "behaviour.optout_irritation", scenario.behaviour.optout_irritation, (0.0, 10.0))


@njit(nogil=True)
def _complaint_kernel(th, y, offset, ooh, opt, irr, lo, hi):
    """Σ y log p + (1 − y) log(1 − p) over rows ``lo … hi − 1`` with
    p = exp(θ0 + offset + θ2·ooh + θ3·opt) · max(1 + θ1·I, 1e-12), clipped below 1, and its
    gradient in θ0 … θ3 (∂ℓ/∂log p = (y − p)/(1 − p); ∂log p/∂θ1 = I/(1 + θ1·I))."""
    total = 0.0
    grad = np.zeros(4)
    cap = 1.0 - 1e-12
    for j in range(lo, hi):
        g = 1.0 + th[1] * irr[j]
        gg = max(g, 1e-12)
        logp = th[0] + offset[j] + th[2] * ooh[j] + th[3] * opt[j] + math.log(gg)
        p = math.exp(logp)
        if p >= cap:
            total += y[j] * math.log(cap) + (1.0 - y[j]) * math.log1p(-cap)
            continue
        total += y[j] * logp + (1.0 - y[j]) * math.log1p(-p)
        r = (y[j] - p) / (1.0 - p)
        grad[0] += r
        if g > 1e-12:
            grad[1] += r * irr[j] / g
        grad[2] += r * ooh[j]
        grad[3] += r * opt[j]
    return total, grad


def fit_complaints(contacts, scenario, irr: np.ndarray, opted: np.ndarray) -> list[Estimate]:
    """``behaviour.complaint_base``, ``complaint_irritation``, ``complaint_out_of_hours`` and
    ``complaint_after_optout`` from every contact (see the module's docstring)."""
    from statsmodels.base.model import GenericLikelihoodModel

    b = scenario.behaviour
    y = contacts["complaint"].to_numpy(bool).astype(float)
    hour = contacts["hour"].to_numpy(np.int64)
    ooh = ((hour < 8) | (hour >= 21)).astype(float)
    opt = opted.astype(float)
    chan = _channel_codes(contacts)
    weight = np.array([scenario.channels[c].complaint_weight for c in CHANNELS])[chan]
    scale = b.complaint_sensitivity
    offset = np.log(np.maximum(weight * scale, 1e-300))
    method = ("maximum likelihood, Bernoulli per contact (statsmodels GenericLikelihoodModel on the analytic score), the channels' "
              "complaint weights and the sensitivity held at the base")
    names = ["behaviour.complaint_base", "behaviour.complaint_irritation", "behaviour.complaint_out_of_hours",
             "behaviour.complaint_after_optout"]
    priors = [b.complaint_base, b.complaint_irritation, b.complaint_out_of_hours, b.complaint_after_optout]
    use = [True, np.ptp(irr) > 0, bool(ooh.any() and (1 - ooh).any()), bool(opt.any() and (1 - opt).any())]
    n_ev = int(y.sum())
    ev = [n_ev, n_ev, int(y[ooh > 0].sum()), int(y[opt > 0].sum())]

    fixed = [math.log(b.complaint_base), b.complaint_irritation, math.log(b.complaint_out_of_hours),
             math.log(b.complaint_after_optout)]
    free = [i for i in range(4) if use[i] and (i < 2 or ev[i] >= 1)]
    if n_ev < MIN_EVENTS:
        return [_not_identified(n, p, method, f"{n_ev} complaints (fewer than {MIN_EVENTS})") for n, p in zip(names, priors, strict=True)]
    from statsmodels.tools.numdiff import approx_fprime  # lazy: start-up time

    irr_f = np.ascontiguousarray(irr, dtype=np.float64)
    chunks = np.array_split(np.arange(len(y)), 4 if len(y) >= 200_000 else 1)  # fixed: the sums do not depend on the cores
    bounds_of = [(int(c[0]), int(c[-1]) + 1) if len(c) else (0, 0) for c in chunks]
    threads = min(os.cpu_count() or 1, len(chunks))

    def full(params):
        return np.array([params[free.index(i)] if i in free else fixed[i] for i in range(4)], dtype=np.float64)

    def both(params):
        th = full(params)
        parts = [None] * len(bounds_of)
        run = lambda j: _complaint_kernel(th, y, offset, ooh, opt, irr_f, *bounds_of[j])  # noqa: E731
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(run, range(len(bounds_of))))
        else:
            parts = [run(j) for j in range(len(bounds_of))]
        return sum(q[0] for q in parts), sum(q[1] for q in parts)[free]

    class _Complaints(GenericLikelihoodModel):
        def loglike(self, params):  # noqa: D102 - statsmodels' hook
            return both(params)[0]

        def score(self, params):  # noqa: D102 - statsmodels' hook: the analytic score
            return both(params)[1]

        def hessian(self, params):  # noqa: D102 - statsmodels' hook: a central difference of the analytic score
            hs = approx_fprime(np.asarray(params, float), self.score, centered=True)
            return 0.5 * (hs + hs.T)

        def loglikeobs(self, params):  # noqa: D102 - statsmodels' hook (per contact; the fit uses loglike)
            th = full(params)
            p = np.exp(th[0] + offset + th[2] * ooh + th[3] * opt) * np.maximum(1.0 + th[1] * irr_f, 1e-12)
            p = np.clip(p, 1e-300, 1 - 1e-12)
            return y * np.log(p) + (1 - y) * np.log1p(-p)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _Complaints(y, np.ones((len(y), 1)))
        model.exog_names[:] = []
        start = np.array([fixed[i] for i in free])
        start[0] = math.log(max(n_ev / max(float(np.exp(offset).sum()), 1e-12), 1e-12))
        fit = model.fit(start_params=start, method="bfgs", maxiter=500, disp=False)
        bse = np.asarray(fit.bse)
    out = []
    bounds = [(0.0, 1.0), (0.0, 10.0), (1.0, 100.0), (1.0, 100.0)]
    for i in range(4):
        if i not in free:
            out.append(_not_identified(names[i], priors[i], method, "no contacts that inform it"))
            continue
        j = free.index(i)
        if i == 1:
            out.append(_linear(names[i], float(fit.params[j]), float(bse[j]), priors[i], method, bounds[i],
                               ev[i] >= MIN_EVENTS, f"{ev[i]} complaints (fewer than {MIN_EVENTS})"))
        else:
            out.append(_log_scale(names[i], float(fit.params[j]), float(bse[j]), priors[i], method, bounds[i],
                                  ev[i] >= MIN_EVENTS, f"{ev[i]} complaints among the contacts that inform it "
                                                      f"(fewer than {MIN_EVENTS})"))
    return out


def fit_contacts(contacts, scenario) -> list[Estimate]:
    """Every fit of this module on a history's contacts, conditional on the base scenario's
    other parameters (its per-channel irritation and half-life)."""
    if len(contacts) == 0:
        return []
    per_channel = np.array([scenario.channels[c].irritation for c in CHANNELS])
    irr, opted = day_start_state(contacts, per_channel, scenario.behaviour.irritation_half_life_days)
    return (fit_connect(contacts, scenario) + fit_right_party(contacts, scenario, irr)
            + fit_optout(contacts, scenario, irr) + fit_complaints(contacts, scenario, irr, opted))
