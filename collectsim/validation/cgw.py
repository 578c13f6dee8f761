"""No-action account value of Chehrazi, Glynn & Weber (2019), computed independently.

Reference: N. Chehrazi, P. W. Glynn, T. A. Weber, "Dynamic Credit-Collections
Optimization", *Management Science* 65(6), 2019. This module does **not** import or reuse
the simulator; it re-derives the no-action value of an account in two independent ways so
that simulator output can be checked against it.

The continuous model
--------------------
Repayments form a self-exciting marked point process with intensity ``λ``. Between events
``dλ = κ(λ∞ - λ) dt``; at an event a fraction ``R ~ U[r_min, r_max]`` of the *current*
balance is repaid (``w → w(1 - R)``) and the intensity jumps by ``δ10 + δ11·R``. Time is in
years and ``ρ`` is the discount rate per year. With ``m(t) = E[W_t]/w0 = E[∏(1 - R_i)]``,

* ``collected_fraction(T) = 1 - m(T)``,
* ``discounted_fraction(T) = E[∫_0^T e^{-ρt} (-dW_t)]/w0 = ∫_0^T e^{-ρt} (-m'(t)) dt``.

Derivation (affine structure). Let ``u(τ, λ) = E[∏_{events in (0, τ]} (1 - R_i) | λ_0 = λ]``.
Conditioning on the first instant ``dτ`` gives the backward equation

    ∂u/∂τ = κ(λ∞ - λ) ∂u/∂λ + λ (E[(1 - R) u(τ, λ + δ10 + δ11 R)] - u(τ, λ)),   u(0, ·) = 1.

The ansatz ``u = exp(A(τ) + B(τ) λ)`` turns it into ``A' + B'λ = κλ∞B - κλB +
λ(φ(B) - 1)`` with ``φ(B) = E[(1 - R) exp(B(δ10 + δ11 R))]``, i.e. the Riccati-type system

    dB/dτ = -κB + φ(B) - 1,   dA/dτ = κλ∞B,   A(0) = B(0) = 0,

and ``m(T) = exp(A(T) + B(T)λ0)`` (the model is time-homogeneous, so horizon = time to go).
``g(B) = -κB + φ(B) - 1`` is convex with ``g(0) = -E[R] < 0`` and ``g(-1/κ) = φ(-1/κ) ≥ 0``,
so ``B`` decreases monotonically from 0 to the unique root ``B* ∈ [-1/κ, 0)``; ``A`` decreases
linearly in the long run. The discounted fraction is integrated alongside:
``dJ/dτ = -e^{-ρτ} m(τ) (A' + B'λ0)``, which equals the integration-by-parts form
``1 - e^{-ρT} m(T) - ρ∫_0^T e^{-ρt} m(t) dt`` without its cancellation. ``φ`` is evaluated by
Gauss–Legendre quadrature whose order grows with ``δ11 (r_max - r_min)/κ`` (the largest
exponent that can occur), so it is exact to rounding. The system is solved with
``scipy.integrate.solve_ivp`` (DOP853, ``rtol = 1e-12``, ``atol = 1e-14``).

The simulator's daily scheme
----------------------------
With ``dt = 1/days_per_year`` and ``λ_d`` the intensity at the start of day ``d``:
``Λ_d = λ∞ dt + (λ_d - λ∞)(1 - e^{-κ dt})/κ``; at most one repayment on day ``d``, with
probability ``1 - e^{-Λ_d}``, of fraction ``R``, dated at the end of the day (discount
``e^{-ρ(d+1)dt}``); ``λ_{d+1} = λ∞ + (λ_d - λ∞)e^{-κ dt} + 1{event}(δ10 + δ11 R)``.
The expectation of this scheme is linear in the balance, so the discounted collected
fraction follows exactly from the expected balance fractions ``m_k = E[W_k]/w0`` after
``k`` days: day ``k`` pays ``W_k - W_{k+1}`` at time ``(k+1)dt``, hence

    discounted_fraction = Σ_{k<D} e^{-ρ(k+1)dt} (m_k - m_{k+1}),   collected_fraction = 1 - m_D.

:func:`discrete_daily` computes every ``m_k`` exactly (up to a grid error) by one backward
dynamic-programming recursion. ``V_j(λ)`` = expected fraction of the current balance still
owed ``j`` days later, starting the day with intensity ``λ``:

    V_0 = 1,   V_{j+1}(λ) = e^{-Λ(λ)} V_j(λ') + (1 - e^{-Λ(λ)}) E[(1 - R) V_j(λ' + δ10 + δ11 R)],

with ``λ' = λ∞ + (λ - λ∞)e^{-κ dt}``; the scheme is time-homogeneous, so
``m_k = V_k(λ0)``. ``log V_j`` is held on a uniform ``λ`` grid over
``[min(λ0, λ∞), λ_max]`` (step 0.05) and interpolated by local cubic Lagrange polynomials
(``log V`` is nearly linear in ``λ``: exactly so in the continuous model), ``E[·]`` over
``R`` is Gauss–Legendre and the sums are done in log-sum-exp form. The approximations are
(i) the interpolation, (ii) the quadrature and (iii) intensities above ``λ_max`` being
treated as ``λ_max``; ``λ_max`` defaults to ``max(λ0, λ∞) + max(1, 25(δ10 + δ11 r_max))``, a
level reached only after a burst of at least 25 repayments, by when almost nothing is left to
collect. Halving the grid step, or raising or halving ``λ_max``, changes every figure in the
table below by less than ``1e-13`` (checked in ``tests/validation/test_cgw_analytic.py`` to
``1e-10``): the ``discrete`` columns are the exact expectations of the daily scheme.

Reference figures
-----------------
Reference parameters (:class:`CGWParams` defaults): ``λ∞ = 0.1, κ = 0.7, δ10 = 0.02,
δ11 = 0.5, ρ = 0.06, R ~ U[0.1, 1]``, 365 days per year. Produced by
``python -m collectsim.validation.cgw`` (run from the project root; about 1 s)::

                      collected fraction                  discounted fraction
    lam0   days   continuous  discrete     err        continuous  discrete     err
    0.11    365   0.059449108 0.059439354  9.75e-06    0.057712130 0.057697898  1.42e-05
    0.11    730   0.116150301 0.116134303  1.60e-05    0.109554731 0.109530519  2.42e-05
    0.11   1825   0.267702118 0.267676440  2.57e-05    0.232901305 0.232858992  4.23e-05
    0.11    inf                                         0.510544857
    1.00    365   0.348559907 0.348397459  1.62e-04    0.339894092 0.339706765  1.87e-04
    1.00    730   0.498520384 0.498355785  1.65e-04    0.477463795 0.477262987  2.01e-04
    1.00   1825   0.658768556 0.658646038  1.23e-04    0.610033324 0.609856010  1.77e-04
    1.00    inf                                         0.743077344

``err = continuous - discrete`` is the discretization error of the daily step
(:func:`discretization_error`): positive (the daily scheme collects slightly less and
later), below ``2.1e-4`` in absolute terms and below 0.06 % of the value for the reference
parameters. It is first order in ``dt``: with 3650 steps a year it is ten times smaller
(``λ0 = 1``, one year: ``1.62e-4 → 1.62e-5`` collected). For ``λ0 = 1`` and 365 days,
``1.29e-4`` of the ``1.62e-4`` comes from the cap of one repayment a day (the error with
``δ10 = δ11 = 0``), the rest from the excitation of a repayment only acting from the next
day; the end-of-day dating of payments adds ``2.5e-5`` to the discounted error. For
``λ0 = 0.11`` the three parts are ``3.7e-6``, ``6.1e-6`` and ``4.5e-6``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from collectsim.errors import InputError

__all__ = [
    "CGWParams",
    "continuous_value",
    "continuous_value_infinite",
    "discrete_daily",
    "discretization_error",
]

_RTOL = 1e-12
_ATOL = 1e-14
#: Default spacing of the λ grid of :func:`discrete_daily`.
_GRID_STEP = 0.05
#: Points of the local Lagrange interpolation in λ (4: cubic).
_ORDER = 4
#: Largest Gauss–Legendre order used for the expectation over ``R``.
_MAX_QUAD = 4000


# --------------------------------------------------------------------------- parameters


def _check_real(name: str, value: object) -> float:
    """Return ``value`` as a finite float or raise :class:`InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} = {value!r}: must be a real number")
    out = float(value)
    if not math.isfinite(out):
        raise InputError(f"{name} = {value!r}: must be finite")
    return out


def _check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int ``>= minimum`` or raise :class:`InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} = {value!r}: must be an integer >= {minimum}")
    out = int(value)
    if out < minimum:
        raise InputError(f"{name} = {value!r}: must be an integer >= {minimum}")
    return out


