"""Smaller copies of a fitted book, for the simulations a calibration runs many times.

The fit checks, the backtest and the simulated moments simulate the fitted experiment again
and again; at the size of a large history (10^6 accounts) each simulation costs what the
history's own did. A rate or share of a book of n independent accounts has the same mean at
any size and a variance proportional to 1/n; a count or an amount has a mean and a variance
proportional to n. So a book a fraction f of the size, simulated R times, predicts the
full-size value as well, once its spread is rescaled — with the centre's own noise counted:
the replications' mean carries 1/(f·R) of a full-size history's variance instead of 1/R
(:func:`prediction_band`). The collectors scale with the book (:func:`scale_teams`: the
head count in proportion, its rounding made up in minutes a day), so capacity per account —
what cuts a strategy's requests — stays the fitted book's.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from scipy import stats

from collectsim.errors import InputError

__all__ = ["scaled_book", "scale_teams", "prediction_band", "CHECK_ACCOUNTS"]

#: Default size of the books the fit checks and the backtest simulate (``--check-accounts``).
CHECK_ACCOUNTS = 200_000
_MAX_MINUTES = 1440.0  # Team.minutes_per_day's upper bound


def scale_teams(teams: list[dict], n_data: int, n_sim: int) -> list[str]:
    """Set each team of ``teams`` (experiment-file dicts, changed in place) to the capacity per
    account it has in a book of ``n_data`` accounts (the opening stock the head count is
    resolved on), in a book of ``n_sim``: an absolute ``headcount`` of round(h · n_sim /
    n_data), at least 1, its ``minutes_per_day`` × target / head count so the rounding is made
    up (at most 1,440). Returns one note per team whose capacity had to be adjusted."""
    from collectsim.scenario.schema import Team  # lazy: start-up time

    notes = []
    for t in teams:
        team = Team.model_validate(t)
        h_data = team.resolved_headcount(n_data)
        target = h_data * n_sim / max(n_data, 1)
        h = max(1, round(target)) if target > 0 else 0
        minutes = float(team.minutes_per_day)
        if h > 0 and h != target:
            minutes = min(minutes * target / h, _MAX_MINUTES)
        was = "headcount" if t.get("headcount") is not None else "headcount_per_100k"
        if was == "headcount" or h != team.resolved_headcount(n_sim) or h != target:
            notes.append(f"team {t['name']}: {h_data} collectors for the data's {n_data:,} accounts "
                         f"({was}) simulated as {h} for {n_sim:,} at {minutes:.1f} minutes a day")
        t.pop("headcount_per_100k", None)
        t["headcount"] = int(h)
        t["minutes_per_day"] = minutes
    return notes


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
    scales with it); every team to the same capacity per account (:func:`scale_teams`).
    Everything else is ``config``'s."""
    if not isinstance(accounts, (int, np.integer)) or isinstance(accounts, bool) or accounts < 1:
        raise InputError(f"check accounts = {accounts!r}: must be a whole number >= 1")
    total = _total_accounts(config)
    out = copy.deepcopy(config)
    if total <= accounts:
        return out, 1.0
    f = accounts / total
    pf = out["portfolio"]
    n_data = int(pf["accounts"])
    pf["accounts"] = max(1, int(round(n_data * f)))
    if pf.get("inflow_per_day") is not None:
        pf["inflow_per_day"] = float(pf["inflow_per_day"]) * f
    scale_teams(out.get("teams", []), n_data, pf["accounts"])
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
