"""Experiments: what is run on the model and how.

``experiment.py`` (an :class:`Experiment`: scenario + run settings), ``files.py`` (reading
experiment files), ``simulate.py`` (one replication), ``replicate.py`` (many, in parallel),
``seeds.py`` (the seed convention), ``folders.py`` and ``provenance.py`` (result folders that
appear whole, with what produced them), ``run.py`` (one run's data files), ``compare/``
(champion versus challengers) and ``optimize/`` (the policy search), ``schema_doc.py`` (the
file reference).
"""

from collectsim.experiments.compare import Comparison, compare
from collectsim.experiments.experiment import Experiment, RunSettings
from collectsim.experiments.files import experiment_from_dict, load_experiment
from collectsim.experiments.folders import check_out_dir, default_out_dir, result_folder
from collectsim.experiments.optimize import OptimizeResult, optimize
from collectsim.experiments.replicate import Task, flat_kpis, kpi_table, run_tasks
from collectsim.experiments.run import RunPlan, plan_run, resolved_config, write_run
from collectsim.experiments.seeds import replication_seeds
from collectsim.experiments.simulate import simulate

__all__ = [
    "Experiment", "RunSettings", "load_experiment", "experiment_from_dict", "simulate", "Task", "run_tasks",
    "flat_kpis", "kpi_table", "replication_seeds", "result_folder", "default_out_dir", "check_out_dir", "RunPlan",
    "plan_run", "write_run", "resolved_config", "compare", "Comparison", "optimize", "OptimizeResult",
]
