"""Simulation-based estimation: what has no tractable likelihood, fitted by running the engine.

The repayment intensity's level depends on latent traits a history never shows (the
segment, the ability regime, the willingness), so it has no likelihood in closed form.
:func:`fit_repayment_level` estimates it by the method of simulated moments, exactly
identified: one parameter, a common scale ``s`` of every segment's ``lambda_inf_per_year``
(their ratios keep the base's values), and one moment, the share of the opening stock that
left collections cured or paid within the window. The engine simulates the fitted book
under the observed policy at ``s`` with common random numbers (the same seeds at every
``s``, so the simulated moment is a fixed function of ``s``), and Brent's method
(``scipy.optimize.brentq``) finds the ``s`` where it equals the data's.

Standard error (the delta method for an exactly identified MSM estimator): with ``m̂`` the
data's share over ``N`` accounts and ``m(s)`` the simulated one over ``R`` books of ``n``,

    se(log s) = √(m(1 − m)/N + m(1 − m)/(nR)) / |∂m/∂log s|

(accounts independent; the slope a central difference of the common-random-number moment
at ±0.1 in log s). It is conditional on everything else the calibration holds or fitted.

The share need not rise with the level: with ``entry_selection = "survivors"`` (the
default) an opening stock at DPD d holds the accounts that did not pay for d − 1 days, and a
higher level leaves a stock of slower payers and more accounts in hardship (in the default
book the share falls from 0.92 at 1/20 of the level to 0.61 at 3 times it). Brent's method
needs only a change of sign across the range; a moment that is not monotone could cross
twice, and the estimate is then the crossing Brent's method finds.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from collectsim.experiments.calibrate.likelihood import _Z, Estimate
from collectsim.experiments.files import experiment_from_dict
from collectsim.history.read import History
from collectsim.vocabulary.accounts import CURED, PAID

__all__ = ["resolved_share", "simulated_share", "fit_repayment_level", "LEVEL_BOUNDS"]

#: The scale's search range (log s in ±log 20: the level from 1/20 to 20 times the base's).
LEVEL_BOUNDS = (1 / 20, 20.0)
_METHOD = ("simulated moments: a common scale of the base's segment intensities (their ratios kept: segments "
           "are not observed) matching the share of the opening stock cured or paid within the window, the engine "
           "run under the observed policy with common random numbers; conditional on every other parameter")


def _upper_bound(field: str) -> float:
    """The schema's upper bound of a segment field (its ``le``)."""
    from collectsim.scenario.schema import Segment  # lazy: start-up time

    for m in Segment.model_fields[field].metadata:
        if hasattr(m, "le"):
            return float(m.le)
    return math.inf


def resolved_share(h: History) -> tuple[float, int] | None:
    """The data's moment: the share of the opening stock (entry day 0) whose outcome is
    ``cured`` or ``paid`` within the window, and the stock's size; None without an
    ``outcomes`` table or an opening stock."""
    stock = h.accounts.loc[h.accounts["entry_day"].to_numpy() == 0, "account"].to_numpy()
    if len(stock) == 0 or h.outcomes is None or "status" not in h.outcomes:
        return None
    o = h.outcomes
    good = o.loc[o["status"].astype(str).isin(["cured", "paid"]), "account"].to_numpy()
    return float(np.isin(stock, good).mean()), int(len(stock))


def simulated_share(config: dict, scale: float, policy: str, seeds: list[int], base_dir: Path | None = None) -> float:
    """The moment in books simulated from ``config`` with every segment's λ∞ × ``scale``
    under ``policy``, averaged over ``seeds`` (the same seeds at every scale)."""
    from collectsim.model import CollectionsModel  # lazy: start-up time
    from collectsim.policies import prepare_policy  # lazy: start-up time

    cfg = copy.deepcopy(config)
    for seg in cfg["segments"]:
        seg["lambda_inf_per_year"] = seg["lambda_inf_per_year"] * scale
    sc = experiment_from_dict(cfg, name="msm", base_dir=base_dir).scenario
    days = sc.portfolio.horizon_days
    shares = []
    for s in seeds:
        model = CollectionsModel(sc, prepare_policy(policy, sc), seed=s, log_contacts=False)
        model.run_for(days)
        pop = model.borrowers
        stock = pop.entry_day == 0
        shares.append(float(np.isin(pop.status[stock], (CURED, PAID)).mean()))
    return float(np.mean(shares))


def fit_repayment_level(h: History, config: dict, policy: str, *, base_dir: Path | None = None,
                        n_sim: int = 20_000, reps: int = 4, seed: int = 0) -> list[Estimate]:
    """``segments.<k>.lambda_inf_per_year`` for every segment by simulated moments (see the
    module's docstring); ``config`` is the fitted experiment's configuration (its other
    estimates in place), ``policy`` the observed policy file. Books of ``min(n_sim, N)``
    accounts, ``reps`` seeds."""
    from scipy.optimize import brentq  # lazy: start-up time

    priors = [float(s["lambda_inf_per_year"]) for s in config["segments"]]
    names = [f"segments.{k}.lambda_inf_per_year" for k in range(len(priors))]

    def none(why: str) -> list[Estimate]:
        return [Estimate(n, p, None, None, _METHOD, False, p, why) for n, p in zip(names, priors, strict=True)]

    got = resolved_share(h)
    if got is None:
        return none("needs an outcomes table and an opening stock")
    m_data, n_data = got
    if not 0 < m_data < 1:
        return none(f"the share cured or paid is {m_data:g}: an edge identifies no level")
    cfg = copy.deepcopy(config)
    cfg["portfolio"]["accounts"] = n = int(min(n_sim, max(n_data, 1000)))
    cfg["portfolio"]["inflow_per_day"] = None
    cfg["portfolio"].pop("inflow_rate_per_day", None)
    seeds = [seed * 1000 + 17 + r for r in range(reps)]

    def gap(log_s: float) -> float:
        return simulated_share(cfg, math.exp(log_s), policy, seeds, base_dir) - m_data

    ceiling = _upper_bound("lambda_inf_per_year") / max(priors)  # the fastest segment stays inside its field's bounds
    lo, hi = math.log(LEVEL_BOUNDS[0]), math.log(min(LEVEL_BOUNDS[1], ceiling))
    g_lo, g_hi = gap(lo), gap(hi)
    if g_lo * g_hi > 0:
        return none(f"the share cured or paid ({m_data:.3g}) is outside what a level in "
                    f"[{LEVEL_BOUNDS[0]:g}, {math.exp(hi):.3g}] × the base's gives ({g_lo + m_data:.3g}–{g_hi + m_data:.3g})")
    log_s = brentq(gap, lo, hi, xtol=1e-3)
    slope = (gap(log_s + 0.1) - gap(log_s - 0.1)) / 0.2
    var = m_data * (1 - m_data) * (1 / n_data + 1 / (n * reps))
    if slope == 0:
        return none("the share does not move with the level here (no slope to invert)")
    se_log = math.sqrt(var) / abs(slope)
    s = math.exp(log_s)
    out = []
    for name, p in zip(names, priors, strict=True):
        est = p * s
        out.append(Estimate(name, est, est * se_log, (est * math.exp(-_Z * se_log), est * math.exp(_Z * se_log)),
                            _METHOD + f" (scale {s:.4g}, {reps} books of {n:,} accounts)", True, p))
    return out
