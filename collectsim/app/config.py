"""The server's settings the page reads: where the ready experiments are, how many worker
processes the replications may use. :func:`configure` is called once by
:func:`collectsim.app.server.serve` before the server starts; every page session reads
:func:`current`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AppConfig", "configure", "current", "default_experiments"]


def default_experiments() -> Path:
    """``./experiments`` if it exists, else the ``experiments/`` folder of the source tree."""
    here = Path.cwd() / "experiments"
    if here.is_dir():
        return here
    tree = Path(__file__).resolve().parents[2] / "experiments"
    return tree if tree.is_dir() else here


@dataclass(frozen=True)
class AppConfig:
    """Settings of one server: the folder of ready experiments (its ``policies/`` subfolder
    holds the ready policy files) and the worker processes of the replications."""

    experiments: Path = field(default_factory=default_experiments)
    jobs: int = 1

    @property
    def policies(self) -> Path:
        """The folder of ready policy files."""
        return self.experiments / "policies"


_current = AppConfig()


def configure(experiments: Path | None = None, jobs: int = 1) -> AppConfig:
    """Set the server's settings (before it starts); return them."""
    global _current
    _current = AppConfig(experiments=Path(experiments) if experiments is not None else default_experiments(), jobs=jobs)
    return _current


def current() -> AppConfig:
    """The server's settings."""
    return _current
