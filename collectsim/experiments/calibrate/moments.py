"""Simulation-based estimation: what has no tractable likelihood, fitted by running the engine.

The repayment intensity's level and the acceptance of promises and plans depend on latent
traits a history never shows (the segment, the ability regime, the willingness, the
collector's skill) and on the offer made, which a contact table does not record; they have
no likelihood in closed form; so does the charge-off level, which runs through the latent
ability regimes. :func:`fit_simulated_moments` estimates them jointly by the method of
simulated moments, exactly identified — up to four parameters, one moment each
(:data:`JOINT_MOMENTS`; ``collectsim calibrate`` fits the level by the repayment days'
likelihood, :mod:`~collectsim.experiments.calibrate.intensity`, and leaves it to these
moments only when that likelihood does not identify it):

- a common scale ``s`` of every segment's ``lambda_inf_per_year`` (their ratios keep the
  base's values) ↔ the share of the opening stock that left collections cured or paid;
- ``behaviour.ptp_accept`` ↔ promises per conversation (a right-party call or visit: the
  contacts that carry an offer);
- ``behaviour.plan_accept`` ↔ plans accepted per conversation;
- a common scale of ``regimes.bankruptcy_per_year`` (the hazards of a charge-off outside
  the buckets; a zero hazard stays zero) ↔ the share of the opening stock charged off
  within the window.

The engine simulates the fitted book under the observed policy (so the offers are the
lender's) with common random numbers — the same seeds at every trial value, so the
simulated moments are a fixed function of the parameters — and
``scipy.optimize.least_squares`` drives their gaps to the data's to zero.

Standard errors, the delta method for an exactly identified estimator: with ``G`` the
moments' Jacobian in the parameters (the solver's, forward differences of width 0.1),

    Cov(θ) = G⁻¹ (Σ_data + Σ_sim) G⁻ᵀ

where Σ_data is the covariance of the data's moments and Σ_sim that of the simulated ones
(R books of n accounts), each from the moments' account-level influence functions (every
moment is a ratio Σa/Σb over accounts; accounts are independent). It is conditional on
everything else the calibration holds or fitted.

The cure share need not rise with the level: with ``entry_selection = "survivors"`` (the
default) an opening stock at DPD d holds the accounts that did not pay for d − 1 days, and a
higher level leaves a stock of slower payers and more accounts in hardship (in the default
book the share falls from 0.92 at 1/20 of the level to 0.61 at 3 times it, measured with
the one-parameter version of this fit). The solver needs no monotonicity; a moment that is
not monotone could be matched twice, and the estimate is then the match the solver finds
from the base's values.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from collectsim.experiments.calibrate.likelihood import _Z, Estimate
from collectsim.experiments.files import experiment_from_dict
from collectsim.history.read import History
from collectsim.vocabulary.accounts import CHARGED_OFF, CURED, PAID
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["LEVEL_BOUNDS", "JOINT_MOMENTS", "data_moments", "fit_simulated_moments"]

#: The scale's search range (log s in ±log 20: the level from 1/20 to 20 times the base's).
LEVEL_BOUNDS = (1 / 20, 20.0)
_METHOD = ("simulated moments: a common scale of the base's segment intensities (their ratios kept: segments "
           "are not observed) matching the share of the opening stock cured or paid within the window, the engine "
           "run under the observed policy with common random numbers; conditional on every other parameter")


def _upper_bound(field: str) -> float:
    """The schema's upper bound of a segment field (its ``le``)."""
    from collectsim.scenario.base import field_bounds  # lazy: start-up time
    from collectsim.scenario.schema import Segment  # lazy: start-up time

    return field_bounds(Segment, field)[1]


# ------------------------------------------------------------- several at once ----------
_JOINT_METHOD = ("simulated moments, exactly identified and fitted jointly (scipy least_squares on the moments' "
                 "gaps), the engine run under the observed policy with common random numbers; the covariance "
                 "G⁻¹ (Σ_data + Σ_sim) G⁻ᵀ with the moments' account-level influence functions; conditional on "
                 "every other parameter")
