"""collectsim: an agent-based lab for debt-collection strategies.

The data flow is one way: scenario → model → results → experiments → reports; the layers
are described in ``docs/architecture.md``.

>>> import collectsim
>>> exp = collectsim.load_experiment("experiments/quickstart.toml", accounts=2000, days=30)
>>> result = collectsim.simulate(exp.scenario, "seed-champion", seed=1)
>>> round(result.kpis["recovery_rate"], 3) > 0
True

Public names are imported on first use (lazily, for start-up time: ``import collectsim`` and
``collectsim --help`` load no numerical library).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("collectsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "simulate": "collectsim.experiments.simulation",
    "SimulationResult": "collectsim.results",
    "run_experiment": "collectsim.api",
    "compare_experiment": "collectsim.api",
    "optimize": "collectsim.api",
    "stylized_facts": "collectsim.api",
    "sweep_experiment": "collectsim.api",
    "synthesize_history": "collectsim.api",
    "calibrate_history": "collectsim.api",
    "read_history": "collectsim.history",
    "dashboard_app": "collectsim.api",
    "serve_dashboard": "collectsim.api",
    "compare": "collectsim.experiments.compare",
    "Comparison": "collectsim.experiments.compare",
    "OptimizeResult": "collectsim.experiments.optimize",
    "load_experiment": "collectsim.experiments",
    "experiment_from_dict": "collectsim.experiments",
    "Experiment": "collectsim.experiments",
    "resolved_config": "collectsim.experiments",
    "Scenario": "collectsim.scenario",
    "CollectionsModel": "collectsim.model",
    "Policy": "collectsim.policies",
    "Observation": "collectsim.policies",
    "Outcomes": "collectsim.policies",
    "Requests": "collectsim.policies",
    "RuleTablePolicy": "collectsim.policies",
    "RuleTableSpec": "collectsim.policies",
    "Cell": "collectsim.policies",
    "get_policy": "collectsim.policies",
    "prepare_policy": "collectsim.policies",
    "build_report": "collectsim.reports",
    "KPIS": "collectsim.results",
    "InputError": "collectsim.errors",
}

__all__ = ["__version__", "BUILTIN_POLICIES", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name == "BUILTIN_POLICIES":
        return importlib.import_module("collectsim.policies").BUILTIN
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'collectsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from collectsim.api import compare_experiment, optimize, run_experiment
    from collectsim.errors import InputError
    from collectsim.experiments import Experiment, experiment_from_dict, load_experiment, resolved_config, simulate
    from collectsim.experiments.compare import Comparison, compare
    from collectsim.experiments.optimize import OptimizeResult
    from collectsim.model import CollectionsModel
    from collectsim.policies import (
        Cell,
        Observation,
        Outcomes,
        Policy,
        Requests,
        RuleTablePolicy,
        RuleTableSpec,
        get_policy,
        prepare_policy,
    )
    from collectsim.reports import build_report
    from collectsim.results import KPIS, SimulationResult
    from collectsim.scenario import Scenario
