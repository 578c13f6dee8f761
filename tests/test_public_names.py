"""Every public name of ``collectsim`` is what it says, whatever was imported before it.

``simulate`` is defined in a module of the same name (``collectsim/experiments/simulate.py``):
when that module is imported before the lazy name is first used (``collectsim.compare``
imports it), Python sets the package attribute ``collectsim.experiments.simulate`` to the
module, and ``collectsim.simulate`` must still be the function.
"""

from __future__ import annotations

import importlib
import inspect

import collectsim


def test_simulate_is_the_function_even_after_its_module_was_imported(monkeypatch):
    experiments = importlib.import_module("collectsim.experiments")
    module = importlib.import_module("collectsim.experiments.simulate")
    monkeypatch.setattr(experiments, "simulate", module)  # what a first import of the module leaves behind
    assert inspect.isfunction(collectsim.simulate)


def test_no_public_name_is_a_module():
    assert [n for n in collectsim.__all__ if n != "__version__" and inspect.ismodule(getattr(collectsim, n))] == []