#: The moments of :func:`fit_simulated_moments`, each with the parameter it identifies.
JOINT_MOMENTS: tuple[tuple[str, str, str], ...] = (
    ("level", "share of the opening stock cured or paid within the window", "segments.*.lambda_inf_per_year"),
    ("promise", "promises / conversations (right-party calls and visits: the contacts that carry an offer)",
     "behaviour.ptp_accept"),
    ("plan", "plans accepted / conversations", "behaviour.plan_accept"),
    ("chargeoff", "share of the opening stock charged off within the window", "regimes.bankruptcy_per_year.*"),
)
_PROMISE, _PLAN = 3, 4  # contact outcome codes (collectsim.history.schema.CONTACT_OUTCOMES)
_STEP = 0.1  # the forward difference's width on the parameters' unbounded scales
_HAZARD_MAX = 12.0  # a bankruptcy hazard's allowed range is [0, 12] a year (the regimes' field)
_ACCEPT_CAVEAT = ("known bias: the requested frequencies are fitted to the first half of each tier in the queue "
                  "(balance x score first, docs/data.md); in three recovery studies plan_accept still came out 0.016, "
                  "0.056 and 0.036 high (z +0.7, +2.1 and +1.6; ptp_accept z -0.1, +0.3 and -0.1), and 0.09 high when fitted to the "
                  "whole cell, as when the data's first half has too few contacts; read its interval as centred high")
_TALK = (CHANNELS.index("call"), CHANNELS.index("visit"))  # the channels whose right-party contacts carry an offer


