"""Experiments: what is run on the model and how.

``experiment.py`` (an :class:`Experiment`: scenario + run settings), ``files.py`` (reading
experiment files), ``simulate.py`` (one replication), ``replicate.py`` (many, in parallel),
``seeds.py`` (the seed convention), ``folders.py`` and ``provenance.py`` (result folders that
appear whole, with what produced them), ``run.py`` (one run's data files), ``compare/``
(champion versus challengers: ``compare.compare``) and ``optimize/`` (the policy search:
``optimize.optimize``), ``progress.py`` (progress messages of long steps, and the bars the command
line draws from them), ``schema_doc.py`` (the file reference, and ``collectsim schema``'s text).
"""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "Experiment": "collectsim.experiments.experiment",
    "RunSettings": "collectsim.experiments.experiment",
    "load_experiment": "collectsim.experiments.files",
    "experiment_from_dict": "collectsim.experiments.files",
    "simulate": "collectsim.experiments.simulation",
    "Task": "collectsim.experiments.replicate",
    "run_tasks": "collectsim.experiments.replicate",
    "flat_kpis": "collectsim.experiments.replicate",
    "kpi_table": "collectsim.experiments.replicate",
    "replication_seeds": "collectsim.experiments.seeds",
    "result_folder": "collectsim.experiments.folders",
    "default_out_dir": "collectsim.experiments.folders",
    "check_out_dir": "collectsim.experiments.folders",
    "RunPlan": "collectsim.experiments.run",
    "plan_run": "collectsim.experiments.run",
    "write_run": "collectsim.experiments.run",
    "resolved_config": "collectsim.experiments.run",
    "synthesize": "collectsim.experiments.synth",
    "simulate_history": "collectsim.experiments.synth",
    "Comparison": "collectsim.experiments.compare",
    "OptimizeResult": "collectsim.experiments.optimize",
    "Progress": "collectsim.experiments.progress",
    "ProgressBars": "collectsim.experiments.progress",
    "schema_text": "collectsim.experiments.schema_doc",
    "schema_tables": "collectsim.experiments.schema_doc",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
