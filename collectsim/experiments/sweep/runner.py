"""Dose-response sweeps: one tier's contact levers over a grid, with paired replications.

A ``[sweep]`` table names a base rule-table policy, a tier and one or two levers (cell
fields such as ``call_per_week`` and ``sms_per_week``) with the values to try. Every grid
point is the base policy with every DPD bucket of that tier set to the point's values
(:func:`collectsim.policies.rule_table.cells_for_tier`); every point runs on the same seeds
(common random numbers), so differences between points are paired. Example
(``experiments/dose-response.toml``)::

    [sweep]
    policy = "seed-champion"
    tier = "medium"
    levers = { call_per_week = [0, 1, 2, 3, 5, 7, 10, 14], sms_per_week = [0, 2, 7] }
    reps = 4

:func:`run_sweep` returns a :class:`SweepResult`: the KPIs of every run (``runs``), their mean
with a 95 % interval at every point (``summary``), the paired difference of every point from
the best one (``versus_best``) and the shape of the response of the first lever
(``shape``: where the best value lies and whether the gains diminish).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from collectsim.errors import InputError
from collectsim.experiments.compare.stats import Interval, t_interval
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.folders import write_json
from collectsim.experiments.provenance import provenance
from collectsim.experiments.replicate import Task, flat_kpis, run_tasks
from collectsim.experiments.seeds import replication_seeds
from collectsim.experiments.sweep.settings import SweepSettings
from collectsim.policies import RuleTablePolicy, RuleTableSpec, get_policy
from collectsim.policies.rule_table import cells_for_tier

__all__ = ["SweepResult", "run_sweep"]

def _point_policy(base: RuleTableSpec, tier: str, point: dict[str, float]) -> RuleTablePolicy:
    data = base.model_dump()
    data["cells"] = [c.model_dump() for c in cells_for_tier(list(base.cells), tier, **point)]
    data["name"] = f"{base.name}[" + ",".join(f"{k}={v:g}" for k, v in point.items()) + "]"
    return RuleTablePolicy(RuleTableSpec.model_validate(data))


def _mean_interval(values) -> tuple[Interval, float]:
    """The 95 % t interval of the mean of the finite ``values``
    (:func:`~collectsim.experiments.compare.stats.t_interval`) and its standard error."""
    iv = t_interval(np.asarray(values, dtype=float))
    se = iv.halfwidth / float(stats.t.ppf(0.975, iv.n - 1)) if iv.n > 1 else float("nan")
    return iv, se


class SweepResult:
    """What a sweep produced.

    Attributes
    ----------
    settings:
        The :class:`SweepSettings` (after defaults).
    runs:
        One row per run: the lever values, ``seed`` and every KPI of :attr:`SweepSettings.kpis`.
    summary:
        One row per grid point and KPI: ``mean``, ``se``, ``lo`` and ``hi`` (95 % t interval
        over the replications), ``n``.
    versus_best:
        One row per grid point: the paired difference of the first KPI from the best point
        (``diff``, ``lo``, ``hi``; same seeds, so the luck cancels).
    paired:
        One row per grid point and KPI: the paired difference from the line's first point
        (the first lever at its lowest value), with its 95 % interval — what the plots show.
    shape:
        The response of the first KPI to the first lever at each value of the second lever:
        where the best value lies (``best``), whether it is interior, and the marginal gains.
    """

    def __init__(self, settings: SweepSettings, runs: pd.DataFrame, meta: dict) -> None:
        self.settings = settings
        self.runs = runs
        self.meta = meta
        self.levers = list(settings.levers)
        self.summary = self._summary()
        self.versus_best = self._versus_best()
        self.paired = self._paired()
        self.shape = self._shape()

    @property
    def kpi(self) -> str:
        """The KPI whose best point is sought (the first of ``settings.kpis``)."""
        return self.settings.kpis[0]

    def _summary(self) -> pd.DataFrame:
        rows = []
        for point, g in self.runs.groupby(self.levers, sort=True):
            point = point if isinstance(point, tuple) else (point,)
            for k in self.settings.kpis:
                iv, se = _mean_interval(g[k])
                rows.append({**dict(zip(self.levers, point, strict=True)), "kpi": k, "mean": iv.estimate, "se": se,
                             "lo": iv.low, "hi": iv.high, "n": iv.n})
        return pd.DataFrame(rows)

    def _versus_best(self) -> pd.DataFrame:
        k = self.kpi
        wide = self.runs.pivot_table(index="seed", columns=self.levers, values=k)
        best = wide.mean().idxmax()
        rows = []
        for point in wide.columns:
            iv, _ = _mean_interval(wide[point] - wide[best])
            point = point if isinstance(point, tuple) else (point,)
            rows.append({**dict(zip(self.levers, point, strict=True)), "diff": iv.estimate, "lo": iv.low, "hi": iv.high})
        return pd.DataFrame(rows)

    def _paired(self) -> pd.DataFrame:
        """Every KPI at every point minus the same KPI at the line's first point (the first
        lever at its lowest value, the other lever as at the point), seed by seed."""
        first, rest = self.levers[0], self.levers[1:]
        low = min(self.settings.levers[first])
        base = self.runs[self.runs[first] == low].drop(columns=[first])
        merged = self.runs.merge(base, on=[*rest, "seed"], suffixes=("", "_base"))
        rows = []
        for point, g in merged.groupby(self.levers, sort=True):
            point = point if isinstance(point, tuple) else (point,)
            for k in self.settings.kpis:
                iv, se = _mean_interval(g[k] - g[k + "_base"])
                rows.append({**dict(zip(self.levers, point, strict=True)), "kpi": k, "diff": iv.estimate, "se": se,
                             "lo": iv.low, "hi": iv.high, "n": iv.n})
        return pd.DataFrame(rows)

    def _shape(self) -> list[dict]:
        s = self.summary[self.summary["kpi"] == self.kpi]
        first, rest = self.levers[0], self.levers[1:]
        groups = s.groupby(rest, sort=True) if rest else [((), s)]
        out = []
        for key, g in groups:
            g = g.sort_values(first)
            x, y = g[first].to_numpy(dtype=float), g["mean"].to_numpy(dtype=float)
            i = int(np.nanargmax(y))
            gains = (np.diff(y) / np.diff(x)).tolist()  # value per extra contact a week, between grid points
            key = key if isinstance(key, tuple) else (key,)
            runs = self.runs
            for lv, v in zip(rest, key, strict=True):
                runs = runs[runs[lv] == v]
            wide = runs.pivot_table(index="seed", columns=first, values=self.kpi).sort_index(axis=1)

            def beats(end: int, wide=wide, i=i) -> bool:  # the best's paired 95 % interval against an end is above 0
                d = (wide.iloc[:, i] - wide.iloc[:, end]).to_numpy(dtype=float)
                if len(d) < 2:
                    return False
                half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
                return bool(d.mean() - half > 0)

            beats_ends = bool(0 < i < len(x) - 1 and beats(0) and beats(len(x) - 1))
            out.append({
                **dict(zip(rest, key, strict=True)),
                "best": float(x[i]),
                "best_mean": float(y[i]),
                "interior": bool(0 < i < len(x) - 1),
                "beats_ends": beats_ends,
                "marginal_gain": gains,
                # each extra contact a week adds less than the one before: the first step's gain is
                # above the last gain before the best point, and nothing is gained beyond it
                "diminishing": bool((i < 2 or gains[0] > gains[i - 1]) and all(g <= 0 for g in gains[i:])),
            })
        return out

    def save(self, folder: str | Path) -> None:
        """Write ``sweep_runs.csv``, ``sweep_summary.csv``, ``sweep_versus_best.csv``,
        ``sweep_paired.csv`` and ``sweep.json``."""
        folder = Path(folder)
        self.runs.to_csv(folder / "sweep_runs.csv", index=False)
        self.summary.to_csv(folder / "sweep_summary.csv", index=False)
        self.versus_best.to_csv(folder / "sweep_versus_best.csv", index=False)
        self.paired.to_csv(folder / "sweep_paired.csv", index=False)
        write_json(folder / "sweep.json", {"settings": self.settings.model_dump(mode="json"), "shape": self.shape,
                                           "kpi": self.kpi, "meta": self.meta})


def run_sweep(
    experiment: Experiment,
    *,
    reps: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run the experiment's ``[sweep]`` grid and return the :class:`SweepResult`."""
    settings = experiment.sections.get("sweep")
    if settings is None:
        raise InputError(f"{experiment.source}: no [sweep] table (see experiments/dose-response.toml)")
    if reps is not None:
        settings = settings.model_copy(update={"reps": reps})
    if settings.reps < 2:
        raise InputError(f"reps = {settings.reps}: must be >= 2 (an interval needs two replications)")
    scenario = experiment.scenario
    if settings.tier not in scenario.scoring.tier_names:
        raise InputError(f"sweep.tier = {settings.tier!r}: not a tier of the scenario; allowed: "
                         f"{', '.join(scenario.scoring.tier_names)}")
    ref = experiment.policy_ref(settings.policy or experiment.run.policy)
    base = get_policy(ref)
    if not isinstance(base, RuleTablePolicy):
        raise InputError(f"sweep.policy = {ref!r}: a sweep sets cells of a rule-table policy; this one is not "
                         "(use seed-champion, sms-only or a policy file)")
    first = experiment.run.seed if seed is None and settings.seed is None else (seed if seed is not None else settings.seed)
    seeds = replication_seeds(first, settings.reps)
    grid = [dict(zip(settings.levers, values, strict=True)) for values in itertools.product(*settings.levers.values())]
    policies = [_point_policy(base.table, settings.tier, p) for p in grid]
    for pol in policies:
        pol.prepare(scenario.scoring.tier_names)
    tasks = [Task(scenario, pol, s, label=pol.name) for pol in policies for s in seeds]
    if progress is not None:
        progress(f"{len(grid)} grid points × {len(seeds)} replications = {len(tasks)} runs")
    results = run_tasks(tasks, jobs=jobs)
    rows = []
    for (point, s), res in zip(itertools.product(grid, seeds), results, strict=True):
        flat = flat_kpis(res)
        prefix = f"tier.{settings.tier}." if settings.scope == "tier" else ""
        rows.append({**point, "seed": s, **{k: flat.get(prefix + k, float("nan")) for k in settings.kpis}})
    meta = provenance(experiment=experiment.name, source=experiment.source, base_policy=base.name, seeds=seeds,
                      accounts=scenario.portfolio.accounts, days=scenario.portfolio.horizon_days,
                      simulations=len(tasks), jobs=jobs)
    return SweepResult(settings, pd.DataFrame(rows), meta)
