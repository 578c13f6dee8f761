"""Public names of a package that are imported on first use (for start-up time).

A package's ``__init__`` lists its public names and the module each comes from; importing
the package then costs nothing, and the command line answers a bad input or ``--help``
before any numerical library loads::

    __getattr__, __dir__ = lazy.exports(__name__, {"simulate": "collectsim.experiments.simulation"})
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["exports"]


def exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` for ``names`` (name -> module)."""
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            if isinstance(value, types.ModuleType) and hasattr(value, name):
                # a submodule of the same name (``experiments.simulate``) shadows the function
                # once it has been imported: the function is the submodule's attribute
                value = getattr(value, name)
            setattr(module, name, value)  # next time: a plain attribute
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(module)))

    return __getattr__, __dir__
