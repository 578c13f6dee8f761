"""Statistics of the comparison: intervals, paired tests, Holm, and coverage on known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from collectsim.experiments.compare import stats


def test_t_interval_matches_textbook_formula():
    x = np.array([3.1, 2.7, 3.6, 2.9, 3.3, 3.0])
    ci = stats.t_interval(x, 0.95)
    hw = sst.t.ppf(0.975, 5) * x.std(ddof=1) / math.sqrt(6)
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.halfwidth == pytest.approx(hw)
    assert (ci.low, ci.high) == pytest.approx((x.mean() - hw, x.mean() + hw))
    assert ci.n == 6


def test_t_interval_drops_nan_and_needs_two_values():
    assert stats.t_interval([1.0, np.nan, 3.0]).n == 2
    one = stats.t_interval([5.0])
    assert one.estimate == 5.0 and math.isnan(one.halfwidth)
    assert stats.t_interval([]).n == 0


def test_policy_paired_with_itself_differs_by_exactly_zero():
    x = np.random.default_rng(1).normal(1000, 50, size=8)
    pd_ = stats.paired_difference(x, x.copy())
    assert pd_.interval.estimate == 0.0
    assert pd_.interval.low == 0.0 and pd_.interval.high == 0.0 and pd_.interval.halfwidth == 0.0
    assert pd_.p_value == 1.0
    assert pd_.p_better == 0.5  # every replication a tie
    assert stats.paired_p_value(np.zeros(8), "wilcoxon") == 1.0


def test_paired_interval_narrower_than_unpaired_under_common_random_numbers():
    # a shared "portfolio luck" term (sd 100) dominates; the policy effect is +5 with its own noise (sd 3)
    rng = np.random.default_rng(7)
    luck = rng.normal(0, 100, size=10)
    champion = 1000 + luck + rng.normal(0, 3, size=10)
    challenger = 1005 + luck + rng.normal(0, 3, size=10)
    paired = stats.paired_difference(champion, challenger).interval
    unpaired = stats.unpaired_difference(champion, challenger)
    assert paired.estimate == pytest.approx(unpaired.estimate)
    assert paired.halfwidth < unpaired.halfwidth / 5
    assert paired.low > 0  # the +5 effect is visible only when paired
    assert unpaired.low < 0 < unpaired.high


def test_paired_coverage_is_nominal_on_a_known_answer():
    """95% paired t intervals cover the true difference ≈95% of the time (binomial tolerance)."""
    rng = np.random.default_rng(2024)
    trials, n, true_diff = 2000, 8, 2.5
    luck = rng.normal(0, 10, size=(trials, n))
    x = 50 + luck + rng.normal(0, 1.5, size=(trials, n))
    y = 50 + true_diff + luck + rng.normal(0, 1.5, size=(trials, n))
    covered = 0
    for i in range(trials):
        ci = stats.paired_difference(x[i], y[i]).interval
        covered += ci.low <= true_diff <= ci.high
    rate = covered / trials
    se = math.sqrt(0.95 * 0.05 / trials)
    assert abs(rate - 0.95) < 3.5 * se, rate


def test_unpaired_coverage_is_nominal_on_a_known_answer():
    rng = np.random.default_rng(99)
    trials, true_diff = 3000, -1.0
    x = rng.normal(10, 2, size=(trials, 6))
    y = rng.normal(10 + true_diff, 4, size=(trials, 9))  # unequal variances: Welch
    cis = [stats.unpaired_difference(x[i], y[i]) for i in range(trials)]
    covered = sum(ci.low <= true_diff <= ci.high for ci in cis)
    se = math.sqrt(0.95 * 0.05 / trials)
    assert abs(covered / trials - 0.95) < 3.5 * se


def test_p_values_agree_with_scipy_and_share_better_counts_ties_half():
    x = np.array([10.0, 11.0, 9.5, 10.2, 10.8, 9.9])
    y = x + np.array([0.5, 0.2, 0.9, -0.1, 0.4, 0.3])
    r = stats.paired_difference(x, y, test="t")
    assert r.p_value == pytest.approx(sst.ttest_rel(y, x).pvalue)
    w = stats.paired_difference(x, y, test="wilcoxon")
    assert w.p_value == pytest.approx(sst.wilcoxon(y - x).pvalue)
    assert r.p_better == pytest.approx(5 / 6)
    assert stats.paired_difference(x, y, higher_is_better=False).p_better == pytest.approx(1 / 6)
    assert math.isnan(stats.paired_difference(x, y, higher_is_better=None).p_better)
    assert stats.share_better([1.0, 0.0, -1.0, 0.0], True) == pytest.approx(0.5)


def test_constant_nonzero_difference_is_certain():
    x = np.arange(5.0)
    r = stats.paired_difference(x, x + 3.0)
    assert r.interval.estimate == 3.0 and r.interval.halfwidth == 0.0 and r.p_value == 0.0


def test_holm_known_values_and_nan_passthrough():
    adj = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adj == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adj = stats.holm([0.2, np.nan, 0.01])
    assert adj[0] == pytest.approx(0.2) and math.isnan(adj[1]) and adj[2] == pytest.approx(0.02)
    assert np.isnan(stats.holm([np.nan])).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=12))
def test_holm_never_below_raw_capped_at_one_and_order_preserving(ps):
    p = np.array(ps)
    adj = stats.holm(p)
    assert np.all(adj >= p - 1e-15) and np.all(adj <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)


@pytest.mark.parametrize("sd,target", [(10.0, 2.0), (3.0, 0.5), (1.0, 5.0)])
def test_reps_for_halfwidth_is_the_smallest_sufficient_n(sd, target):
    n = stats.reps_for_halfwidth(sd, target)
    hw = lambda k: sst.t.ppf(0.975, k - 1) * sd / math.sqrt(k)  # noqa: E731
    assert hw(n) <= target
    assert n == 2 or hw(n - 1) > target
    assert stats.reps_for_halfwidth(sd, target, n_max=3) <= 3
