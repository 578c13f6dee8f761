"""A study checked before it runs: the ``[optimize]`` table validated against the scenario.

:func:`plan_study` turns an experiment into a :class:`StudyPlan` (search space, objective,
champion, seed banks, sizes, the configuration hash a resumed study must match), raising
one clear :class:`~collectsim.errors.InputError` for anything that does not fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from collectsim.errors import InputError
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.optimize.banks import seed_banks
from collectsim.experiments.optimize.objective import Objective
from collectsim.experiments.optimize.settings import OptimizeSettings
from collectsim.experiments.optimize.space import SearchSpace, SpecSpace
from collectsim.policies import CGWThresholdPolicy, RuleTablePolicy, prepare_policy
from collectsim.scenario import Scenario, config_hash

__all__ = ["StudyPlan", "plan_study"]


@dataclass
class StudyPlan:
    """Everything a study needs, validated (built by :func:`plan_study`).

    Attributes
    ----------
    experiment:
        The loaded experiment.
    settings:
        Its ``[optimize]`` settings.
    space, objective:
        The search space and the objective.
    champion, champion_ref:
        The champion policy object and how the file names it.
    champion_params:
        The champion's parameter values if it lies in the space, else None.
    search_seeds, validation_seeds:
        The two seed banks.
    trials, batch, jobs:
        Study size, trials per ask batch, local worker processes.
    study_name, config_hash:
        Name in the storage and the hash that a resumed study must match.
    """

    experiment: Experiment
    settings: OptimizeSettings
    space: SearchSpace
    objective: Objective
    champion: Any
    champion_ref: str
    champion_params: dict | None
    search_seeds: list[int]
    validation_seeds: list[int]
    trials: int
    batch: int
    jobs: int
    study_name: str
    config_hash: str

    @property
    def scenario(self) -> Scenario:
        """The scenario simulated."""
        return self.experiment.scenario

    @property
    def days(self) -> int:
        """The horizon simulated."""
        return self.experiment.scenario.portfolio.horizon_days

    @property
    def source(self) -> str:
        """The experiment file (for messages)."""
        return self.experiment.source

    def stages(self) -> list[int]:
        """Replication counts after which the pruner is consulted (the last is ``reps``).

        The Wilcoxon signed-rank test on n pairs cannot reach p < ``prune_p`` before
        ``0.5**n < prune_p``; the first check comes at that n (at least 2).
        """
        r = len(self.search_seeds)
        s = self.settings
        if self.objective.mode != "scalar" or not s.prune:
            return [r]
        n_min = max(2, int(math.floor(math.log2(1.0 / s.prune_p))) + 1)
        if n_min >= r:
            return [r]
        chunk = max(1, math.ceil((r - n_min) / 2))
        out = list(range(n_min, r, chunk))
        return out + [r]


def _resolve_policy(exp: Experiment, ref: str, what: str):
    try:
        return prepare_policy(exp.policy_ref(ref), exp.scenario)
    except InputError as e:
        raise InputError(f"{exp.source}: optimize.{what} = {ref!r}: {e}") from None


def plan_study(
    experiment: Experiment,
    *,
    trials: int | None = None,
    reps: int | None = None,
    jobs: int | None = None,
    batch: int | None = None,
) -> StudyPlan:
    """Validate an experiment's ``[optimize]`` table against its scenario; return the plan.

    Raises :class:`InputError` (one line) for anything wrong: bad parameters, a champion or
    base that is not a rule table or names unknown tiers, overlapping seed banks, ...
    """
    s: OptimizeSettings = experiment.sections["optimize"]
    src = experiment.source
    for name, v in (("trials", trials), ("reps", reps), ("jobs", jobs), ("batch", batch)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise InputError(f"{name} = {v!r}: must be a whole number >= 1")
    tier_names = tuple(experiment.scenario.scoring.tier_names)
    champion = _resolve_policy(experiment, s.champion, "champion")
    base_ref = s.base or s.champion
    base = champion if s.base is None else _resolve_policy(experiment, s.base, "base")
    if not isinstance(base, (RuleTablePolicy, CGWThresholdPolicy)):
        what = "base" if s.base else "champion"
        raise InputError(
            f"{src}: optimize.{what} = {base_ref!r}: not a rule-table or cgw-threshold policy; the search modifies "
            "a rule table (seed-champion, sms-only or a policy file) or the threshold of cgw-threshold; "
            "set optimize.base to one"
        )
    if isinstance(base, RuleTablePolicy):
        space = SearchSpace.from_settings(s, tier_names, base.table, source=src)
        base_desc = base.table.model_dump(mode="json")
    else:
        space = SpecSpace.from_settings(s, tier_names, base, source=src)
        base_desc = base.to_dict()
    objective = Objective.from_settings(s.objective)
    search, validation = seed_banks(s, reps)
    if isinstance(champion, RuleTablePolicy) and isinstance(base, RuleTablePolicy):
        champion_params = space.params_of(champion.table)
    elif isinstance(champion, CGWThresholdPolicy) and isinstance(base, CGWThresholdPolicy):
        champion_params = space.params_of(champion.spec)
    else:
        champion_params = None
    jobs_ = jobs or s.jobs
    batch_ = batch or s.batch or max(4, 2 * jobs_)
    champ_desc = champion.table.model_dump(mode="json") if isinstance(champion, RuleTablePolicy) else s.champion
    chash = config_hash(
        {
            "scenario": experiment.scenario.resolved(),
            "optimize": s.model_dump(
                mode="json",
                exclude={"trials", "jobs", "batch", "reps", "validation_reps", "validate_top", "validation_seeds",
                         "search_seeds", "study_name"},
            ),
            "search_seeds": search,
            "champion": champ_desc,
            "base": base_desc,
        }
    )
    return StudyPlan(
        experiment=experiment,
        settings=s,
        space=space,
        objective=objective,
        champion=champion,
        champion_ref=s.champion,
        champion_params=champion_params,
        search_seeds=search,
        validation_seeds=validation,
        trials=trials or s.trials,
        batch=batch_,
        jobs=jobs_,
        study_name=s.study_name or experiment.name,
        config_hash=chash,
    )
