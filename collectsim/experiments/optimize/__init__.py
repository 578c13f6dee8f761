"""The optimizer, as named parts: the ``[optimize]`` settings (``settings.py``), the
objective (``objective.py``), the search space (``space.py``), the seed banks
(``banks.py``), the validated plan (``plan.py``), the simulation runner (``runner.py``), the
Optuna study — storage, sampler, pruner, heartbeats, resuming (``study.py``) — the search
loop (``search.py``), validation on held-out seeds (``validation.py``), the output files
(``outputs.py``) and the driver that runs a study (``driver.py``: :func:`optimize`)."""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "optimize": "collectsim.experiments.optimize.driver",
    "OptimizeResult": "collectsim.experiments.optimize.driver",
    "Objective": "collectsim.experiments.optimize.objective",
    "paired_stats": "collectsim.experiments.optimize.objective",
    "trials_frame": "collectsim.experiments.optimize.outputs",
    "StudyPlan": "collectsim.experiments.optimize.plan",
    "plan_study": "collectsim.experiments.optimize.plan",
    "seed_banks": "collectsim.experiments.optimize.banks",
    "OptimizeSettings": "collectsim.experiments.optimize.settings",
    "ObjectiveSettings": "collectsim.experiments.optimize.settings",
    "ParamSpec": "collectsim.experiments.optimize.settings",
    "SearchSpace": "collectsim.experiments.optimize.space",
    "spec_key": "collectsim.experiments.optimize.space",
    "JOURNAL_NAME": "collectsim.experiments.optimize.study",
    "folder_study": "collectsim.experiments.optimize.study",
    "ValidatedPolicy": "collectsim.experiments.optimize.validation",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
