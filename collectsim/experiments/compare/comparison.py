"""Champion versus challengers: paired replications, honest statistics and what-if stress.

:func:`compare` runs the champion and every challenger on the *same* seeds (common random
numbers: the same borrowers meet the same luck, see :mod:`collectsim.streams`), so each
challenger's per-seed result pairs with the champion's and the paired difference isolates
what the policy changed. For every KPI it reports each policy's mean and confidence
interval, the paired difference against the champion with its interval, a paired test
p-value (Holm-adjusted across challengers), and the share of replications the challenger
wins — portfolio-wide and per observable risk tier. Stress variants (partial overrides of
the scenario) are run for every policy on the same seeds; :func:`stress_table` shows where
the ranking of policies changes. With ``target_ci`` replications are added until the
headline difference is known to the wanted precision or a cap is reached.

Money and count KPIs are reported per ``per_accounts`` accounts (default 1,000), so the
figures do not depend on the simulated portfolio size.

>>> from collectsim.experiments.files import load_experiment
>>> exp = load_experiment("experiments/compare.toml", accounts=2000, days=30)
>>> cmp = compare(exp, challengers=["sms-only"], reps=4)          # doctest: +SKIP
>>> cmp.table.query("scope == 'all' and kpi == 'net_recovery'")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from collectsim.errors import InputError, from_pydantic
from collectsim.experiments.compare import stats
from collectsim.experiments.compare.settings import CompareSettings, Variant
from collectsim.experiments.compare.table import (
    CONTRAST_COLUMNS,
    comparison_table,
    contrast_table,
    normalised,
    stress_table,
    unit_of,
)
from collectsim.experiments.compare.variants import build_variants
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.folders import unique_file_names, write_atomic, write_json, write_toml
from collectsim.experiments.memory import check_memory
from collectsim.experiments.progress import counter
from collectsim.experiments.provenance import provenance
from collectsim.experiments.replicate import Task, flat_kpis, run_tasks
from collectsim.experiments.seeds import replication_seeds
from collectsim.policies import BUILTIN, Policy, prepare_policy
from collectsim.scenario import Scenario, config_hash

__all__ = ["Comparison", "compare"]

# ------------------------------------------------------------------ the result ---------
@dataclass
class Comparison:
    """What :func:`compare` produced.

    Attributes
    ----------
    settings:
        The effective settings (command-line and argument overrides applied).
    policies:
        Policy labels, the champion first (a repeated policy gets `` (2)`` appended).
    seeds:
        Seeds of the replications; every policy and variant ran every one of them.
    replications:
        One row per variant × policy × seed: ``variant``, ``policy``, ``seed``, ``rep``,
        ``wall_seconds`` and every flat KPI (raw, not normalised; ``tier.<name>.<kpi>`` per tier).
    daily:
        The daily series of every replication with ``variant``, ``policy`` and ``seed`` columns.
    table:
        :func:`comparison_table` of all variants, portfolio-wide and per tier.
    stress:
        :func:`stress_table` of the headline KPI.
    stopping:
        How the number of replications was decided: ``reason`` (``fixed``, ``target
        reached``, ``cap reached``, ``not computable``), ``reps``, ``target_ci``,
        ``achieved_halfwidth`` and the ``rounds`` taken.
    meta:
        Provenance (version, commit, seeds, configuration hash, wall time).
    config:
        The resolved configuration (scenario, ``[run]``, ``[compare]``), re-runnable.
    policy_tables:
        The rule table of every policy given as a file or object, by label.
    contrasts:
        :func:`~collectsim.experiments.compare.table.contrast_table` against every
        ``also_against`` reference (empty without one): every other policy's paired
        difference against it, all variants, portfolio-wide and per tier.
    """

    settings: CompareSettings
    policies: list[str]
    seeds: list[int]
    replications: pd.DataFrame
    daily: pd.DataFrame
    table: pd.DataFrame
    stress: pd.DataFrame
    stopping: dict
    meta: dict
    config: dict = field(default_factory=dict)
    policy_tables: dict[str, dict] = field(default_factory=dict)
    contrasts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(CONTRAST_COLUMNS)))

    @property
    def references(self) -> list[str]:
        """Labels of the ``also_against`` references (in the contrasts' order)."""
        return list(dict.fromkeys(self.contrasts["reference"])) if len(self.contrasts) else []

    @property
    def champion(self) -> str:
        """Label of the champion."""
        return self.policies[0]

    @property
    def challengers(self) -> list[str]:
        """Labels of the challengers."""
        return self.policies[1:]

    @property
    def variants(self) -> list[str]:
        """Variant names, ``base`` first."""
        return list(dict.fromkeys(self.replications["variant"]))

    def summary(self) -> dict:
        """Plain data describing the comparison (what ``summary.json`` holds)."""
        s = self.settings
        return {
            "kind": "compare",
            "champion": self.champion,
            "challengers": self.challengers,
            "variants": [{"name": "base", "description": "the experiment's scenario"}]
            + [{"name": v.name, "description": v.description, "overrides": v.overrides} for v in s.variants],
            "headline": s.headline,
            "headline_also": list(s.headline_also),
            "kpis": s.all_kpis(),
            "per_accounts": s.per_accounts,
            "level": s.level,
            "test": s.test,
            "correction": s.correction,
            "seeds": self.seeds,
            "stopping": self.stopping,
            "policy_tables": self.policy_tables,
            "also_against": self.references,
            "meta": self.meta,
        }

    def save(self, folder: str | Path) -> list[str]:
        """Write the data files into ``folder`` (which must exist); return their names.

        ``comparison.csv`` (:attr:`table`), ``stress.csv``, ``replications.parquet``,
        ``daily.parquet``, ``summary.json`` and ``config.toml``; policies given as files
        are copied to ``policies/<file name of the label>.toml`` (letters, digits and ``_ . + -``;
        a short hash of the label when it holds anything else, so two labels never share a
        file) and referenced from ``config.toml``.
        """
        folder = Path(folder)
        write_atomic(folder / "comparison.csv", lambda p: self.table.to_csv(p, index=False))
        write_atomic(folder / "stress.csv", lambda p: self.stress.to_csv(p, index=False))
        write_atomic(folder / "replications.parquet", lambda p: self.replications.to_parquet(p, index=False))
        write_atomic(folder / "daily.parquet", lambda p: self.daily.to_parquet(p, index=False))
        write_json(folder / "summary.json", self.summary())
        names = ["comparison.csv", "stress.csv", "replications.parquet", "daily.parquet", "summary.json"]
        if len(self.contrasts):
            write_atomic(folder / "contrasts.csv", lambda p: self.contrasts.to_csv(p, index=False))
            names.append("contrasts.csv")
        if self.config:
            config = copy.deepcopy(self.config)
            refs = []
            files = unique_file_names(self.policies)  # injective: x<y and x>y get two files
            for label in self.policies:
                if label in self.policy_tables:
                    (folder / "policies").mkdir(exist_ok=True)
                    rel = f"policies/{files[label]}.toml"
                    write_toml(folder / rel, {"policy": self.policy_tables[label]})
                    refs.append(rel)
                else:
                    refs.append(label.split(" (")[0])
            config["compare"]["champion"], config["compare"]["challengers"] = refs[0], refs[1:]
            if self.references:
                config["compare"]["also_against"] = [refs[self.policies.index(r)] for r in self.references]
            write_toml(folder / "config.toml", config)
            names.append("config.toml")
        return names


# ------------------------------------------------------------------ running -----------
@dataclass
class _Entry:
    label: str
    ref: str
    policy: Any


def _resolve_policies(
    refs: Sequence[Any], scenario: Scenario, resolve: Callable[[str], str], distinct: bool = False
) -> list[_Entry]:
    entries: list[_Entry] = []
    seen: set[str] = set()
    given_of: dict[str, str] = {}
    for i, ref in enumerate(refs):
        if isinstance(ref, (str, Path)):
            given = str(ref)
            pol = prepare_policy(resolve(given) if given.endswith(".toml") else given, scenario)
        else:
            pol = prepare_policy(ref, scenario)
            given = pol.name
        name = str(pol.name or given)
        role = "the champion" if i == 0 else f"challenger {i}"
        if distinct and name in given_of:
            same = given_of[name] == given
            raise InputError(
                f"compare: policy {given!r} ({role}) "
                + ("is listed twice" if same else f"has the same name {name!r} as {given_of[name]!r}")
                + "; list each policy once, with distinct names (a repeated policy would be renamed and compared "
                "with itself)"
            )
        given_of.setdefault(name, given)
        label, k = name, 2
        while label in seen:
            label, k = f"{name} ({k})", k + 1
        seen.add(label)
        entries.append(_Entry(label, given, pol))
    return entries


def _effective_settings(base: CompareSettings, updates: dict) -> CompareSettings:
    data = base.model_dump()
    data.update({k: v for k, v in updates.items() if v is not None})
    try:
        return CompareSettings.model_validate(data)
    except ValidationError as e:
        raise from_pydantic(e, prefix="compare") from None


def _run_batch(
    scenarios: dict[str, Scenario],
    entries: list[_Entry],
    seeds: Sequence[int],
    first_rep: int,
    jobs: int,
    backend: str | None,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[dict], list[pd.DataFrame]]:
    tasks, keys = [], []
    for variant, scen in scenarios.items():
        for i, seed in enumerate(seeds):
            for e in entries:
                tasks.append(Task(scen, e.policy, seed, label=e.label))
                keys.append((variant, e.label, seed, first_rep + i))
    results = run_tasks(tasks, jobs=jobs, backend=backend, on_done=on_done)
    rows, dailies = [], []
    for (variant, label, seed, rep), r in zip(keys, results, strict=False):
        rows.append(
            {
                "variant": variant,
                "policy": label,
                "seed": seed,
                "rep": rep,
                "wall_seconds": r.meta["wall_seconds"],
                **flat_kpis(r),
            }
        )
        d = r.daily.copy()
        d.insert(0, "seed", seed)
        d.insert(0, "policy", label)
        d.insert(0, "variant", variant)
        dailies.append(d)
    return rows, dailies


def _headline_precision(rows: list[dict], labels: list[str], s: CompareSettings) -> tuple[float, float]:
    """Largest headline-difference CI half-width over the challengers, and that difference's sd."""
    reps = pd.DataFrame(rows)
    wide = pd.DataFrame(
        {"seed": reps["seed"], "policy": reps["policy"], "v": normalised(reps, s.headline, "all", s.per_accounts)}
    )
    wide = wide.pivot(index="seed", columns="policy", values="v")
    worst = (float("-inf"), float("nan"))
    for pol in labels[1:]:
        d = (wide[pol] - wide[labels[0]]).to_numpy(float)
        hw = stats.t_interval(d, s.level).halfwidth
        if not math.isfinite(hw):
            return float("nan"), float("nan")
        if hw > worst[0]:
            worst = (hw, float(np.std(d[np.isfinite(d)], ddof=1)))
    return worst


def compare(
    experiment: Experiment | Scenario,
    champion: str | Policy | None = None,
    challengers: Sequence[str | Policy] | None = None,
    *,
    reps: int | None = None,
    jobs: int = 1,
    variants: Sequence[Variant | dict] | None = None,
    target_ci: float | None = None,
    max_reps: int | None = None,
    seed: int | None = None,
    settings: CompareSettings | None = None,
    backend: str | None = None,
    progress: Callable[[str], None] | None = None,
    distinct: bool = False,
) -> Comparison:
    """Run a champion and challengers on common random numbers and compare them.

    Every argument left ``None`` comes from ``settings``, else from the experiment's
    ``[compare]`` table, else from the defaults of
    :class:`~collectsim.experiments.compare.settings.CompareSettings`.

    Parameters
    ----------
    experiment:
        A loaded :class:`~collectsim.experiments.experiment.Experiment` (policy files resolve
        relative to its folder) or a bare :class:`~collectsim.scenario.Scenario`.
    champion:
        The production policy: a built-in name, a policy file, or a policy object.
    challengers:
        One or more challenger policies (names, files or objects).
    reps:
        Replications (seeds) per policy and variant, at least 2; with ``target_ci`` the
        number to start from.
    jobs:
        Parallel worker processes (joblib; -1 = all cores).
    variants:
        Stress variants (:class:`~collectsim.experiments.compare.settings.Variant` or dicts).
    target_ci:
        Add replications until every challenger's headline-difference half-width is at
        most this (in the headline's reported unit) or ``max_reps`` is reached.
    max_reps:
        Cap on replications with ``target_ci``.
    seed:
        First seed; replication ``i`` uses ``seed + i``.
    settings:
        Settings to start from instead of the experiment's ``[compare]`` table.
    backend:
        joblib backend name (see :func:`~collectsim.experiments.replicate.run_tasks`).
    progress:
        Optional callback receiving one-line progress messages; while simulations run, a
        message per finished simulation is a :class:`~collectsim.experiments.progress.Progress`
        (a ``str`` such as ``"replications: 12/40 simulations"`` that also carries ``step``,
        ``done`` and ``total``).
    distinct:
        Refuse a policy listed twice, or two policies with one name (what ``collectsim
        compare`` and :func:`collectsim.compare_experiment` do). By default a repeated policy
        is labelled ``NAME (2)``: an A/A comparison of a policy with itself.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        Before anything runs: a policy that does not load or does not fit the scenario,
        a variant override that does not validate, a setting out of bounds.
    """
    t0 = time.perf_counter()
    say = progress or (lambda msg: None)
    if isinstance(experiment, Experiment):
        scenario = experiment.scenario
        base = settings or experiment.sections.get("compare") or CompareSettings()
        default_seed, default_champion = experiment.run.seed, experiment.run.policy
        resolve, source, name = experiment.resolve_path, experiment.source, experiment.name
    elif isinstance(experiment, Scenario):
        scenario = experiment
        base = settings or CompareSettings()
        default_seed, default_champion = 0, "seed-champion"
        resolve, source, name = str, "", "compare"
    else:
        raise InputError(f"experiment = {type(experiment).__name__}: must be an Experiment or a Scenario")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs == 0 or jobs < -1:
        raise InputError(f"jobs = {jobs!r}: must be a positive whole number (or -1 for all cores)")

    champ_ref = champion if champion is not None else (base.champion or default_champion)
    chall_refs = list(challengers) if challengers is not None else list(base.challengers)
    if not chall_refs:
        raise InputError("compare.challengers: none given; list them in [compare] challengers or pass --policy")
    if reps is not None and max_reps is None and base.max_reps is not None and base.max_reps < reps:
        max_reps = reps  # more replications asked for than the file's cap: the cap follows
    s = _effective_settings(
        base,
        {
            "reps": reps,
            "target_ci": target_ci,
            "max_reps": max_reps,
            "seed": seed,
            "variants": None
            if variants is None
            else [v.model_dump() if isinstance(v, Variant) else v for v in variants],
        },
    )
    entries = _resolve_policies([champ_ref, *chall_refs], scenario, resolve, distinct)
    references = []
    def same_file(a: str, b: str) -> bool:  # one policy file however it was spelled (file or command line)
        return a.endswith(".toml") and b.endswith(".toml") and Path(resolve(a)).resolve() == Path(resolve(b)).resolve()

    for i, ref in enumerate(s.also_against):
        hit = [e.label for e in entries if ref in (e.ref, e.label) or same_file(ref, e.ref)]
        if not hit and challengers is not None and ref in base.challengers:
            continue  # the file's reference was one of its challengers, which the caller replaced
        if not hit:
            raise InputError(
                f"compare.also_against[{i}] = {ref!r}: neither the champion nor a challenger; allowed: "
                + ", ".join(repr(e.ref) for e in entries)
            )
        references.append(hit[0])
    scenarios = build_variants(scenario, s.variants, source)
    workers = (os.cpu_count() or 1) if jobs == -1 else jobs
    check_memory("compare", max(sc.portfolio.accounts for sc in scenarios.values()), scenario.portfolio.horizon_days,
                 processes=min(workers, len(entries) * s.reps * len(scenarios)))
    seed0 = default_seed if s.seed is None else s.seed
    labels = [e.label for e in entries]

    def run(scen: dict[str, Scenario], seeds: list[int], first_rep: int):
        k = len(scen) * len(seeds) * len(entries)
        say(
            f"running {len(entries)} policies x {len(scen)} scenario(s) x {len(seeds)} seeds "
            f"= {k} simulations (jobs={jobs})"
        )
        step = "stress variants" if "base" not in scen else "replications"
        return _run_batch(scen, entries, seeds, first_rep, jobs, backend, counter(progress, step, k, "simulations"))

    n = s.reps
    seeds = replication_seeds(seed0, n)
    rows, dailies = run({"base": scenarios["base"]}, seeds, 0)
    hw, sd = _headline_precision(rows, labels, s)
    rounds = [{"reps": n, "halfwidth": hw}]
    reason = "fixed"
    while s.target_ci is not None:
        if not math.isfinite(hw):
            reason = "not computable"
            break
        if hw <= s.target_ci:
            reason = "target reached"
            break
        if n >= s.reps_cap:
            reason = "cap reached"
            break
        # the sd estimate is rough at few replications: at most double per round
        new_n = max(
            n + 1, min(stats.reps_for_halfwidth(sd, s.target_ci, s.level, n_min=n + 1, n_max=s.reps_cap), 2 * n)
        )
        say(f"headline CI half-width {hw:,.4g} > target {s.target_ci:,.4g} at {n} reps; adding {new_n - n}")
        more = replication_seeds(seed0 + n, new_n - n)
        r2, d2 = run({"base": scenarios["base"]}, more, n)
        rows, dailies, seeds, n = rows + r2, dailies + d2, seeds + more, new_n
        hw, sd = _headline_precision(rows, labels, s)
        rounds.append({"reps": n, "halfwidth": hw})
    stressed = {k: v for k, v in scenarios.items() if k != "base"}
    if stressed:
        r2, d2 = run(stressed, seeds, 0)
        rows, dailies = rows + r2, dailies + d2

    replications = pd.DataFrame(rows)
    tiers = [t for t in scenario.scoring.tier_names if f"tier.{t}.accounts" in replications]
    table = comparison_table(
        replications,
        labels,
        s.all_kpis(),
        per_accounts=s.per_accounts,
        level=s.level,
        test=s.test,
        correction=s.correction,
        scopes=["all", *tiers],
    )
    pairs = [(e.label, ref) for ref in references for e in entries if e.label != ref]
    contrasts = contrast_table(replications, pairs, s.all_kpis(), per_accounts=s.per_accounts, level=s.level,
                               test=s.test, scopes=["all", *tiers])
    s = _effective_settings(s, {"reps": n, "seed": seed0})
    stopping = {
        "reason": reason,
        "reps": n,
        "target_ci": s.target_ci,
        "max_reps": s.reps_cap if s.target_ci is not None else None,
        "achieved_halfwidth": hw,
        "headline": s.headline,
        "unit": unit_of(s.headline, s.per_accounts),
        "rounds": rounds,
    }
    policy_tables = {
        e.label: e.policy.to_dict() for e in entries if e.policy.to_dict() is not None and e.ref not in BUILTIN
    }
    compare_cfg = s.model_dump(mode="json", exclude_none=True)
    compare_cfg.update(champion=entries[0].ref, challengers=[e.ref for e in entries[1:]])
    config = {"run": {"name": name, "seed": seed0}, **scenario.resolved(), "compare": compare_cfg}
    chash = config_hash({k: v for k, v in config.items() if k != "run"} | {"policy_tables": policy_tables})
    meta = provenance(
        experiment=name,
        source=source,
        champion=labels[0],
        challengers=labels[1:],
        seeds=seeds,
        reps=n,
        variants=list(scenarios),
        accounts=scenario.portfolio.accounts,
        days=scenario.portfolio.horizon_days,
        config_hash=chash,
        jobs=jobs,
        simulations=len(replications),
        wall_seconds=time.perf_counter() - t0,
    )
    return Comparison(
        settings=s,
        policies=labels,
        seeds=seeds,
        replications=replications,
        daily=pd.concat(dailies, ignore_index=True),
        table=table,
        stress=stress_table(table, s.headline, s.headline_also),
        stopping=stopping,
        meta=meta,
        config=config,
        policy_tables=policy_tables,
        contrasts=contrasts,
    )
