"""Many replications at once: (scenario, policy, seed) tasks run through joblib.

This is the one place experiments fan simulations out to processes (local loky workers by
default, or any joblib backend such as Dask's). Results come back in task order, so a
caller can pair them (common random numbers: same seed = same borrowers and luck).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import joblib
import pandas as pd

from collectsim.experiments.simulation import simulate
from collectsim.results import SimulationResult
from collectsim.scenario import Scenario

__all__ = ["Task", "run_tasks", "flat_kpis", "kpi_table"]


@dataclass(frozen=True)
class Task:
    """One replication to run: a scenario, a policy (name, file or object) and a seed."""

    scenario: Scenario
    policy: Any
    seed: int
    days: int | None = None
    label: str = ""


def _run(task: Task) -> SimulationResult:
    return simulate(task.scenario, task.policy, task.seed, days=task.days, audit=False)


def run_tasks(
    tasks: Iterable[Task],
    *,
    jobs: int = 1,
    backend: str | None = None,
    verbose: int = 0,
    on_done: Callable[[int], None] | None = None,
) -> list[SimulationResult]:
    """Run ``tasks`` (in parallel when ``jobs`` ≠ 1) and return their results in order.

    ``backend`` is a joblib backend name: ``loky`` (default: local processes) or ``dask``
    (the cluster of the current ``distributed.Client``, which the caller creates).
    ``on_done(k)`` is called as results come in, with the number finished so far (results
    arrive in task order; on Dask all at once at the end).
    """
    tasks = list(tasks)
    if jobs == 1 and backend is None:
        out = []
        for t in tasks:
            out.append(_run(t))
            if on_done is not None:
                on_done(len(out))
        return out
    if backend == "dask":  # joblib's Dask backend wants the config context, not a name
        with joblib.parallel_config(backend="dask"):
            par = joblib.Parallel(n_jobs=-1, verbose=verbose)
            out = list(par(joblib.delayed(_run)(t) for t in tasks))
        if on_done is not None and out:
            on_done(len(out))
        return out
    if on_done is None:
        par = joblib.Parallel(n_jobs=jobs, backend=backend, verbose=verbose)
        return list(par(joblib.delayed(_run)(t) for t in tasks))
    par = joblib.Parallel(n_jobs=jobs, backend=backend, verbose=verbose, return_as="generator")
    out = []
    for r in par(joblib.delayed(_run)(t) for t in tasks):
        out.append(r)
        on_done(len(out))
    return out


def flat_kpis(result: SimulationResult) -> dict[str, float]:
    """Scalar KPIs of one result as a flat dict: ``recovery_rate``, ``contacts.sms``,
    ``blocked.<rule>``, ``tier.<name>.recovery_rate``, ... (None becomes NaN)."""
    out: dict[str, float] = {}

    def put(prefix: str, d: dict) -> None:
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                put(key + ".", v)
            elif isinstance(v, (int, float)) or v is None:
                out[key] = float("nan") if v is None else float(v)

    put("", result.kpis)
    for tier, block in result.tiers.items():
        put(f"tier.{tier}.", block)
    return out


def kpi_table(results: list[SimulationResult], labels: list[str] | None = None) -> pd.DataFrame:
    """One row per result: ``policy``, ``seed`` and every flat KPI."""
    rows = []
    for i, r in enumerate(results):
        row = {"policy": labels[i] if labels else r.meta["policy"], "seed": r.meta["seed"]}
        row.update(flat_kpis(r))
        rows.append(row)
    return pd.DataFrame(rows)
