"""The optimal collection effort of Chehrazi, Glynn & Weber (2019), computed independently.

Reference: N. Chehrazi, P. W. Glynn, T. A. Weber, "Dynamic Credit-Collections
Optimization", *Management Science* 65(6), 2019 (primer §6). Collection effort raises the
repayment intensity by ``δ2`` per unit at a cost ``c`` per unit; the paper shows that the
optimal policy does nothing below a *minimal actionable balance* and otherwise holds the
intensity at a threshold ``λ*(w)``: effort is applied, as an impulse, whenever ``λ`` falls
below it. This module does **not** import the simulator; it solves the control problem by
backward dynamic programming for the simulator's daily scheme (documented exactly in
:mod:`collectsim.validation.cgw`), so that a simulated policy can be checked against it.

The controlled daily scheme
---------------------------
State at the start of day ``d``: balance ``w`` and intensity ``λ``. The control raises the
intensity to ``λ' = λ + δ2·u >= λ`` (``u`` units of effort, cost ``c·u``, dated at the end of
the day like every cost of the engine: discount ``e^{-ρ(d+1)dt}``); then the day's repayment
happens with probability ``1 - e^{-Λ(λ')}``, ``Λ(λ') = λ∞dt + (λ' - λ∞)(1 - e^{-κdt})/κ``,
pays ``wR`` (``R ~ U[r_min, r_max]``, end of day), and ``λ`` moves to ``μ(λ') = λ∞ + (λ' -
λ∞)e^{-κdt}`` plus ``δ10 + δ11R`` if a repayment happened. Effort may be applied on days
``0 … D-1`` (the run's horizon); the accounts still open are then valued by the *no-action
continuation* for ``runoff_days`` more days (the engine's run-off under ``no-contact``);
after that nothing is counted (the engine reports that remainder as unvalued). With
``q = e^{-ρdt}`` and ``k = c/δ2`` the Bellman equation is

    V_d(w, λ) = k q λ + max_{λ' >= λ} [G_d(w, λ') - k q λ'],
    G_d(w, λ') = q [e^{-Λ} V_{d+1}(w, μ) + (1 - e^{-Λ}) E(wR + V_{d+1}(w(1 - R), μ + δ10 + δ11R))],

with ``V_d(w, λ) = w·N_d(λ)`` from day ``D`` on (``N_d``: the no-action value per unit of
balance over the days left, the recursion of :mod:`collectsim.validation.cgw`) and
``V_{D+R} = 0``. The maximisation over ``λ' >= λ`` is a suffix maximum over the ``λ`` grid,
so no shape of ``G`` is assumed; where ``H = G - kqλ'`` is unimodal in ``λ'`` (it is, for the
reference parameters) the optimal control is exactly the threshold rule "raise ``λ`` to
``λ*_d(w) = argmax H`` when it is below it", and ``w_min`` is the smallest balance whose
argmax lies above the bottom of the grid (``λ∞``: the intensity never falls below it).

Numerics: ``V`` on a grid uniform in ``log w`` (``[w_lo, w0]``; below ``w_lo`` effort is never
worth its cost and ``V = w·N``, which the solution confirms by ``w_min >> w_lo``) and uniform in
``λ`` (``[min(λ0, λ∞), λ_max]``, intensities above ``λ_max`` treated as ``λ_max``); cubic
Lagrange interpolation in ``λ`` (the daily drift ``μ - λ`` is far smaller than the step, so
linear interpolation would smear ``V`` over thousands of days), linear in ``log w`` of the
value per unit of balance ``V/w`` (the balance only moves at a repayment; where no effort is
worth its cost ``V/w = N`` exactly, so the no-action part carries no ``w``-interpolation
error), Gauss–Legendre over ``R``. The interpolation weights do not
depend on the day and are built once; each day is one compiled pass over the grid.
:func:`grid_convergence` halves every step and reports the change.

Reference figures
-----------------
``python -m collectsim.validation.cgw_optimum`` (reference parameters: λ∞ = 0.1, κ = 0.7,
δ10 = 0.02, δ11 = 0.5, δ2 = 1, ρ = 0.06, c = 6, R ~ U[0.1, 1], w0 = 100, λ0 = 0.11; effort
for 1825 days, no-action run-off for 1825 more) — see ``docs/cgw.md`` for the table.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from collectsim.errors import InputError
from collectsim.kernels import njit
from collectsim.validation.cgw import CGWParams, _r_quadrature

__all__ = ["ControlParams", "OptimumResult", "solve_optimum", "evaluate_threshold", "grid_convergence"]

_ORDER = 4  # cubic Lagrange in λ


def _real(name: str, value: object, lo: float, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InputError(f"{name} = {value!r}: must be a finite real number")
    v = float(value)
    if v < lo or (strict and v == lo):
        raise InputError(f"{name} = {value!r}: must be {'>' if strict else '>='} {lo}")
    return v


def _int(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < lo:
        raise InputError(f"{name} = {value!r}: must be an integer >= {lo}")
    return int(value)


@dataclass(frozen=True)
class ControlParams:
    """The controlled CGW problem: the no-action model plus effort, balance and horizon.

    Parameters
    ----------
    model : CGWParams
        ``λ∞, κ, δ10, δ11, ρ, R``-range and ``λ0`` (:class:`~collectsim.validation.cgw.CGWParams`).
    delta2 : float
        Intensity raised per unit of effort, ``> 0``.
    cost : float
        Cost per unit of effort (currency units), ``>= 0``.
    w0 : float
        Balance at day 0 (currency units), ``> 0``.
    horizon_days : int
        Days ``D`` on which effort may be applied, ``>= 1`` (default 3650, as
        ``experiments/cgw-optimize.toml``).
    runoff_days : int
        Days of no-action continuation valued after the horizon, ``>= 0`` (default 1825).
    days_per_year : int
        Steps per year (365).
    """

    model: CGWParams = field(default_factory=CGWParams)
    delta2: float = 1.0
    cost: float = 6.0
    w0: float = 100.0
    horizon_days: int = 3650
    runoff_days: int = 1825
    days_per_year: int = 365

    def __post_init__(self) -> None:
        """Check the fields."""
        if not isinstance(self.model, CGWParams):
            raise InputError(f"model = {self.model!r}: must be a CGWParams")
        object.__setattr__(self, "delta2", _real("delta2", self.delta2, 0.0, strict=True))
        object.__setattr__(self, "cost", _real("cost", self.cost, 0.0))
        object.__setattr__(self, "w0", _real("w0", self.w0, 0.0, strict=True))
        object.__setattr__(self, "horizon_days", _int("horizon_days", self.horizon_days, 1))
        object.__setattr__(self, "runoff_days", _int("runoff_days", self.runoff_days, 0))
        object.__setattr__(self, "days_per_year", _int("days_per_year", self.days_per_year, 1))


@dataclass(frozen=True)
class OptimumResult:
    """The solution of :func:`solve_optimum` (or the value of one policy, :func:`evaluate_threshold`).

    Attributes
    ----------
    value : float
        Expected discounted net value per account at day 0 from ``(w0, λ0)``: collections
        minus effort cost plus the valued run-off, currency units.
    no_action_value : float
        The same without effort (``w0·N_0(λ0)``).
    w : ndarray
        The balance grid (currency units).
    threshold : ndarray
        ``λ*_0(w)`` on that grid at day 0 (``nan`` where no effort is optimal at any ``λ``).
    w_min : float
        Minimal actionable balance at day 0: the smallest grid balance with a threshold.
    thresholds_by_day : dict
        ``{day: λ*_day(w)}`` for a few days (how the threshold changes near the horizon).
    grid : dict
        The grid used (steps, sizes, ``λ`` range, quadrature order).
    """

    value: float
    no_action_value: float
    w: NDArray[np.float64]
    threshold: NDArray[np.float64]
    w_min: float
    thresholds_by_day: dict
    grid: dict


# ---------------------------------------------------------------------------- weights


def _lagrange(lo: float, step: float, n: int, points: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """First node and the 4 cubic Lagrange weights of each point on ``lo + step·arange(n)``."""
    u = (np.clip(points, lo, lo + step * (n - 1)) - lo) / step
    first = np.clip(np.floor(u).astype(np.int64) - 1, 0, n - _ORDER)
    wts = np.ones((points.size, _ORDER))
    for j in range(_ORDER):
        for k in range(_ORDER):
            if k != j:
                wts[:, j] *= (u - (first + k)) / (j - k)
    return first, wts


@njit
def _interp_l(row, first, wts):
    return row[first] * wts[0] + row[first + 1] * wts[1] + row[first + 2] * wts[2] + row[first + 3] * wts[3]


@njit
def _day_noaction(n_next, q, p_event, stay_f, stay_w, jump_f, jump_w, r_nodes, r_wts):
    """One day of the no-action recursion per unit of balance: ``N_d`` from ``N_{d+1}``."""
    nl = len(n_next)
    out = np.empty(nl)
    for j in range(nl):
        stay = _interp_l(n_next, stay_f[j], stay_w[j])
        e = 0.0
        for r in range(len(r_nodes)):
            e += r_wts[r] * (r_nodes[r] + (1.0 - r_nodes[r]) * _interp_l(n_next, jump_f[j, r], jump_w[j, r]))
        out[j] = q * ((1.0 - p_event[j]) * stay + p_event[j] * e)
    return out


@njit
def _day_g(v_next, n_next, w, q, p_event, stay_f, stay_w, jump_f, jump_w, wl_lo, wl_step, r_nodes, r_wts):
    """``G_d(w_i, λ_j)`` on the grid from ``V_{d+1}`` (and ``N_{d+1}`` below the w grid)."""
    nw, nl = v_next.shape
    nr = len(r_nodes)
    g = np.empty((nw, nl))
    # where w(1 - R) lands on the log-w grid: index, weight, or below it
    wi0 = np.empty((nw, nr), dtype=np.int64)
    wa = np.empty((nw, nr))
    wv = np.empty((nw, nr))
    for i in range(nw):
        for r in range(nr):
            wv[i, r] = w[i] * (1.0 - r_nodes[r])
            x = (math.log(wv[i, r]) - wl_lo) / wl_step
            if x < 0.0:
                wi0[i, r] = -1
                wa[i, r] = 0.0
            else:
                k = min(int(x), nw - 2)
                wi0[i, r] = k
                wa[i, r] = x - k
    for i in range(nw):
        for j in range(nl):
            stay = _interp_l(v_next[i], stay_f[j], stay_w[j])
            e = 0.0
            for r in range(nr):
                f, wt = jump_f[j, r], jump_w[j, r]
                k = wi0[i, r]
                if k < 0:
                    nxt = wv[i, r] * _interp_l(n_next, f, wt)
                else:  # the value per unit of balance, V/w, is interpolated (exact where V = w·N)
                    a = wa[i, r]
                    nxt = wv[i, r] * ((1.0 - a) * _interp_l(v_next[k], f, wt) / w[k]
                                      + a * _interp_l(v_next[k + 1], f, wt) / w[k + 1])
                e += r_wts[r] * (w[i] * r_nodes[r] + nxt)
            g[i, j] = q * ((1.0 - p_event[j]) * stay + p_event[j] * e)
    return g


@njit
def _optimise(g, lam, kq):
    """``V(w_i, λ_j) = kqλ_j + max_{j' >= j}(G_ij' - kqλ_j')`` and the argmax at the bottom."""
    nw, nl = g.shape
    v = np.empty((nw, nl))
    best_j = np.empty(nw, dtype=np.int64)
    for i in range(nw):
        best = -1e300
        bj = nl - 1
        for j in range(nl - 1, -1, -1):
            h = g[i, j] - kq * lam[j]
            if h >= best:
                best = h
                bj = j
            v[i, j] = kq * lam[j] + best
        best_j[i] = bj
    return v, best_j


@njit
def _apply_threshold(g, lam, kq, tau_f, tau_w, tau):
    """``V(w_i, λ_j)`` of the rule "raise λ to τ_i when below it": ``G(max(λ, τ)) - kq(τ - λ)⁺``."""
    nw, nl = g.shape
    v = np.empty((nw, nl))
    for i in range(nw):
        g_tau = _interp_l(g[i], tau_f[i], tau_w[i])
        for j in range(nl):
            if lam[j] < tau[i]:
                v[i, j] = g_tau - kq * (tau[i] - lam[j])
            else:
                v[i, j] = g[i, j]
    return v


# ---------------------------------------------------------------------------- solver


def _refine(h_row: NDArray[np.float64], j: int, lam: NDArray[np.float64]) -> float:
    """The argmax of ``H`` near grid node ``j`` by a parabola through three nodes."""
    if j <= 0 or j >= len(lam) - 1:
        return float(lam[j])
    a, b, c = h_row[j - 1], h_row[j], h_row[j + 1]
    den = a - 2.0 * b + c
    if den >= 0:
        return float(lam[j])
    return float(lam[j] + 0.5 * (a - c) / den * (lam[1] - lam[0]))


def _solve(cp: ControlParams, lam_step: float, logw_step: float, w_lo: float, lam_max: float | None,
           n_r: int | None, threshold: NDArray[np.float64] | None, record_days: tuple[int, ...]) -> OptimumResult:
    m = cp.model
    dt = 1.0 / cp.days_per_year
    lo = min(m.lambda0, m.lambda_inf)
    hi = lam_max if lam_max is not None else max(m.lambda0, m.lambda_inf) + 12.0
    nl = max(_ORDER, math.ceil((hi - lo) / lam_step - 1e-9) + 1)
    step = (hi - lo) / (nl - 1)
    lam = lo + step * np.arange(nl)
    wl_lo, wl_hi = math.log(w_lo), math.log(cp.w0)
    nw = max(2, math.ceil((wl_hi - wl_lo) / logw_step - 1e-9) + 1)
    wl_step = (wl_hi - wl_lo) / (nw - 1)
    w = np.exp(wl_lo + wl_step * np.arange(nw))
    w[-1] = cp.w0

    if n_r is None:
        r_nodes, r_wts = _r_quadrature(m)
    else:
        x, wx = np.polynomial.legendre.leggauss(n_r)
        half, mid = 0.5 * (m.r_max - m.r_min), 0.5 * (m.r_max + m.r_min)
        r_nodes, r_wts = (mid + half * x, 0.5 * wx) if half > 0 else (np.array([m.r_min]), np.array([1.0]))
    decay = math.exp(-m.kappa * dt)
    beta = -math.expm1(-m.kappa * dt) / m.kappa
    mu = m.lambda_inf + (lam - m.lambda_inf) * decay
    big = np.maximum(m.lambda_inf * dt + (lam - m.lambda_inf) * beta, 0.0)
    p_event = -np.expm1(-big)
    stay_f, stay_w = _lagrange(lo, step, nl, mu)
    jf, jw = _lagrange(lo, step, nl, (mu[:, None] + m.delta10 + m.delta11 * r_nodes[None, :]).ravel())
    jump_f, jump_w = jf.reshape(nl, -1), jw.reshape(nl, -1, _ORDER)
    q = math.exp(-m.rho * dt)
    kq = cp.cost / cp.delta2 * q
    if threshold is not None:
        tau = np.asarray(threshold, dtype=float)
        tau_f, tau_w = _lagrange(lo, step, nl, np.clip(tau, lo, hi))

    total = cp.horizon_days + cp.runoff_days
    n_next = np.zeros(nl)
    for _ in range(cp.runoff_days):
        n_next = _day_noaction(n_next, q, p_event, stay_f, stay_w, jump_f, jump_w, r_nodes, r_wts)
    v_next = w[:, None] * n_next[None, :]
    recorded: dict[int, NDArray[np.float64]] = {}
    h0 = None
    best = None
    for d in range(cp.horizon_days - 1, -1, -1):
        g = _day_g(v_next, n_next, w, q, p_event, stay_f, stay_w, jump_f, jump_w, wl_lo, wl_step, r_nodes, r_wts)
        if threshold is None:
            v, best = _optimise(g, lam, kq)
            if d in record_days or d == 0:
                h = g - kq * lam[None, :]
                recorded[d] = np.array([_refine(h[i], int(best[i]), lam) if best[i] > 0 else np.nan
                                        for i in range(nw)])
                if d == 0:
                    h0 = h
        else:
            v = _apply_threshold(g, lam, kq, tau_f, tau_w, np.clip(tau, lo, hi))
        n_next = _day_noaction(n_next, q, p_event, stay_f, stay_w, jump_f, jump_w, r_nodes, r_wts)
        v_next = v
    f0, w0w = _lagrange(lo, step, nl, np.array([m.lambda0]))
    value = float(v_next[-1, f0[0]:f0[0] + _ORDER] @ w0w[0])
    no_action = float(cp.w0 * (n_next[f0[0]:f0[0] + _ORDER] @ w0w[0]))
    del total, h0
    if threshold is None:
        thr = recorded[0]
        acting = np.flatnonzero(best > 0)
        w_min = float(w[acting[0]]) if len(acting) else math.inf
    else:
        thr = np.asarray(threshold, dtype=float)
        w_min = math.nan
    grid = {"lambda_step": step, "lambda_points": nl, "lambda_range": (lo, hi), "logw_step": wl_step,
            "w_points": nw, "w_range": (w_lo, cp.w0), "r_nodes": len(r_nodes)}
    return OptimumResult(value, no_action, w, thr, w_min, recorded, grid)


def solve_optimum(cp: ControlParams | None = None, *, lam_step: float = 0.05, logw_step: float = 0.05,
                  w_lo: float = 0.5, lam_max: float | None = None, n_r: int | None = 16,
                  record_days: tuple[int, ...] = ()) -> OptimumResult:
    """The optimal discounted net value per account and the optimal threshold, by backward DP.

    Parameters
    ----------
    cp : ControlParams, optional
        The problem (default: the reference parameters, :class:`ControlParams` defaults).
    lam_step, logw_step : float, keyword-only
        Grid steps in ``λ`` (per year) and in ``log w``.
    w_lo : float, keyword-only
        Bottom of the balance grid; below it the no-action value is used.
    lam_max : float, keyword-only
        Top of the ``λ`` grid (default ``max(λ0, λ∞) + 12``).
    n_r : int, keyword-only
        Gauss–Legendre nodes over ``R`` (None: the order of :mod:`collectsim.validation.cgw`).
    record_days : tuple of int, keyword-only
        Days whose optimal threshold curve is also returned (``thresholds_by_day``).

    Returns
    -------
    OptimumResult
        ``value`` = ``V*(w0, λ0)``, the day-0 threshold ``λ*(w)`` and ``w_min``.

    Raises
    ------
    InputError
        (a ``ValueError``) naming a bad argument.
    """
    cp = ControlParams() if cp is None else cp
    if not isinstance(cp, ControlParams):
        raise InputError(f"cp = {cp!r}: must be a ControlParams")
    return _solve(cp, _real("lam_step", lam_step, 0.0, True), _real("logw_step", logw_step, 0.0, True),
                  _real("w_lo", w_lo, 0.0, True), lam_max, n_r, None, tuple(record_days))


def evaluate_threshold(threshold, cp: ControlParams | None = None, *, lam_step: float = 0.05,
                       logw_step: float = 0.05, w_lo: float = 0.5, lam_max: float | None = None,
                       n_r: int | None = 16) -> float:
    """Expected discounted net value per account of one *stationary* threshold rule.

    The rule raises ``λ`` to ``threshold(w)`` whenever it is below it, on every day of the
    horizon (no effort where ``threshold(w) <= λ``): the policy the simulator runs as
    ``cgw-threshold``. Computed by the same recursion as :func:`solve_optimum` with the
    maximisation replaced by the rule.

    Parameters
    ----------
    threshold : callable
        ``threshold(w) -> λ`` for an array of balances (currency units).
    cp : ControlParams, optional
        The problem.
    lam_step, logw_step, w_lo, lam_max, n_r :
        As for :func:`solve_optimum`.

    Returns
    -------
    float
        The value at ``(w0, λ0)``, currency units.
    """
    cp = ControlParams() if cp is None else cp
    if not isinstance(cp, ControlParams):
        raise InputError(f"cp = {cp!r}: must be a ControlParams")
    wl_lo, wl_hi = math.log(w_lo), math.log(cp.w0)
    nw = max(2, math.ceil((wl_hi - wl_lo) / logw_step - 1e-9) + 1)
    w = np.exp(np.linspace(wl_lo, wl_hi, nw))
    w[-1] = cp.w0
    tau = np.asarray(threshold(w), dtype=float)
    if tau.shape != w.shape or not np.isfinite(tau).all():
        raise InputError("threshold: must map an array of balances to as many finite intensities")
    return _solve(cp, lam_step, logw_step, w_lo, lam_max, n_r, tau, ()).value


def grid_convergence(cp: ControlParams | None = None, **grid) -> dict[str, float]:
    """``V*`` on a grid and on the grid with every step halved (and twice the ``R`` nodes).

    Returns
    -------
    dict
        ``{"coarse": V*, "fine": V*, "change": fine - coarse}``.
    """
    lam_step = grid.pop("lam_step", 0.05)
    logw_step = grid.pop("logw_step", 0.05)
    n_r = grid.pop("n_r", 16)
    coarse = solve_optimum(cp, lam_step=lam_step, logw_step=logw_step, n_r=n_r, **grid).value
    fine = solve_optimum(cp, lam_step=lam_step / 2, logw_step=logw_step / 2, n_r=2 * n_r, **grid).value
    return {"coarse": coarse, "fine": fine, "change": fine - coarse}


def _report() -> str:
    """The figures of docs/cgw.md: V*, the threshold, the stationary rules' values, the grid check."""
    import time

    t0 = time.time()
    cp = ControlParams()
    res = solve_optimum(cp, record_days=(0, 1825, 3285, 3649))
    lines = [f"V*(100, 0.11) = {res.value:.4f}   no action {res.no_action_value:.4f}   "
             f"w_min = {res.w_min:.2f}   ({time.time() - t0:.0f} s; grid {res.grid})"]
    acting = ~np.isnan(res.threshold)
    days = sorted(res.thresholds_by_day)
    lines.append("     w   " + "  ".join(f"λ*(day {d})" for d in days))
    for wv in (10, 13, 15, 20, 30, 50, 70, 100):
        i = int(np.argmin(abs(res.w - wv)))
        lines.append(f"{res.w[i]:7.2f}   " + "  ".join(f"{res.thresholds_by_day[d][i]:11.3f}" for d in days))
    first = int(np.flatnonzero(acting)[0])
    w_floor = float(res.w[first - 1]) if first > 0 else 0.0
    tw, tl = res.w[acting], res.threshold[acting]

    def table(w: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(w > w_floor, np.interp(np.log(w), np.log(tw), tl), 0.0)

    lines.append(f"stationary rule holding λ*_0(w) (table): {evaluate_threshold(table, cp):.4f}")
    design = np.vstack([np.ones(acting.sum()), np.sqrt(tw)]).T
    a, b = np.linalg.lstsq(design, tl, rcond=None)[0]
    fit = evaluate_threshold(lambda w: a + b * np.sqrt(w), cp)
    lines.append(f"least-squares fit λ*(w) = {a:.4f} + {b:.4f}·√w: {fit:.4f}  "
                 f"(max |residual| {np.abs(design @ (a, b) - tl).max():.3f})")
    conv = grid_convergence(cp)
    lines.append(f"grid: {conv['coarse']:.4f} -> halved steps, 32 R nodes: {conv['fine']:.4f} "
                 f"(change {conv['change']:+.4f}); total {time.time() - t0:.0f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    print(_report())
