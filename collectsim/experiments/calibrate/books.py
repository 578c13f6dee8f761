"""Smaller copies of a fitted book, for the simulations a calibration runs many times.

The fit checks, the backtest and the simulated moments simulate the fitted experiment again
and again; at the size of a large history (10^6 accounts) each simulation costs what the
history's own did. A rate or share of a book of n independent accounts has the same mean at
any size and a variance proportional to 1/n; a count or an amount has a mean and a variance
proportional to n. So a book a fraction f of the size, simulated R times, predicts the
full-size value as well, once its spread is rescaled — with the centre's own noise counted:
the replications' mean carries 1/(f·R) of a full-size history's variance instead of 1/R
(:func:`prediction_band`). The collectors scale with the book (a team's
``headcount_per_100k`` does so by itself; an absolute ``headcount`` is scaled here), so
capacity per account — what cuts a strategy's requests — stays the fitted book's, up to the
rounding of a head count.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from scipy import stats

from collectsim.errors import InputError

__all__ = ["scaled_book", "prediction_band", "CHECK_ACCOUNTS"]

#: Default size of the books the fit checks and the backtest simulate (``--check-accounts``).
CHECK_ACCOUNTS = 200_000


def _total_accounts(config: dict) -> int:
    from collectsim.experiments.files import experiment_from_dict  # lazy: start-up time

    return int(experiment_from_dict(copy.deepcopy(config), name="size").scenario.portfolio.total_accounts)


def scaled_book(config: dict, accounts: int) -> tuple[dict, float]:
    """A copy of the experiment configuration ``config`` whose book holds about ``accounts``
    accounts over its horizon (opening stock and inflow), and the *scale*: the accounts of
    ``config``'s book over those of the copy (1.0, and ``config`` copied unchanged, when the
    book is not larger than ``accounts``).

    Scaled by f = ``accounts`` / the book's accounts: ``portfolio.accounts`` (rounded, at least
    1) and ``portfolio.inflow_per_day`` (``inflow_rate_per_day`` is a share of the stock, and
    scales with it); every team's absolute ``headcount`` (rounded, at least 1 when it was
    positive; ``headcount_per_100k`` scales by itself). Everything else is ``config``'s."""
    if not isinstance(accounts, (int, np.integer)) or isinstance(accounts, bool) or accounts < 1:
        raise InputError(f"check accounts = {accounts!r}: must be a whole number >= 1")
    total = _total_accounts(config)
    out = copy.deepcopy(config)
    if total <= accounts:
        return out, 1.0
    f = accounts / total
    pf = out["portfolio"]
    pf["accounts"] = max(1, int(round(pf["accounts"] * f)))
    if pf.get("inflow_per_day") is not None:
        pf["inflow_per_day"] = float(pf["inflow_per_day"]) * f
    for team in out.get("teams", []):
        if team.get("headcount") is not None and team["headcount"] > 0:
            team["headcount"] = max(1, int(round(team["headcount"] * f)))
    return out, total / _total_accounts(out)


def prediction_band(values: np.ndarray, *, scale: float = 1.0, extensive: bool = False,
                    level: float = 0.95) -> tuple[float, float, float, float, float, float]:
    """The band one more full-size history would fall in, from replications ``values`` of a
    book ``scale`` times smaller (:func:`scaled_book`).

    With R finite replications, mean m and sample sd s: a rate or share (``extensive``
    False) has the full-size mean m and sd s/√scale; a count or amount (``extensive`` True)
    the mean scale·m and sd s·√scale. The band is mean ± t · sd · √(1 + scale/R), t Student's
    quantile at (1 + level)/2 on R − 1 degrees of freedom — the replications' mean carries
    scale/R of a full-size history's variance — and never below 0 (every statistic here is
    non-negative). Returns (mean, sd, lo, hi, q_lo, q_hi): ``q_lo``, ``q_hi`` are the
    replications' own (1 ∓ level)/2 quantiles moved to the full-size mean and spread. Fewer
    than two replications: the mean (or NaN) and NaN for the rest."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not scale >= 1.0 or not math.isfinite(scale):
        raise InputError(f"scale = {scale!r}: must be a number >= 1 (the full-size book over the simulated one)")
    if len(v) == 0:
        return (np.nan,) * 6
    m = float(v.mean())
    mean = m * scale if extensive else m
    spread = math.sqrt(scale) if extensive else 1.0 / math.sqrt(scale)
    if len(v) < 2:
        return (mean, np.nan, np.nan, np.nan, np.nan, np.nan)
    sd = float(np.std(v, ddof=1)) * spread
    t = float(stats.t.ppf((1 + level) / 2, len(v) - 1))
    half = t * sd * math.sqrt(1 + scale / len(v))
    q_lo, q_hi = (mean + (q - m) * spread for q in np.quantile(v, [(1 - level) / 2, (1 + level) / 2]))
    return mean, sd, max(0.0, mean - half), mean + half, float(q_lo), float(q_hi)
