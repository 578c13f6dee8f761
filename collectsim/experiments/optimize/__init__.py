"""The optimizer, as named parts: the ``[optimize]`` settings (``settings.py``), the
objective (``objective.py``), the search space (``space.py``), the seed banks
(``banks.py``), the validated plan (``plan.py``), the simulation runner (``runner.py``), the
Optuna study — storage, sampler, pruner, heartbeats, resuming (``study.py``) — the search
loop (``search.py``), validation on held-out seeds (``validation.py``), the output files
(``outputs.py``) and the driver that runs a study (``driver.py``: :func:`optimize`)."""

from collectsim.experiments.optimize.banks import seed_banks
from collectsim.experiments.optimize.driver import OptimizeResult, optimize
from collectsim.experiments.optimize.objective import Objective, paired_stats
from collectsim.experiments.optimize.outputs import trials_frame
from collectsim.experiments.optimize.plan import StudyPlan, plan_study
from collectsim.experiments.optimize.settings import ObjectiveSettings, OptimizeSettings, ParamSpec
from collectsim.experiments.optimize.space import SearchSpace, spec_key
from collectsim.experiments.optimize.study import JOURNAL_NAME
from collectsim.experiments.optimize.validation import ValidatedPolicy

__all__ = [
    "optimize", "OptimizeResult", "Objective", "paired_stats", "trials_frame", "StudyPlan", "plan_study",
    "seed_banks", "OptimizeSettings", "ObjectiveSettings", "ParamSpec", "SearchSpace", "spec_key", "JOURNAL_NAME",
    "ValidatedPolicy",
]
