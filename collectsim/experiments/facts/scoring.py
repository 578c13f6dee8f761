"""The stylized-facts scorecard: how far a book behaves like the published evidence.

:func:`load_facts` reads the facts and their sources (``facts.toml``, package data);
:func:`scorecard` runs the replications an experiment needs
(:mod:`collectsim.experiments.facts.measure`) and returns a :class:`Scorecard`: one row per
fact with the model's value (the mean over replications), its standard error (between
replications: every replication is an independent seed), the reference range, the source
and whether the value lies in the range. ``collectsim facts`` prints it and writes
``facts.json`` and ``facts.md``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Literal

import joblib
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from collectsim.errors import InputError
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.facts.measure import MEASURES, measure_all, run_one, runs_needed
from collectsim.experiments.seeds import replication_seeds
from collectsim.policies import RuleTableSpec

__all__ = ["Fact", "FactRow", "Scorecard", "load_facts", "facts_settings", "scorecard", "format_fact"]

Unit = Literal["share", "points", "ratio", "per_day", "per_1k_year"]


class Fact(BaseModel):
    """One stylized fact: what is measured, the reference range and where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, description="Identifier (facts.json key).")
    label: str = Field(..., min_length=1, description="What the row is called in the table.")
    measure: str = Field(..., description="Measurement function in collectsim.experiments.facts.measure.")
    unit: Unit = Field(..., description="How the value is shown.")
    low: float = Field(..., description="Lower end of the reference range (inclusive).")
    high: float = Field(..., description="Upper end of the reference range (inclusive).")
    definition: str = Field(..., min_length=1, description="What the model's value is.")
    source: str = Field(..., min_length=1, description="Where the range comes from.")
    bridge: str = Field("", description="How the published figure became this range (assumptions named).")

    @model_validator(mode="after")
    def _check(self) -> Fact:
        if self.measure not in MEASURES:
            raise ValueError(f"fact {self.name!r}: measure {self.measure!r} unknown; allowed: {', '.join(MEASURES)}")
        if not self.low <= self.high:
            raise ValueError(f"fact {self.name!r}: low ({self.low}) must be <= high ({self.high})")
        return self


def _data() -> dict:
    return tomllib.loads(resources.files(__package__).joinpath("facts.toml").read_text(encoding="utf-8"))


def load_facts() -> list[Fact]:
    """The facts of ``facts.toml``, in file order."""
    return [Fact.model_validate(f) for f in _data()["fact"]]


def facts_settings() -> dict:
    """The scorecard's run settings from ``facts.toml``: the calls policy (a rule table), the
    open-book and the M1-book changes."""
    d = _data()
    calls = RuleTableSpec.model_validate(d["policies"]["calls"]).model_dump()
    return {"calls_policy": calls, "open_book": dict(d["open_book"]), "m1_book": dict(d["m1_book"])}


@dataclass
class FactRow:
    """One row of the scorecard."""

    name: str
    label: str
    value: float | None
    se: float | None
    low: float
    high: float
    passed: bool
    unit: str
    source: str
    definition: str
    bridge: str
    per_replication: list[float | None] = field(default_factory=list)

    @property
    def near_edge(self) -> bool:
        """The value lies within two standard errors of an end of its range."""
        if self.value is None or self.se is None:
            return False
        return min(abs(self.value - self.low), abs(self.high - self.value)) < 2 * self.se


