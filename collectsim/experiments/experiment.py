"""An experiment: a scenario plus how to run it (the ``[run]`` table) and its other tables.

:class:`Experiment` is what an experiment file becomes once validated
(:func:`collectsim.experiments.files.load_experiment`); comparisons and the optimizer read
their own tables (``[compare]``, ``[optimize]``) from :attr:`Experiment.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from collectsim.scenario import Scenario

__all__ = ["RunSettings", "Experiment"]


class RunSettings(BaseModel):
    """How ``collectsim run`` runs the experiment (each can be overridden on the command line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="Name of the experiment (default: the file's stem).")
    policy: str = Field("seed-champion", description="Built-in policy name or a policy file path.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the replication.")
    log_contacts: bool = Field(False, description="Also write contacts.parquet.")


@dataclass
class Experiment:
    """A loaded experiment: its name, run settings, scenario and other sections."""

    name: str
    run: RunSettings
    scenario: Scenario
    sections: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    base_dir: Path = field(default_factory=Path.cwd)

    def resolve_path(self, p: str) -> str:
        """A path from the experiment file, relative to the file's folder if not absolute."""
        q = Path(p)
        if q.is_absolute() or q.exists():
            return str(q)
        cand = self.base_dir / q
        return str(cand) if cand.exists() else str(q)

    def policy_ref(self, policy: str) -> str:
        """A policy reference as given in the file: built-in names as they are, policy files
        resolved relative to the file's folder."""
        return self.resolve_path(policy) if policy.endswith(".toml") else policy