@dataclass(frozen=True)
class CGWParams:
    """Parameters of the no-action account of Chehrazi, Glynn & Weber (2019).

    Parameters
    ----------
    lambda_inf : float
        Long-run repayment intensity ``λ∞`` (events per year), ``>= 0``.
    kappa : float
        Mean-reversion speed ``κ`` of the intensity (per year), ``> 0``.
    delta10 : float
        Fixed part ``δ10`` of the intensity jump at a repayment, ``>= 0``.
    delta11 : float
        Part ``δ11`` of the jump proportional to the repaid fraction ``R``, ``>= 0``.
    rho : float
        Discount rate ``ρ`` per year, ``>= 0`` (``> 0`` for the infinite horizon).
    r_min, r_max : float
        Support of the repaid fraction ``R ~ U[r_min, r_max]``,
        ``0 < r_min <= r_max <= 1`` (``r_min == r_max`` means ``R`` is that constant).
    lambda0 : float
        Intensity ``λ0`` at time 0, ``>= 0``.

    Raises
    ------
    InputError
        (a ``ValueError``) naming the parameter, its value and what is allowed.
    """

    lambda_inf: float = 0.1
    kappa: float = 0.7
    delta10: float = 0.02
    delta11: float = 0.5
    rho: float = 0.06
    r_min: float = 0.1
    r_max: float = 1.0
    lambda0: float = 0.11

    def __post_init__(self) -> None:
        """Coerce the fields to float and check them."""
        for f in fields(self):
            object.__setattr__(self, f.name, _check_real(f.name, getattr(self, f.name)))
        for name in ("lambda_inf", "delta10", "delta11", "rho", "lambda0"):
            if getattr(self, name) < 0.0:
                raise InputError(f"{name} = {getattr(self, name)!r}: must be >= 0")
        if self.kappa <= 0.0:
            raise InputError(f"kappa = {self.kappa!r}: must be > 0")
        if not 0.0 < self.r_min <= 1.0:
            raise InputError(f"r_min = {self.r_min!r}: must satisfy 0 < r_min <= r_max <= 1")
        if not self.r_min <= self.r_max <= 1.0:
            raise InputError(
                f"r_max = {self.r_max!r}: must satisfy 0 < r_min <= r_max <= 1 "
                f"(r_min = {self.r_min!r})"
            )

    @property
    def mean_r(self) -> float:
        """Mean repaid fraction ``E[R] = (r_min + r_max)/2``."""
        return 0.5 * (self.r_min + self.r_max)


