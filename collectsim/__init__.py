"""collectsim: an agent-based lab for debt-collection strategies.

The data flow is one way: scenario → model → results → experiments → reports.

>>> import collectsim
>>> exp = collectsim.load_experiment("experiments/quickstart.toml", accounts=2000, days=30)
>>> result = collectsim.simulate(exp.scenario, "seed-champion", seed=1)
>>> round(result.kpis["recovery_rate"], 3) > 0
True

Public names are imported lazily (on first use), so ``import collectsim`` and the command
line start fast.
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
    "simulate": "collectsim.experiments.simulate",
    "SimulationResult": "collectsim.experiments.simulate",
    "run_experiment": "collectsim.experiments.run",
    "load_experiment": "collectsim.experiments.config",
    "Experiment": "collectsim.experiments.config",
    "optimize": "collectsim.experiments.optimize",
    "OptimizeResult": "collectsim.experiments.optimize",
    "compare": "collectsim.experiments.compare",
    "Comparison": "collectsim.experiments.compare",
    "Scenario": "collectsim.sim.scenario",
    "CollectionsModel": "collectsim.sim.model",
    "Policy": "collectsim.policies",
    "Observation": "collectsim.policies",
    "Requests": "collectsim.policies",
    "RuleTablePolicy": "collectsim.policies",
    "get_policy": "collectsim.policies",
    "InputError": "collectsim.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name == "BUILTIN_POLICIES":
        return importlib.import_module("collectsim.policies").BUILTIN
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'collectsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "BUILTIN_POLICIES"])


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from collectsim.errors import InputError
    from collectsim.experiments.compare import Comparison, compare
    from collectsim.experiments.config import Experiment, load_experiment
    from collectsim.experiments.optimize import OptimizeResult, optimize
    from collectsim.experiments.run import run_experiment
    from collectsim.experiments.simulate import SimulationResult, simulate
    from collectsim.policies import Observation, Policy, Requests, RuleTablePolicy, get_policy
    from collectsim.sim.model import CollectionsModel
    from collectsim.sim.scenario import Scenario
