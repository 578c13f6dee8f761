"""Statistics of replicated simulation output: confidence intervals, paired tests, corrections.

Everything here is a pure function of arrays of per-replication results (one value per
replication, replications independent of each other). The comparison
(:mod:`collectsim.experiments.compare`) runs every policy on the same seeds (common random
numbers), so the champion's and a challenger's results form *pairs*; the paired difference
``d_i = challenger_i − champion_i`` removes the variation the two share (same borrowers,
same luck), which is why :func:`paired_difference` gives much narrower intervals than
:func:`unpaired_difference` on the same data.

Methods (``docs/compare.md`` explains the choice):

* :func:`t_interval` — Student-t interval of a mean (replication means are close to normal
  because each replication aggregates thousands of accounts).
* :func:`paired_difference` — t interval of the mean paired difference, a paired test
  p-value (paired t, or the Wilcoxon signed-rank test) and the share of pairs in which the
  challenger does better.
* :func:`unpaired_difference` — Welch interval of a difference of means from independent
  samples (what one would get without common random numbers).
* :func:`holm` — Holm's step-down adjustment of p-values for several challengers.
* :func:`reps_for_halfwidth` — replications needed for an interval of a given half-width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as _st

__all__ = [
    "Interval",
    "PairedDifference",
    "t_interval",
    "paired_difference",
    "unpaired_difference",
    "paired_p_value",
    "share_better",
    "holm",
    "reps_for_halfwidth",
]

_NAN = float("nan")


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate:
        The mean (or difference of means).
    low, high:
        Ends of the interval (NaN when it cannot be computed, e.g. from one value).
    halfwidth:
        ``(high - low) / 2``.
    n:
        Number of values (pairs, for a paired difference) used.
    """

    estimate: float
    low: float
    high: float
    halfwidth: float
    n: int


@dataclass(frozen=True)
class PairedDifference:
    """The paired comparison of a challenger against the champion on one KPI.

    Attributes
    ----------
    interval:
        :class:`Interval` of the mean difference ``challenger − champion``.
    p_value:
        Two-sided p-value of "no difference" (paired t or Wilcoxon signed-rank), 1.0 when
        every difference is zero, NaN with fewer than two pairs.
    p_better:
        Share of pairs in which the challenger is better (ties count one half); NaN when
        the KPI has no better direction.
    """

    interval: Interval
    p_value: float
    p_better: float


def _clean(x) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    return a[np.isfinite(a)]


def _t_quantile(level: float, df: int) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level!r}: must be in (0, 1)")
    return float(_st.t.ppf(0.5 + level / 2.0, df))


