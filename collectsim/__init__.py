"""collectsim: an agent-based lab for debt-collection strategies.

The data flow is one way: scenario → model → results → experiments → reports.

>>> import collectsim
>>> exp = collectsim.load_experiment("experiments/quickstart.toml", accounts=2000, days=30)
>>> result = collectsim.simulate(exp.scenario, "seed-champion", seed=1)
>>> round(result.kpis["recovery_rate"], 3) > 0
True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("collectsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from collectsim.errors import InputError
from collectsim.experiments.config import Experiment, load_experiment
from collectsim.experiments.run import run_experiment
from collectsim.experiments.simulate import SimulationResult, simulate
from collectsim.policies import BUILTIN as BUILTIN_POLICIES
from collectsim.policies import Observation, Policy, Requests, RuleTablePolicy, get_policy
from collectsim.sim.model import CollectionsModel
from collectsim.sim.scenario import Scenario

__all__ = [
    "__version__",
    "simulate",
    "SimulationResult",
    "run_experiment",
    "load_experiment",
    "Experiment",
    "Scenario",
    "CollectionsModel",
    "Policy",
    "Observation",
    "Requests",
    "RuleTablePolicy",
    "get_policy",
    "BUILTIN_POLICIES",
    "InputError",
]
