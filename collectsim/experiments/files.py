"""Experiment files: a scenario plus how to run it, in one TOML file.

An experiment file holds a ``[run]`` table (policy, seed, days, ...) and the scenario's
tables at top level (``[portfolio]``, ``[[segments]]``, ``[channels.call]``, ``[rules]``, ...;
see :class:`~collectsim.scenario.Scenario`), plus the ``[compare]``, ``[optimize]`` and ``[sweep]``
tables (:data:`SECTIONS`). Anything else is an error: a typo is never silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from collectsim.errors import InputError, from_pydantic
from collectsim.experiments.compare.settings import CompareSettings
from collectsim.experiments.experiment import Experiment, RunSettings
from collectsim.experiments.optimize.settings import OptimizeSettings
from collectsim.experiments.sweep.settings import SweepSettings
from collectsim.scenario import Scenario
from collectsim.userfiles import read_toml

__all__ = ["SECTIONS", "load_experiment", "experiment_from_dict"]


#: Top-level tables that are not part of the scenario, with their schema.
SECTIONS: dict[str, type[BaseModel]] = {
    "run": RunSettings,
    "optimize": OptimizeSettings,
    "compare": CompareSettings,
    "sweep": SweepSettings,
}

#: Sections that are absent (not defaulted) when the file has no such table.
OPTIONAL_SECTIONS: frozenset[str] = frozenset({"sweep"})


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
        if raw is None and key in OPTIONAL_SECTIONS:
            continue
        try:
            sections[key] = model.model_validate(raw or {})
        except ValidationError as e:
            raise from_pydantic(e, source, prefix=key) from None
    raw_portfolio = data.get("portfolio")
    if raw_portfolio is not None and not isinstance(raw_portfolio, dict):
        shown = repr(raw_portfolio)
        raise InputError(f"{source}: portfolio = {shown[:57] + '...' if len(shown) > 60 else shown}: must be a table "
                         "([portfolio])")
    portfolio = dict(raw_portfolio or {})
    if accounts is not None:
        portfolio["accounts"] = accounts
    if days is not None:
        portfolio["horizon_days"] = days
    if portfolio:
        data["portfolio"] = portfolio
    valuation = data.get("valuation")
    if isinstance(valuation, dict) and str(valuation.get("runoff_policy", "")).endswith(".toml") and base_dir:
        ref = Path(valuation["runoff_policy"])  # a policy file next to the experiment file
        if not ref.is_absolute() and not ref.exists() and (base_dir / ref).exists():
            data["valuation"] = dict(valuation, runoff_policy=str(base_dir / ref))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise from_pydantic(e, source) from None
    except (TypeError, AttributeError, KeyError) as e:  # a table of the wrong shape met a validator
        raise InputError(f"{source}: a table or value has the wrong shape ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:100] if str(e) else ''}); `collectsim schema` lists the tables and their fields") from None
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