@dataclass
class Scorecard:
    """The scorecard of one experiment: its rows and how it was measured."""

    rows: list[FactRow]
    experiment: str
    policy: str
    accounts: int
    reps: int
    seeds: list[int]

    @property
    def passed(self) -> bool:
        """Every fact lies in its range."""
        return all(r.passed for r in self.rows)

    def to_dict(self) -> dict:
        """Plain data for ``facts.json``."""
        return {
            "experiment": self.experiment,
            "policy": self.policy,
            "accounts": self.accounts,
            "reps": self.reps,
            "seeds": self.seeds,
            "passed": self.passed,
            "facts": [asdict(r) | {"near_edge": r.near_edge} for r in self.rows],
        }

    def table(self) -> str:
        """The scorecard as a Markdown table (what ``collectsim facts`` prints)."""
        lines = [
            "| fact | model (± s.e.) | reference | result | source |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in self.rows:
            shown = "-" if r.value is None else format_fact(r.value, r.unit)
            if r.se is not None and r.value is not None:
                shown += f" ± {format_fact(r.se, r.unit, se=True)}"
            verdict = "pass" if r.passed else "FAIL"
            if r.near_edge:
                verdict += " (within 2 s.e. of the edge)"
            ref = f"{format_fact(r.low, r.unit)} – {format_fact(r.high, r.unit)}"
            lines.append(f"| {r.label} | {shown} | {ref} | {verdict} | {_short(r.source)} |")
        return "\n".join(lines)

    def markdown(self) -> str:
        """``facts.md``: the table, how it was measured, and every fact's definition, source and bridge."""
        n_pass = sum(r.passed for r in self.rows)
        out = [
            f"# Stylized facts: {self.experiment}",
            "",
            f"{n_pass} of {len(self.rows)} facts in their reference range "
            f"(policy {self.policy}, {self.accounts:,} accounts, {self.reps} replications on seeds "
            f"{self.seeds[0]}–{self.seeds[-1]}; ± one standard error between replications).",
            "",
            self.table(),
            "",
            "## Definitions and sources",
            "",
        ]
        for r in self.rows:
            out += [f"### {r.label} (`{r.name}`)", "", f"- **measured**: {r.definition}", f"- **source**: {r.source}"]
            if r.bridge:
                out.append(f"- **range**: {r.bridge}")
            out.append("")
        return "\n".join(out)


def _short(source: str, n: int = 70) -> str:
    s = source.split(";")[0].replace("|", "/")
    return s if len(s) <= n else s[: n - 1] + "…"


def format_fact(x: float, unit: str, se: bool = False) -> str:
    """A value as the scorecard shows it (shares in %, points in percentage points)."""
    if unit == "share":
        return f"{100 * x:.2f} %" if se or abs(x) < 0.1 else f"{100 * x:.1f} %"
    if unit == "points":
        return f"{100 * x:.1f} pt"
    if unit == "ratio":
        return f"{x:.2f}"
    return f"{x:.1f}" if unit == "per_day" else f"{x:.2f}"


def _mean_se(values: list[float | None]) -> tuple[float | None, float | None]:
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    if not len(v) or np.isnan(v).any():
        return None, None
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None
    return float(v.mean()), se


def scorecard(
    experiment: Experiment,
    *,
    reps: int = 4,
    seed: int | None = None,
    policy: str | None = None,
    jobs: int = 1,
    facts: list[Fact] | None = None,
    progress=None,
) -> Scorecard:
    """Measure every fact on ``experiment`` and return the scorecard.

    Parameters
    ----------
    experiment:
        A loaded experiment; its scenario is the book, its ``[run].policy`` the policy of the
        book run (``policy`` overrides it).
    reps:
        Replications (independent seeds, at least 2 so that every value has a standard error).
    seed:
        First seed (default: the experiment's ``[run].seed``); replication ``i`` runs on ``seed + i``.
    jobs:
        Parallel processes (joblib) over the runs.
    facts:
        The facts to score (default: :func:`load_facts`).
    progress:
        Optional callback ``progress(done, total)`` after each run.
    """
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 2:
        raise InputError(f"reps = {reps!r}: must be an integer >= 2 (a standard error needs two replications)")
    scenario = experiment.scenario
    if scenario.portfolio.product == "recovery":
        raise InputError("portfolio.product = 'recovery': the scorecard's facts (roll rates, charge-off) are those "
                         "of a lender's delinquent book; use 'card' or 'instalment'")
    facts = load_facts() if facts is None else facts
    settings = facts_settings()
    pol = experiment.policy_ref(policy or experiment.run.policy)
    seeds = replication_seeds(experiment.run.seed if seed is None else seed, reps)
    measures = [f.measure for f in facts]
    tasks = [(run, s) for s in seeds for run in runs_needed(measures)]
    call = joblib.delayed(run_one)
    args = [(scenario, run, pol, s, settings, settings["calls_policy"]) for run, s in tasks]
    if jobs == 1:
        results = []
        for i, a in enumerate(args):
            results.append(run_one(*a))
            if progress is not None:
                progress(i + 1, len(args))
    else:
        results = list(joblib.Parallel(n_jobs=jobs)(call(*a) for a in args))
        if progress is not None:
            progress(len(args), len(args))
    by_seed: dict[int, dict] = {s: {} for s in seeds}
    for (run, s), res in zip(tasks, results, strict=True):
        by_seed[s][run] = res
    measured = [measure_all(by_seed[s], measures) for s in seeds]
    rows = []
    for f in facts:
        per = [m[f.measure] for m in measured]
        value, se = _mean_se(per)
        rows.append(FactRow(
            name=f.name, label=f.label, value=value, se=se, low=f.low, high=f.high,
            passed=value is not None and f.low <= value <= f.high, unit=f.unit, source=f.source,
            definition=f.definition, bridge=f.bridge, per_replication=per,
        ))
    name = pol if isinstance(pol, str) else getattr(pol, "name", str(pol))
    return Scorecard(rows=rows, experiment=experiment.name, policy=name, accounts=scenario.portfolio.accounts,
                     reps=reps, seeds=seeds)