def t_interval(x, level: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of ``x`` (non-finite values are dropped).

    Parameters
    ----------
    x:
        One value per independent replication.
    level:
        Confidence level in (0, 1).

    Returns
    -------
    Interval
        With NaN ends when fewer than two values remain.
    """
    a = _clean(x)
    n = len(a)
    if n == 0:
        return Interval(_NAN, _NAN, _NAN, _NAN, 0)
    m = float(a.mean())
    if n < 2:
        return Interval(m, _NAN, _NAN, _NAN, n)
    sd = float(a.std(ddof=1))
    hw = _t_quantile(level, n - 1) * sd / math.sqrt(n)
    return Interval(m, m - hw, m + hw, hw, n)


def paired_p_value(d, test: Literal["t", "wilcoxon"] = "t") -> float:
    """Two-sided p-value of "mean (t) or median (Wilcoxon) paired difference is zero".

    Parameters
    ----------
    d:
        Paired differences (non-finite values are dropped).
    test:
        ``"t"``: one-sample t test of the differences (the paired t test);
        ``"wilcoxon"``: Wilcoxon signed-rank test (exact for small samples without ties).

    Returns
    -------
    float
        1.0 when every difference is zero; NaN with fewer than two differences.
    """
    a = _clean(d)
    if len(a) < 2:
        return _NAN
    if np.all(a == 0.0):
        return 1.0
    if test == "t":
        if np.all(a == a[0]):  # no spread: the difference is certain
            return 0.0
        return float(_st.ttest_1samp(a, 0.0).pvalue)
    if test == "wilcoxon":
        return float(_st.wilcoxon(a, zero_method="wilcox").pvalue)
    raise ValueError(f"test = {test!r}: allowed: t, wilcoxon")


def share_better(d, higher_is_better: bool | None) -> float:
    """Share of paired differences in the better direction; ties (d = 0) count one half.

    Parameters
    ----------
    d:
        Paired differences ``challenger − champion``.
    higher_is_better:
        Direction of the KPI; ``None`` (no better direction) gives NaN.
    """
    a = _clean(d)
    if higher_is_better is None or len(a) == 0:
        return _NAN
    s = a if higher_is_better else -a
    return float(((s > 0).sum() + 0.5 * (s == 0).sum()) / len(a))


def paired_difference(
    champion,
    challenger,
    *,
    level: float = 0.95,
    test: Literal["t", "wilcoxon"] = "t",
    higher_is_better: bool | None = True,
) -> PairedDifference:
    """Paired comparison of ``challenger`` against ``champion`` (same seeds, same order).

    Parameters
    ----------
    champion, challenger:
        Per-replication values; element ``i`` of both comes from seed ``i``. Pairs with a
        non-finite value on either side are dropped.
    level:
        Confidence level of the interval.
    test:
        Paired test for the p-value (see :func:`paired_p_value`).
    higher_is_better:
        Direction of the KPI for :func:`share_better`.

    Returns
    -------
    PairedDifference
        Interval of the mean difference, p-value and share of pairs the challenger wins.
        A policy paired with itself gives a difference, interval and half-width of exactly 0.
    """
    x = np.asarray(champion, dtype=float).ravel()
    y = np.asarray(challenger, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {len(x)} and {len(y)}")
    ok = np.isfinite(x) & np.isfinite(y)
    d = y[ok] - x[ok]
    return PairedDifference(
        interval=t_interval(d, level),
        p_value=paired_p_value(d, test),
        p_better=share_better(d, higher_is_better),
    )


def unpaired_difference(x, y, level: float = 0.95) -> Interval:
    """Welch confidence interval of ``mean(y) − mean(x)`` for independent samples.

    This ignores any pairing: it is the interval a comparison *without* common random
    numbers would report, kept to show (and test) what pairing gains.

    Parameters
    ----------
    x, y:
        Independent samples (non-finite values dropped).
    level:
        Confidence level.
    """
    a, b = _clean(x), _clean(y)
    if len(a) < 2 or len(b) < 2:
        est = float(b.mean() - a.mean()) if len(a) and len(b) else _NAN
        return Interval(est, _NAN, _NAN, _NAN, min(len(a), len(b)))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    est = float(b.mean() - a.mean())
    se2 = va + vb
    if se2 == 0.0:
        return Interval(est, est, est, 0.0, min(len(a), len(b)))
    df = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    hw = float(_st.t.ppf(0.5 + level / 2.0, df) * math.sqrt(se2))
    return Interval(est, est - hw, est + hw, hw, min(len(a), len(b)))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (controls the family-wise error).

    Parameters
    ----------
    p_values:
        The raw p-values of one family (here: all challengers on one KPI). NaN entries are
        left NaN and do not count toward the family size.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same order as the input, each ≥ its raw value and ≤ 1.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def reps_for_halfwidth(sd: float, target: float, level: float = 0.95, n_min: int = 2, n_max: int = 10_000) -> int:
    """Smallest ``n`` with ``t(level, n−1) · sd / √n ≤ target`` (capped at ``n_max``).

    Parameters
    ----------
    sd:
        Standard deviation of one replication's value (e.g. of the paired difference).
    target:
        Wanted half-width of the interval (> 0).
    level:
        Confidence level.
    n_min, n_max:
        Bounds of the answer.
    """
    if target <= 0:
        raise ValueError(f"target = {target!r}: must be > 0")
    if not np.isfinite(sd):
        return n_max
    if sd == 0:
        return n_min
    n = max(n_min, math.ceil((_t_quantile(level, 10**6) * sd / target) ** 2))
    while n < n_max and _t_quantile(level, n - 1) * sd / math.sqrt(n) > target:
        n += 1
    return min(n, n_max)
