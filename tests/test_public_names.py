"""Every public name of ``collectsim`` is what it says, whatever was imported before it.

A lazily exported name must not be shadowed by a submodule of the same name (Python sets
the package attribute to the submodule once it is imported): ``simulate`` lives in
``collectsim/experiments/simulation.py`` for that reason (``tests/test_architecture.py``
checks every package's exports).
"""

from __future__ import annotations

import importlib
import inspect

import collectsim


def test_simulate_is_the_function_even_after_its_module_was_imported():
    importlib.import_module("collectsim.experiments.simulation")
    importlib.import_module("collectsim.experiments.compare")  # imports the simulation module
    assert inspect.isfunction(collectsim.simulate)
    assert inspect.isfunction(importlib.import_module("collectsim.experiments").simulate)


def test_no_public_name_is_a_module():
    assert [n for n in collectsim.__all__ if n != "__version__" and inspect.ismodule(getattr(collectsim, n))] == []