def _check_params(params: object) -> CGWParams:
    if not isinstance(params, CGWParams):
        raise InputError(f"params = {params!r}: must be a CGWParams")
    return params


# --------------------------------------------------------------------------- quadrature


@lru_cache(maxsize=64)
def _legendre(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def _r_quadrature(params: CGWParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gauss–Legendre nodes and probability weights for ``R ~ U[r_min, r_max]``.

    The integrands are ``(1 - r)·exp(c·r)`` times smooth factors with ``|c| <= δ11/κ``
    (``|B| <= 1/κ``); the order is chosen so that ``|c|·half-width`` is well resolved.
    """
    half = 0.5 * (params.r_max - params.r_min)
    if half == 0.0:
        return np.array([params.r_min]), np.array([1.0])
    scale = params.delta11 * half / params.kappa
    n = min(_MAX_QUAD, 24 + math.ceil(2.0 * scale))
    x, w = _legendre(n)
    mid = 0.5 * (params.r_max + params.r_min)
    return mid + half * x, 0.5 * w


# --------------------------------------------------------------------------- continuous


def _solve_continuous(params: CGWParams, horizon_years: float) -> tuple[float, float, float]:
    """Integrate ``(A, B, J)`` to ``horizon_years``; return ``(A, B, J)`` there."""
    r, w = _r_quadrature(params)
    jump = params.delta10 + params.delta11 * r
    w_keep = w * (1.0 - r)
    kappa, lam_inf, lam0, rho = params.kappa, params.lambda_inf, params.lambda0, params.rho

    def rhs(t: float, y: NDArray[np.float64]) -> list[float]:
        a, b, _ = y
        db = -kappa * b + float(w_keep @ np.exp(b * jump)) - 1.0
        da = kappa * lam_inf * b
        dj = -math.exp(-rho * t + a + b * lam0) * (da + db * lam0)
        return [da, db, dj]

    sol = solve_ivp(
        rhs,
        (0.0, horizon_years),
        [0.0, 0.0, 0.0],
        method="DOP853",
        rtol=_RTOL,
        atol=_ATOL,
    )
    if not sol.success:  # pragma: no cover - smooth bounded system
        raise RuntimeError(f"Riccati ODE failed: {sol.message}")
    a, b, j = sol.y[:, -1]
    return float(a), float(b), float(j)


def continuous_value(params: CGWParams, horizon_years: float) -> dict[str, float]:
    """No-action value of the continuous CGW model over a finite horizon.

    Parameters
    ----------
    params : CGWParams
        Model parameters (``params.lambda0`` is the starting intensity).
    horizon_years : float
        Horizon ``T`` in years, ``>= 0``.

    Returns
    -------
    dict
        ``{"collected_fraction": 1 - E[W_T]/w0,
        "discounted_fraction": E[∫_0^T e^{-ρt}(-dW_t)]/w0}`` (both per unit of balance).

    Raises
    ------
    InputError
        (a ``ValueError``) if ``horizon_years`` is negative or not finite.
    """
    params = _check_params(params)
    horizon = _check_real("horizon_years", horizon_years)
    if horizon < 0.0:
        raise InputError(f"horizon_years = {horizon_years!r}: must be >= 0")
    if horizon == 0.0:
        return {"collected_fraction": 0.0, "discounted_fraction": 0.0}
    a, b, j = _solve_continuous(params, horizon)
    return {
        "collected_fraction": -math.expm1(a + b * params.lambda0),
        "discounted_fraction": j,
    }


def continuous_value_infinite(params: CGWParams) -> float:
    """Discounted collected fraction of the continuous CGW model over an infinite horizon.

    The ODE is integrated to ``T1 = 40/ρ`` (where ``e^{-ρT1} < 5e-18``) and the remainder
    is added in closed form assuming ``B`` has reached its fixed point.

    Parameters
    ----------
    params : CGWParams
        Model parameters; ``params.rho`` must be ``> 0``.

    Returns
    -------
    float
        ``E[∫_0^∞ e^{-ρt}(-dW_t)]/w0``.

    Raises
    ------
    InputError
        (a ``ValueError``) if ``params.rho == 0``.
    """
    params = _check_params(params)
    if params.rho <= 0.0:
        raise InputError(f"rho = {params.rho!r}: must be > 0 for the infinite horizon")
    t1 = 40.0 / params.rho
    a, b, j = _solve_continuous(params, t1)
    slope = -params.kappa * params.lambda_inf * b  # -A'(t) >= 0 once B has converged
    tail = math.exp(-params.rho * t1 + a + b * params.lambda0) * slope / (params.rho + slope)
    return j + tail


# --------------------------------------------------------------------------- discrete


def _lagrange_matrix(lo: float, step: float, n: int, points: NDArray[np.float64]) -> sp.csr_matrix:
    """Sparse matrix ``M`` with ``M @ f(grid) = p(points)``, ``p`` local cubic Lagrange.

    ``grid = lo + step·arange(n)``; each point uses the 4 nodes around it (shifted inwards
    at the ends). ``points`` must lie in ``[lo, lo + (n - 1)·step]``.
    """
    u = (points - lo) / step
    first = np.clip(np.floor(u).astype(np.int64) - (_ORDER // 2 - 1), 0, n - _ORDER)
    weights = np.ones((points.size, _ORDER))
    for j in range(_ORDER):
        for k in range(_ORDER):
            if k != j:
                weights[:, j] *= (u - (first + k)) / (j - k)
    rows = np.repeat(np.arange(points.size), _ORDER)
    cols = (first[:, None] + np.arange(_ORDER)[None, :]).ravel()
    return sp.csr_matrix((weights.ravel(), (rows, cols)), shape=(points.size, n))


def _default_lambda_max(params: CGWParams) -> float:
    return max(params.lambda0, params.lambda_inf) + max(
        1.0, 25.0 * (params.delta10 + params.delta11 * params.r_max)
    )


def _discrete_m(
    params: CGWParams, n_days: int, dt: float, grid_step: float, hi: float
) -> NDArray[np.float64]:
    """Return ``log m_k`` for ``k = 0 … n_days``, started from ``params.lambda0``.

    ``m_k`` is the expected fraction of the balance still owed after ``k`` daily steps.
    """
    lo = min(params.lambda0, params.lambda_inf)
    n = max(_ORDER, math.ceil((hi - lo) / grid_step - 1e-9) + 1)
    step = (hi - lo) / (n - 1)
    x = lo + step * np.arange(n)
    x[-1] = hi

    decay = math.exp(-params.kappa * dt)
    beta = -math.expm1(-params.kappa * dt) / params.kappa
    r, w = _r_quadrature(params)
    jump = params.delta10 + params.delta11 * r
    w_keep = w * (1.0 - r)

    lam_next = np.clip(params.lambda_inf + (x - params.lambda_inf) * decay, lo, hi)
    lam_jump = np.minimum(lam_next[:, None] + jump[None, :], hi).ravel()
    m_stay = _lagrange_matrix(lo, step, n, lam_next)
    m_jump = _lagrange_matrix(lo, step, n, lam_jump)
    m_start = _lagrange_matrix(lo, step, n, np.array([params.lambda0]))

    big_lambda = np.maximum(params.lambda_inf * dt + (x - params.lambda_inf) * beta, 0.0)
    log_q = -big_lambda  # log P(no repayment today)
    p = -np.expm1(-big_lambda)  # P(one repayment today)
    n_r = r.size

    out = np.empty(n_days + 1)
    out[0] = 0.0
    log_v = np.zeros(n)  # log V for 0 days to go
    for k in range(1, n_days + 1):
        stay = m_stay @ log_v
        jumped = (m_jump @ log_v).reshape(n, n_r)
        shift = np.maximum(stay, jumped.max(axis=1))  # log-sum-exp against underflow
        total = np.exp(log_q + stay - shift) + p * (np.exp(jumped - shift[:, None]) @ w_keep)
        log_v = shift + np.log(total)
        out[k] = (m_start @ log_v)[0]
    return out


def discrete_daily(
    params: CGWParams,
    horizon_days: int,
    days_per_year: int = 365,
    *,
    grid_step: float = _GRID_STEP,
    lambda_max: float | None = None,
) -> dict[str, float]:
    """Exact expectation of the simulator's daily scheme, by backward dynamic programming.

    Parameters
    ----------
    params : CGWParams
        Model parameters (``params.lambda0`` is the intensity at the start of day 0).
    horizon_days : int
        Number of daily steps ``D``, ``>= 0``; payments of days ``0 … D-1`` count.
    days_per_year : int, optional
        Steps per year, ``dt = 1/days_per_year`` (default 365), ``>= 1``.
    grid_step : float, optional, keyword-only
        Spacing of the uniform ``λ`` grid (default 0.05), ``> 0``.
    lambda_max : float, optional, keyword-only
        Top of the ``λ`` grid; intensities above it are treated as ``lambda_max``.
        Default ``max(λ0, λ∞) + max(1, 25(δ10 + δ11·r_max))``; must exceed
        ``max(λ0, λ∞)``.

    Returns
    -------
    dict
        ``{"collected_fraction": 1 - E[W_D]/w0,
        "discounted_fraction": E[Σ_d e^{-ρ(d+1)dt} R_d W_d]/w0}``.

    Raises
    ------
    InputError
        (a ``ValueError``) naming the bad argument.
    """
    params = _check_params(params)
    n_days = _check_int("horizon_days", horizon_days, 0)
    dpy = _check_int("days_per_year", days_per_year, 1)
    step = _check_real("grid_step", grid_step)
    if step <= 0.0:
        raise InputError(f"grid_step = {grid_step!r}: must be > 0")
    top = max(params.lambda0, params.lambda_inf)
    if lambda_max is None:
        hi = _default_lambda_max(params)
    else:
        hi = _check_real("lambda_max", lambda_max)
        if hi <= top:
            raise InputError(
                f"lambda_max = {lambda_max!r}: must be > max(lambda0, lambda_inf) = {top!r}"
            )
    if n_days == 0:
        return {"collected_fraction": 0.0, "discounted_fraction": 0.0}

    dt = 1.0 / dpy
    log_m = _discrete_m(params, n_days, dt, step, hi)
    # Day k pays W_k - W_{k+1}, dated (k + 1)·dt: sum of e^{-ρ(k+1)dt}(m_k - m_{k+1}).
    m = np.exp(log_m[:-1])
    paid = m * -np.expm1(np.diff(log_m))
    discount = np.exp(-params.rho * dt * np.arange(1, n_days + 1))
    return {
        "collected_fraction": -math.expm1(float(log_m[-1])),
        "discounted_fraction": float(paid @ discount),
    }


def discretization_error(
    params: CGWParams, horizon_days: int, days_per_year: int = 365
) -> dict[str, float]:
    """Continuous-model value minus the daily scheme's value, per key.

    Parameters
    ----------
    params : CGWParams
        Model parameters.
    horizon_days : int
        Horizon in days, ``>= 0``; the continuous horizon is ``horizon_days/days_per_year``.
    days_per_year : int, optional
        Steps per year of the discrete scheme (default 365).

    Returns
    -------
    dict
        ``{"collected_fraction": …, "discounted_fraction": …}``, each
        :func:`continuous_value` minus :func:`discrete_daily`.

    Raises
    ------
    InputError
        (a ``ValueError``) naming the bad argument.
    """
    n_days = _check_int("horizon_days", horizon_days, 0)
    dpy = _check_int("days_per_year", days_per_year, 1)
    cont = continuous_value(params, n_days / dpy)
    disc = discrete_daily(params, n_days, dpy)
    return {key: cont[key] - disc[key] for key in cont}


# --------------------------------------------------------------------------- report


def _reference_table() -> str:
    """Recompute the table of the module docstring."""
    lines = [
        "                  collected fraction                  discounted fraction",
        "lam0   days   continuous  discrete     err        continuous  discrete     err",
    ]
    for lam0 in (0.11, 1.0):
        params = CGWParams(lambda0=lam0)
        for days in (365, 730, 1825):
            c = continuous_value(params, days / 365)
            d = discrete_daily(params, days)
            cols = []
            for key in ("collected_fraction", "discounted_fraction"):
                cols.append(f"{c[key]:.9f} {d[key]:.9f}  {c[key] - d[key]:.2e}")
            lines.append(f"{lam0:<5.2f}  {days:>4d}   {cols[0]}    {cols[1]}")
        inf = continuous_value_infinite(params)
        lines.append(f"{lam0:<5.2f}  {'inf':>4s}   {'':34s}    {inf:.9f}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(_reference_table())
