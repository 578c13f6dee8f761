"""Validation: the best trials and the champion re-run on the held-out validation bank.

Search-phase values are optimistically biased (the search picked them), so the recommended
policy is chosen on the validation seeds only, and reported with its paired difference from
the champion on those seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from collectsim.experiments.folders import jsonable
from collectsim.experiments.optimize.objective import mean_kpis, paired_stats, t_ci
from collectsim.experiments.optimize.plan import StudyPlan
from collectsim.experiments.optimize.runner import SimulationRunner
from collectsim.results.catalogue import KPIS, OPTIMIZE_COMPARED, OPTIMIZE_RECORDED

__all__ = ["ValidatedPolicy", "validate_best"]


@dataclass
class ValidatedPolicy:
    """A policy re-evaluated on the validation bank.

    Attributes
    ----------
    name:
        Policy name.
    role:
        ``champion`` or ``candidate``.
    trial:
        Its trial number in the study (the champion is trial 0 of a fresh study).
    policy:
        The policy object (a :class:`RuleTablePolicy` for candidates).
    params:
        Searched-parameter values (None for a champion outside the space).
    search:
        Mean KPIs and ``objective`` on the search bank.
    validation:
        Mean and sd of every KPI and the objective on the validation bank, with a 95% CI of
        the objective's mean.
    vs_champion:
        Paired differences from the champion on the validation seeds (see :func:`paired_stats`),
        per KPI and for ``objective``; empty for the champion.
    feasible:
        Whether its validation means meet every cap.
    """

    name: str
    role: str
    trial: int | None
    policy: Any
    params: dict | None
    search: dict
    validation: dict
    vs_champion: dict
    feasible: bool

    def to_dict(self) -> dict:
        """Plain data for ``validation.json``."""
        return jsonable(
            {
                "name": self.name,
                "role": self.role,
                "trial": self.trial,
                "params": self.params,
                "feasible_on_validation": self.feasible,
                "search": self.search,
                "validation": self.validation,
                "vs_champion": self.vs_champion,
            }
        )


def validate_best(
    study: optuna.Study, plan: StudyPlan, runner: SimulationRunner, progress: Callable[[str], None] | None = None
) -> tuple[ValidatedPolicy, list[ValidatedPolicy], dict]:
    """Re-run the best trials and the champion on the validation bank (see module docstring).

    ``progress`` (optional) receives a :class:`~collectsim.experiments.progress.Progress`
    ("validation: 12/80 simulations") per finished simulation.
    """
    obj = plan.objective
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    champ_trials = [t for t in complete if t.user_attrs.get("role") == "champion"]
    cands_all = [t for t in complete if t.user_attrs.get("role") != "champion" and t.user_attrs.get("feasible")]
    if obj.mode == "pareto":
        front = [t for t in study.best_trials if t.user_attrs.get("role") != "champion"]
        front.sort(key=lambda t: -t.values[0])
        pool = front
    else:
        pool = sorted(cands_all, key=lambda t: -t.user_attrs["objective"])
    picked, keys = [], set()
    if obj.mode == "pareto" and len(pool) > plan.settings.validate_top:
        idx = np.unique(np.linspace(0, len(pool) - 1, plan.settings.validate_top).round().astype(int))
        pool = [pool[i] for i in idx]
    for t in pool:
        pol = plan.space.policy(t.params, name=f"{plan.experiment.name}-trial-{t.number}")
        key = runner.key(pol)
        if key in keys:
            continue
        keys.add(key)
        picked.append((t, pol, key))
        if len(picked) >= plan.settings.validate_top:
            break
    champ_key = runner.key(plan.champion)
    seeds = plan.validation_seeds
    items = [(plan.champion, champ_key, s) for s in seeds]
    for _, pol, key in picked:
        items += [(pol, key, s) for s in seeds]
    rows = runner.run(items, progress=progress, step="validation")
    n = len(seeds)
    champ_rows = rows[:n]
    champ_obj = [obj.scalar(r) for r in champ_rows]

    def summary(rs: list[dict]) -> dict:
        o = [obj.scalar(r) for r in rs]
        mean = mean_kpis(rs)
        sd = {k: float(np.nanstd([r[k] for r in rs], ddof=1)) if n > 1 else None for k in OPTIMIZE_RECORDED}
        return {
            "objective": {"mean": float(np.mean(o)), "sd": float(np.std(o, ddof=1)), "ci95": t_ci(o)},
            "mean": mean,
            "sd": sd,
            "per_seed_objective": o,
        }

    k = max(1, len(picked))
    champ = ValidatedPolicy(
        name=str(getattr(plan.champion, "name", plan.champion_ref)),
        role="champion",
        trial=champ_trials[0].number if champ_trials else None,
        policy=plan.champion,
        params=plan.champion_params,
        search=({"objective": champ_trials[0].user_attrs["objective"], **champ_trials[0].user_attrs["kpis"]} if champ_trials else {}),
        validation=summary(champ_rows),
        vs_champion={},
        feasible=obj.feasible(mean_kpis(champ_rows)),
    )
    cands: list[ValidatedPolicy] = []
    for j, (t, pol, _) in enumerate(picked):
        rs = rows[(j + 1) * n : (j + 2) * n]
        vs = {"objective": paired_stats([obj.scalar(r) for r in rs], champ_obj)}
        vs["objective_selection_adjusted"] = paired_stats(
            [obj.scalar(r) for r in rs], champ_obj, level=1 - 0.05 / k
        )
        for kpi in OPTIMIZE_COMPARED:
            up = KPIS[kpi].higher_is_better
            vs[kpi] = paired_stats([r[kpi] for r in rs], [r[kpi] for r in champ_rows], higher_is_better=up)
        cands.append(
            ValidatedPolicy(
                name=pol.name,
                role="candidate",
                trial=t.number,
                policy=pol,
                params=plan.space.clean(t.params),
                search={"objective": t.user_attrs["objective"], **t.user_attrs["kpis"]},
                validation=summary(rs),
                vs_champion=vs,
                feasible=obj.feasible(mean_kpis(rs)),
            )
        )
    cands.sort(key=lambda c: -c.validation["objective"]["mean"])
    ok = [c for c in cands if c.feasible]
    champ_mean = champ.validation["objective"]["mean"]
    best = ok[0] if ok and ok[0].validation["objective"]["mean"] > champ_mean else champ
    if best is champ and not champ.feasible and ok:
        best = ok[0]  # an infeasible champion is not a recommendation
    return champ, cands, {"k": len(picked), "best": best}
