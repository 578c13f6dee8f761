"""Experiment files: a scenario plus how to run it, in one TOML file.

An experiment file holds a ``[run]`` table (policy, seed, days, ...) and the scenario's
tables at top level (``[portfolio]``, ``[[segments]]``, ``[channels.call]``, ``[rules]``, ...;
see :class:`~collectsim.sim.scenario.Scenario`). Other layers register their own tables in
:data:`SECTIONS` (``[optimize]``, ``[compare]``). Anything else is an error: a typo is
never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collectsim.errors import from_pydantic
from collectsim.experiments.compare_config import CompareSettings
from collectsim.experiments.optimize_config import OptimizeSettings
from collectsim.sim.scenario import Scenario
from collectsim.userfiles import read_toml

__all__ = ["RunSettings", "Experiment", "SECTIONS", "load_experiment", "experiment_from_dict"]


class RunSettings(BaseModel):
    """How ``collectsim run`` runs the experiment (each can be overridden on the command line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="Name of the experiment (default: the file's stem).")
    policy: str = Field("seed-champion", description="Built-in policy name or a policy file path.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the replication.")
    log_contacts: bool = Field(False, description="Also write contacts.parquet.")


#: Top-level tables that are not part of the scenario, with their schema.
SECTIONS: dict[str, type[BaseModel]] = {
    "run": RunSettings,
    "optimize": OptimizeSettings,
    "compare": CompareSettings,
}


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


def experiment_from_dict(
    data: dict,
    *,
    source: str = "<memory>",
    name: str = "experiment",
    accounts: int | None = None,
    days: int | None = None,
    base_dir: Path | None = None,
) -> Experiment:
    """Validate experiment data (as parsed from TOML) with optional size overrides."""
    data = dict(data)
    sections: dict[str, Any] = {}
    for key, model in SECTIONS.items():
        raw = data.pop(key, None)
        try:
            sections[key] = model.model_validate(raw or {})
        except ValidationError as e:
            raise from_pydantic(e, source, prefix=key) from None
    portfolio = dict(data.get("portfolio") or {})
    if accounts is not None:
        portfolio["accounts"] = accounts
    if days is not None:
        portfolio["horizon_days"] = days
    if portfolio:
        data["portfolio"] = portfolio
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise from_pydantic(e, source) from None
    run: RunSettings = sections.pop("run")
    return Experiment(
        name=run.name or name,
        run=run,
        scenario=scenario,
        sections=sections,
        source=source,
        base_dir=base_dir or Path.cwd(),
    )


def load_experiment(path: str | Path, *, accounts: int | None = None, days: int | None = None) -> Experiment:
    """Load and validate an experiment file; raise :class:`InputError` with one clear line."""
    p = Path(path)
    data = read_toml(p, "experiment")
    return experiment_from_dict(
        data, source=str(p), name=p.stem, accounts=accounts, days=days, base_dir=p.parent
    )
