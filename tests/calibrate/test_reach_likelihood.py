"""The reach fit (:func:`collectsim.experiments.calibrate.likelihood.fit_connect`): its
quadrature against scipy's adaptive integral, and its estimates on a design with no selection."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from collectsim.experiments.calibrate import likelihood as lk
from collectsim.scenario import Scenario

# (cell rate q, attempts n, connects y) rows of one account: a few contacts, many, and one
# whose rate reaches 1 inside the bulk of ρ (the integrand's kink) with misses
PATTERNS = [
    [(0.24, 3, 1)],
    [(0.24, 60, 14), (0.66, 40, 27)],
    [(0.9, 30, 29), (0.3, 20, 6)],
    [(0.66, 90, 90)],
]


def _quad(rows, s):
    """log E_z[Π p^y (1 − p)^(n − y)] by scipy's adaptive quadrature, split at each kink."""
    def f(z):
        rho = math.exp(s * z - 0.5 * s * s)
        out = stats.norm.pdf(z)
        for q, n, y in rows:
            p = min(q * rho, 1.0 - 1e-12)
            out *= p**y * (1 - p) ** (n - y)
        return out
    kinks = sorted((math.log(1 / q) + 0.5 * s * s) / s for q, _, _ in rows)
    edges = [-lk.REACH_Z, *[k for k in kinks if abs(k) < lk.REACH_Z], lk.REACH_Z]
    total = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=500)[0] for a, b in itertools.pairwise(edges))
    return math.log(total)


@pytest.mark.parametrize("s", [0.3, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("rows", PATTERNS)
def test_quadrature_matches_an_adaptive_integral(rows, s):
    got = _engine_rule(rows, s)
    # 1e-6 in the log-likelihood of one account: over 10^5 accounts the error stays below 0.1,
    # against the 0.5 change of the log-likelihood that moves an estimate by one standard error
    assert got == pytest.approx(_quad(rows, s), abs=1e-6)


def _engine_rule(rows, s):
    t, wt = lk._reach_rule()
    q = np.array([r[0] for r in rows])
    n = np.array([r[1] for r in rows], dtype=float)
    y = np.array([r[2] for r in rows], dtype=float)
    value, _ = lk._connect_kernel(np.log(q), s, np.arange(len(rows)), n, y, np.array([0]), np.array([len(rows)]),
                                  np.array([1.0]), t, wt, lk.REACH_PANEL, lk.REACH_Z)
    return value


@pytest.mark.parametrize("s", [0.3, 1.0])
@pytest.mark.parametrize("rows", PATTERNS)
def test_the_analytic_gradient_is_the_derivative(rows, s):
    """The kernel's gradient in (log q, σ) equals a central difference of its value: to 0.1 %
    in general, to 1 % for an account connected 90 times out of 90 (its integrand rises by
    e^22 across one panel, where the rule's error in the derivative shows)."""
    t, wt = lk._reach_rule()
    q = np.array([r[0] for r in rows])
    n = np.array([r[1] for r in rows], dtype=float)
    y = np.array([r[2] for r in rows], dtype=float)

    def f(th):
        return lk._connect_kernel(th[:-1].copy(), float(th[-1]), np.arange(len(rows)), n, y, np.array([0]),
                                  np.array([len(rows)]), np.array([1.0]), t, wt, lk.REACH_PANEL, lk.REACH_Z)

    th = np.r_[np.log(q), s]
    _, grad = f(th)
    h = 1e-5
    for j in range(len(th)):
        e = np.zeros_like(th)
        e[j] = h
        num = (f(th + e)[0] - f(th - e)[0]) / (2 * h)
        rel = 1e-2 if rows[0][1] == rows[0][2] == 90 else 1e-3
        assert grad[j] == pytest.approx(num, rel=rel, abs=1e-5), (j, grad[j], num)


def test_fit_recovers_reach_on_a_design_without_selection():
    """Every account gets the same contacts, outcomes from the engine's law: the estimates
    must be within 3.5 standard errors of the truth (24 Gauss–Hermite nodes were 7–14 off)."""
    sc = Scenario()
    rng = np.random.default_rng(20261202)
    n, sigma = 3000, 0.5
    rho = np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
    plan = [("sms", 10, 26), ("call", 10, 20), ("call", 18, 20), ("visit", 11, 6)]
    frames = []
    for c, h, k in plan:
        q = sc.channels[c].connect * sc.channels[c].connect_by_hour[h]
        hit = rng.random((n, k)) < np.minimum(1.0, q * rho)[:, None]
        frames.append(pd.DataFrame({"account": np.repeat(np.arange(n), k), "day": 0, "hour": h, "channel": c,
                                    "outcome": np.where(hit.ravel(), "connect", "no_answer")}))
    contacts = pd.concat(frames, ignore_index=True).sort_values("account", kind="stable")
    truth = {f"channels.{c}.connect": sc.channels[c].connect for c, _, _ in plan}
    truth |= {f"segments.{i}.reachability_sigma": sigma for i in range(len(sc.segments))}
    est = {e.name: e for e in lk.fit_connect(contacts, sc)}
    for name, value in truth.items():
        e = est[name]
        assert e.identified, name
        assert abs(e.estimate - value) < 3.5 * e.se, (name, e.estimate, e.se, value)