def _account_moments(stock: np.ndarray, good: np.ndarray, rpc: np.ndarray, promise: np.ndarray,
                     plan: np.ndarray, lost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The moments of :data:`JOINT_MOMENTS` as ratios Σa/Σb over accounts, and each
    account's influence on them (ψ_ij = (a_ij − m_j b_ij)/Σ_i b_ij, so Cov(m) ≈ ψᵀψ)."""
    a = np.stack([stock * good, promise, plan, stock * lost], axis=1).astype(float)
    b = np.stack([stock, rpc, rpc, stock], axis=1).astype(float)
    tot = b.sum(axis=0)
    m = np.divide(a.sum(axis=0), tot, out=np.full(len(JOINT_MOMENTS), np.nan), where=tot > 0)
    psi = (a - m * b) / np.where(tot > 0, tot, 1.0)
    return m, psi


def data_moments(h: History) -> tuple[np.ndarray, np.ndarray, dict]:
    """The data's moments (:data:`JOINT_MOMENTS`), their influence functions and the event
    counts that say which are informative (promises, plans, right-party contacts, stock)."""
    from collectsim.experiments.calibrate.state import codes_of  # lazy: start-up time
    from collectsim.history.schema import CONTACT_OUTCOMES  # lazy: start-up time

    acc = h.accounts["account"].to_numpy(np.int64)
    order = np.argsort(acc)
    idx = lambda a: order[np.searchsorted(acc, a, sorter=order)]  # noqa: E731
    n = len(acc)
    stock = (h.accounts["entry_day"].to_numpy() == 0).astype(float)
    good, lost = np.zeros(n), np.zeros(n)
    if h.outcomes is not None and len(h.outcomes):
        status = h.outcomes["status"].astype(str)
        who_out = h.outcomes["account"].to_numpy(np.int64)
        good[idx(who_out[status.isin(["cured", "paid"]).to_numpy()])] = 1.0
        lost[idx(who_out[(status == "charged_off").to_numpy()])] = 1.0
    code = codes_of(h.contacts["outcome"], CONTACT_OUTCOMES)
    talk = np.isin(codes_of(h.contacts["channel"], CHANNELS), _TALK)
    who = idx(h.contacts["account"].to_numpy(np.int64))
    rpc = np.bincount(who, weights=(code >= 2) & talk, minlength=n)
    promise = np.bincount(who, weights=code == _PROMISE, minlength=n)
    plan = np.bincount(who, weights=code == _PLAN, minlength=n)
    m, psi = _account_moments(stock, good, rpc, promise, plan, lost)
    counts = {"stock": int(stock.sum()), "good": int((stock * good).sum()), "rpcs": int(rpc.sum()),
              "promises": int(promise.sum()), "plans": int(plan.sum()), "lost": int((stock * lost).sum())}
    return m, psi, counts


def _simulated_moments(cfg: dict, policy: str, seeds: list[int], base_dir: Path | None):
    """The moments over the books simulated from ``cfg`` (the seeds pooled) and their influence."""
    from collectsim.model import CollectionsModel  # lazy: start-up time
    from collectsim.policies import prepare_policy  # lazy: start-up time

    sc = experiment_from_dict(cfg, name="msm", base_dir=base_dir).scenario
    days = sc.portfolio.horizon_days
    parts = []
    for s in seeds:
        seen: dict[str, list] = {"acc": [], "code": [], "talk": []}

        def watch(o, seen=seen):
            seen["acc"].append(o.contact_account)
            seen["code"].append(o.contact_outcome)
            seen["talk"].append(np.isin(o.contact_channel, _TALK))

        model = CollectionsModel(sc, prepare_policy(policy, sc), seed=s, log_contacts=False, observer=watch)
        model.run_for(days)
        pop = model.borrowers
        order = np.argsort(pop.account_id)
        ids = pop.account_id[order]
        n = len(ids)
        acc = np.searchsorted(ids, np.concatenate(seen["acc"])) if seen["acc"] else np.zeros(0, np.int64)
        code = np.concatenate(seen["code"]) if seen["code"] else np.zeros(0, np.int8)
        talk = np.concatenate(seen["talk"]) if seen["talk"] else np.zeros(0, bool)
        stock = (pop.entry_day[order] == 0).astype(float)
        good = np.isin(pop.status[order], (CURED, PAID)).astype(float)
        parts.append((stock, good, np.bincount(acc, weights=(code >= 2) & talk, minlength=n),
                      np.bincount(acc, weights=code == _PROMISE, minlength=n),
                      np.bincount(acc, weights=code == _PLAN, minlength=n),
                      (pop.status[order] == CHARGED_OFF).astype(float)))
    return _account_moments(*(np.concatenate([p[j] for p in parts]) for j in range(6)))


def _estimate(name: str, key: str, prior: float, x: float, se_x: float, detail: str = "") -> Estimate:
    """One moment parameter from its solution ``x`` on its unbounded scale (the log of a scale
    of ``prior``, or the logit of a probability) and its standard error there. As for the
    likelihood fits, an interval as wide as the allowed range is no estimate: the parameter
    keeps its prior. On the logit scale the interval always fits inside [0, 1], so a
    probability's width is its Wald interval's, 2 · z · s.e.; a scaled field's range is
    [0, its upper bound]."""
    from scipy.special import expit  # lazy: start-up time

    if key in ("level", "chargeoff"):
        est = prior * math.exp(x)
        ci = (est * math.exp(-_Z * se_x), est * math.exp(_Z * se_x))
        se, note = est * se_x, ""
        wide = ci[1] - ci[0] >= (_upper_bound("lambda_inf_per_year") if key == "level" else _HAZARD_MAX)
    else:
        est = float(expit(x))
        se = est * (1 - est) * se_x  # d expit / dx · the s.e. on the logit scale
        ci = (float(expit(x - _Z * se_x)), float(expit(x + _Z * se_x)))
        note = _ACCEPT_CAVEAT
        wide = 2 * _Z * se >= 1.0
    if wide:
        return Estimate(name, prior, None, None, _JOINT_METHOD, False, prior,
                        "its 95 % interval is as wide as the allowed range")
    return Estimate(name, est, se, ci, _JOINT_METHOD + detail, True, prior, note)


def fit_simulated_moments(h: History, config: dict, policy: str, *, base_dir: Path | None = None,
                          n_sim: int = 20_000, reps: int = 4, seed: int = 0, fixed: tuple[str, ...] = ()
                          ) -> list[Estimate]:
    """The repayment level (a common scale of the segments' λ∞), ``behaviour.ptp_accept``,
    ``behaviour.plan_accept`` and the charge-off level (a common scale of the regimes'
    bankruptcy hazards), jointly, by exactly identified simulated moments
    (:data:`JOINT_MOMENTS`, the module's docstring): books of ``n_sim`` accounts (an opening
    stock drawn as the fitted experiment draws it, with the data's capacity per account:
    :func:`~collectsim.experiments.calibrate.requested.simulation_config`), simulated ``reps`` times under the
    observed ``policy`` with the same seeds at every trial value. ``config`` is the fitted
    experiment's configuration (its other estimates in place). A moment with fewer than ten
    events of each kind leaves its parameter at the prior and out of the fit. The parameters
    are searched on unbounded scales (the logs of the scales, the logit of the
    probabilities) by ``scipy.optimize.least_squares`` on forward differences of width 0.1
    (a simulated book's moments are step functions of the parameters; a step of fixed width
    sees their slope). The moments named in ``fixed`` (keys of :data:`JOINT_MOMENTS`:
    ``"level"`` when the repayment likelihood fitted the level) are left out, their
    parameters held at ``config``'s values and returned by no estimate."""
    from scipy.optimize import least_squares  # lazy: start-up time
    from scipy.special import expit, logit  # lazy: start-up time

    from collectsim.experiments.calibrate.likelihood import MIN_EVENTS  # lazy: start-up time

    m_data, psi_data, counts = data_moments(h)
    lam0 = [float(s["lambda_inf_per_year"]) for s in config["segments"]]
    beh = config["behaviour"]
    hazard0 = [float(v) for v in config["regimes"]["bankruptcy_per_year"]]
    priors = {"level": 1.0, "promise": float(beh["ptp_accept"]), "plan": float(beh["plan_accept"]), "chargeoff": 1.0}
    events = {"level": min(counts["good"], counts["stock"] - counts["good"]),
              "promise": counts["promises"], "plan": counts["plans"],
              "chargeoff": min(counts["lost"], counts["stock"] - counts["lost"])}
    scales = ("level", "chargeoff")
    use = [j for j, (key, _, _) in enumerate(JOINT_MOMENTS)
           if events[key] >= MIN_EVENTS and (key in scales or 0 < priors[key] < 1)
           and (key != "chargeoff" or max(hazard0) > 0)]
    out: dict[str, Estimate] = {}

    def names(key: str) -> list[str]:
        if key == "level":
            return [f"segments.{k}.lambda_inf_per_year" for k in range(len(lam0))]
        if key == "chargeoff":  # the regimes with a hazard to scale (a zero hazard stays zero)
            return [f"regimes.bankruptcy_per_year.{g}" for g, v in enumerate(hazard0) if v > 0]
        return [dict(promise="behaviour.ptp_accept", plan="behaviour.plan_accept")[key]]

    def prior_of(name: str) -> float:
        if name.startswith("segments."):
            return lam0[int(name.split(".")[1])]
        if name.startswith("regimes."):
            return hazard0[int(name.rsplit(".", 1)[1])]
        return priors["promise" if name.endswith("ptp_accept") else "plan"]

    use = [j for j in use if JOINT_MOMENTS[j][0] not in fixed]
    for j, (key, _, _) in enumerate(JOINT_MOMENTS):
        if key in fixed:
            continue
        if j not in use:
            for name in names(key):
                out[name] = Estimate(name, prior_of(name), None, None, _JOINT_METHOD, False, prior_of(name),
                                     f"{events[key]} events for its moment (fewer than {MIN_EVENTS})")
    if not use:
        return list(out.values())
    from collectsim.experiments.calibrate.requested import simulation_config  # lazy: start-up time

    n = int(n_sim)
    cfg, _ = simulation_config(config, n)  # the data's capacity per account, as the requested policy was fitted
    seeds = [seed * 1000 + 17 + r for r in range(reps)]
    ceiling = math.log(_upper_bound("lambda_inf_per_year") / max(lam0))
    co_ceiling = math.log(_HAZARD_MAX / max(hazard0)) if max(hazard0) > 0 else 0.0  # each hazard in [0, 12] a year

    def params(x: np.ndarray) -> dict:
        full = {"level": 0.0, "promise": logit(priors["promise"]), "plan": logit(priors["plan"]), "chargeoff": 0.0}
        for i, j in enumerate(use):
            full[JOINT_MOMENTS[j][0]] = float(x[i])
        return full

    def moments(x: np.ndarray):
        p = params(x)
        trial = copy.deepcopy(cfg)
        for seg, lam in zip(trial["segments"], lam0, strict=True):
            seg["lambda_inf_per_year"] = lam * math.exp(p["level"])
        trial["behaviour"]["ptp_accept"] = float(expit(p["promise"]))
        trial["behaviour"]["plan_accept"] = float(expit(p["plan"]))
        trial["regimes"]["bankruptcy_per_year"] = [v * math.exp(p["chargeoff"]) for v in hazard0]
        return _simulated_moments(trial, policy, seeds, base_dir)

    memo: dict[bytes, np.ndarray] = {}

    def gap(x: np.ndarray) -> np.ndarray:
        key = np.asarray(x, float).tobytes()
        if key not in memo:
            memo[key] = moments(x)[0][use] - m_data[use]
        return memo[key]

    def jac(x: np.ndarray) -> np.ndarray:  # forward differences of a fixed width: the moments are step functions
        f0 = gap(x)
        cols = []
        for i in range(len(x)):
            e = np.zeros(len(x))
            e[i] = _STEP if x[i] + _STEP <= hi[i] else -_STEP
            cols.append((gap(x + e) - f0) / e[i])
        return np.stack(cols, axis=1)

    keys = [JOINT_MOMENTS[j][0] for j in use]
    x0 = np.array([0.0 if k in scales else float(logit(priors[k])) for k in keys])
    lo = np.array([math.log(LEVEL_BOUNDS[0]) if k in scales else -8.0 for k in keys])
    hi = np.array([min(math.log(LEVEL_BOUNDS[1]), ceiling) if k == "level" else
                   min(math.log(LEVEL_BOUNDS[1]), co_ceiling) if k == "chargeoff" else 8.0 for k in keys])
    res = least_squares(gap, x0, jac=jac, bounds=(lo, hi), x_scale=1.0, xtol=1e-4, ftol=1e-10, gtol=1e-12)
    m_sim, psi_sim = moments(res.x)
    G = res.jac
    sigma = psi_data[:, use].T @ psi_data[:, use] + psi_sim[:, use].T @ psi_sim[:, use]
    try:
        g_inv = np.linalg.inv(G)
        cov = g_inv @ sigma @ g_inv.T
    except np.linalg.LinAlgError:
        cov = np.full((len(use), len(use)), np.nan)
    worst = float(np.max(np.abs(m_sim[use] - m_data[use]) / np.sqrt(np.diag(sigma))))
    detail = f" ({reps} books of {n:,} accounts; largest remaining gap {worst:.2f} s.e.)"
    for i, j in enumerate(use):
        key = JOINT_MOMENTS[j][0]
        se_x = math.sqrt(cov[i, i]) if np.isfinite(cov[i, i]) and cov[i, i] > 0 else math.nan
        at_edge = res.x[i] <= lo[i] + 1e-6 or res.x[i] >= hi[i] - 1e-6
        for name in names(key):
            prior = prior_of(name)
            if not np.isfinite(se_x) or at_edge or worst > 3:
                why = ("its moment cannot be matched inside the allowed range" if at_edge or worst > 3
                       else "the moments do not move with it here")
                out[name] = Estimate(name, prior, None, None, _JOINT_METHOD, False, prior, why)
                continue
            out[name] = _estimate(name, key, prior, float(res.x[i]), se_x, detail)
    return list(out.values())
