"""Documentation that is generated must be current; public names must be documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import collectsim
from collectsim.experiments.schema_doc import render

ROOT = Path(__file__).resolve().parents[2]


def test_scenario_reference_is_current():
    assert (ROOT / "docs" / "scenario.md").read_text() == render(), "run: python -m collectsim.sim.schema_doc > docs/scenario.md"


def test_every_public_name_has_a_docstring():
    missing = []
    for mod_info in pkgutil.walk_packages(collectsim.__path__, "collectsim."):
        if mod_info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(mod_info.name)
        if not (mod.__doc__ or "").strip():
            missing.append(mod_info.name)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not (obj.__doc__ or "").strip():
                missing.append(f"{mod_info.name}.{name}")
    assert not missing, f"undocumented: {missing}"
