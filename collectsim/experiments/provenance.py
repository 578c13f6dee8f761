"""Provenance: what produced a result (version, commit, seed, configuration hash)."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version as _version
from pathlib import Path

import mesa
import numpy
import pandas

from collectsim import __version__

__all__ = ["provenance", "git_commit"]


def git_commit(start: Path | None = None) -> str:
    """The git commit of the collectsim source tree (``+dirty`` if modified; ``unknown`` outside git)."""
    here = start or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(**extra) -> dict:
    """Version, commit, interpreter and library versions, time, plus ``extra`` fields."""
    return {
        "collectsim_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "optuna": _version("optuna"),  # (not imported for this: a run needs no optimizer)
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        **extra,
    }
