"""Champion versus challengers: paired replications, honest statistics and what-if stress.

:func:`compare` runs the champion and every challenger on the *same* seeds (common random
numbers: the same borrowers meet the same luck, see :mod:`collectsim.sim.rng`), so each
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

>>> from collectsim.experiments.config import load_experiment
>>> exp = load_experiment("experiments/compare.toml", accounts=2000, days=30)
>>> cmp = compare(exp, challengers=["sms-only"], reps=4)          # doctest: +SKIP
>>> cmp.table.query("scope == 'all' and kpi == 'net_recovery'")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from pydantic import ValidationError

from collectsim.errors import InputError, from_pydantic
from collectsim.experiments import stats
from collectsim.experiments.compare_config import KPIS, CompareSettings, Variant
from collectsim.experiments.config import Experiment
from collectsim.experiments.output import write_json, write_toml
from collectsim.experiments.provenance import provenance
from collectsim.experiments.replicate import Task, flat_kpis, run_tasks
from collectsim.experiments.simulate import prepare_policy
from collectsim.policies import BUILTIN, Policy
from collectsim.sim.scenario import Scenario, config_hash

__all__ = [
    "Comparison",
    "compare",
    "deep_merge",
    "build_variants",
    "normalised",
    "comparison_table",
    "stress_table",
    "unit_of",
    "TABLE_COLUMNS",
]

#: Columns of :attr:`Comparison.table` (and of ``comparison.csv``).
TABLE_COLUMNS: tuple[str, ...] = (
    "variant",
    "scope",
    "policy",
    "role",
    "kpi",
    "unit",
    "higher_is_better",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "ci_halfwidth",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "diff_ci_halfwidth",
    "unpaired_ci_halfwidth",
    "p_value",
    "p_adjusted",
    "p_better",
)


# ------------------------------------------------------------------ scenario variants ---
def _named_list(x: Any) -> bool:
    return isinstance(x, list) and bool(x) and all(isinstance(i, dict) and "name" in i for i in x)


def deep_merge(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged in (neither argument is modified).

    Tables merge key by key; lists of named tables (``teams``, ``segments``) merge item by
    item on ``name`` (an unknown name is appended); any other value is replaced.

    Parameters
    ----------
    base:
        Plain data, e.g. :meth:`Scenario.resolved`.
    overrides:
        Partial data of the same shape.
    """
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = deep_merge(old, value)
        elif _named_list(value) and _named_list(old):
            merged = [dict(i) for i in old]
            index = {i["name"]: k for k, i in enumerate(merged)}
            for item in value:
                if item["name"] in index:
                    k = index[item["name"]]
                    merged[k] = deep_merge(merged[k], item)
                else:
                    merged.append(copy.deepcopy(item))
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def build_variants(scenario: Scenario, variants: Sequence[Variant], source: str = "") -> dict[str, Scenario]:
    """The scenario of every stress variant, ``base`` (the scenario itself) first.

    Parameters
    ----------
    scenario:
        The experiment's scenario.
    variants:
        Stress variants; each ``overrides`` is deep-merged (:func:`deep_merge`) into the
        scenario's data and validated again.
    source:
        File name for error messages.

    Raises
    ------
    InputError
        Naming the variant and the offending override (a typo, a value out of bounds).
    """
    out = {"base": scenario}
    data = scenario.resolved()
    for i, v in enumerate(variants):
        try:
            out[v.name] = Scenario.model_validate(deep_merge(data, v.overrides))
        except ValidationError as e:
            raise from_pydantic(e, source, prefix=f"compare.variants[{i}].overrides") from None
    return out


# ------------------------------------------------------------------ KPI values ---------
def unit_of(kpi: str, per_accounts: int) -> str:
    """The unit a KPI is reported in (``per 1,000 accounts``, ``share``, ...)."""
    info = KPIS[kpi]
    if info.total:
        return f"per {per_accounts:,} accounts" if per_accounts else "portfolio total"
    return {"share": "share", "per_1k_worked": "per 1,000 accounts worked", "ratio": "ratio"}[info.unit]


def normalised(replications: pd.DataFrame, kpi: str, scope: str = "all", per_accounts: int = 1000) -> pd.Series:
    """Per-replication values of ``kpi`` in its reported unit (totals per ``per_accounts``).

    Parameters
    ----------
    replications:
        :attr:`Comparison.replications` (flat KPI columns, ``tier.<name>.<kpi>`` per tier).
    kpi:
        A name in :data:`~collectsim.experiments.compare_config.KPIS`.
    scope:
        ``all`` or a risk tier name.
    per_accounts:
        Divide portfolio totals by the accounts (of the scope) and multiply by this; 0 keeps totals.
    """
    prefix = "" if scope == "all" else f"tier.{scope}."
    col = prefix + kpi
    if col not in replications:
        return pd.Series(np.nan, index=replications.index)
    v = replications[col].astype(float)
    if per_accounts and KPIS[kpi].total:
        acc = replications[prefix + "accounts"].astype(float).replace(0.0, np.nan)
        v = v / acc * per_accounts
    return v


def comparison_table(
    replications: pd.DataFrame,
    policies: Sequence[str],
    kpis: Sequence[str],
    *,
    per_accounts: int = 1000,
    level: float = 0.95,
    test: str = "t",
    correction: str = "holm",
    scopes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The comparison figures: one row per variant × scope × policy × KPI.

    Parameters
    ----------
    replications:
        One row per (variant, policy, seed) with flat KPI columns.
    policies:
        Policy labels, the champion first.
    kpis:
        KPI names to compare.
    per_accounts, level, test, correction:
        As in :class:`~collectsim.experiments.compare_config.CompareSettings`.
    scopes:
        ``all`` and/or tier names (default: ``all`` and every tier found).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`. Champion rows carry its mean and interval, with a
        difference of 0; challenger rows the paired difference ``challenger − champion``
        over the seeds both ran, its interval, the Welch half-width the same data would
        give *unpaired*, the p-value, the adjusted p-value and the share of wins.
    """
    if scopes is None:
        tiers = dict.fromkeys(
            c.split(".")[1] for c in replications.columns if c.startswith("tier.") and c.endswith(".accounts")
        )
        scopes = ["all", *tiers]
    champion = policies[0]
    rows: list[dict] = []
    for variant, sub in replications.groupby("variant", sort=False):
        for scope in scopes:
            for kpi in kpis:
                info = KPIS[kpi]
                wide = pd.DataFrame(
                    {"seed": sub["seed"], "policy": sub["policy"], "v": normalised(sub, kpi, scope, per_accounts)}
                )
                wide = wide.pivot(index="seed", columns="policy", values="v")
                if champion not in wide or wide.isna().all().all():
                    continue
                x = wide[champion].to_numpy(float)
                family: list[int] = []
                for pol in policies:
                    if pol not in wide:
                        continue
                    y = wide[pol].to_numpy(float)
                    ci = stats.t_interval(y, level)
                    row = {
                        "variant": variant,
                        "scope": scope,
                        "policy": pol,
                        "role": "champion" if pol == champion else "challenger",
                        "kpi": kpi,
                        "unit": unit_of(kpi, per_accounts),
                        "higher_is_better": info.higher_is_better,
                        "n": ci.n,
                        "mean": ci.estimate,
                        "ci_low": ci.low,
                        "ci_high": ci.high,
                        "ci_halfwidth": ci.halfwidth,
                    }
                    if pol == champion:
                        row.update(diff=0.0, diff_ci_low=0.0, diff_ci_high=0.0, diff_ci_halfwidth=0.0)
                    else:
                        paired = stats.paired_difference(
                            x, y, level=level, test=test, higher_is_better=info.higher_is_better
                        )
                        ok = np.isfinite(x) & np.isfinite(y)
                        un = stats.unpaired_difference(x[ok], y[ok], level)
                        row.update(
                            diff=paired.interval.estimate,
                            diff_ci_low=paired.interval.low,
                            diff_ci_high=paired.interval.high,
                            diff_ci_halfwidth=paired.interval.halfwidth,
                            unpaired_ci_halfwidth=un.halfwidth,
                            p_value=paired.p_value,
                            p_better=paired.p_better,
                            n=paired.interval.n,
                        )
                        family.append(len(rows))
                    rows.append(row)
                raw = [rows[i]["p_value"] for i in family]
                adj = stats.holm(raw) if correction == "holm" else np.asarray(raw, dtype=float)
                for i, p in zip(family, adj):
                    rows[i]["p_adjusted"] = float(p)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def stress_table(table: pd.DataFrame, headline: str, also: Sequence[str] = ()) -> pd.DataFrame:
    """Policies × variants on the headline KPI, with ranks and where the ranking changes.

    Parameters
    ----------
    table:
        :attr:`Comparison.table` (or ``comparison.csv`` read back).
    headline:
        KPI that ranks the policies (rank 1 = best in its better direction).
    also:
        Further KPIs whose means are shown (columns named after them).

    Returns
    -------
    pandas.DataFrame
        One row per variant × policy: ``mean``, ``ci_halfwidth``, ``diff`` and its
        interval against the champion, ``p_adjusted``, ``rank``, ``base_rank`` and
        ``rank_changed`` (the policy's rank differs from the base scenario's).
    """
    t = table[table["scope"] == "all"]
    head = t[t["kpi"] == headline].copy()
    if head.empty:
        return pd.DataFrame()
    better = KPIS[headline].higher_is_better
    asc = better is False
    head["rank"] = head.groupby("variant", sort=False)["mean"].rank(ascending=asc, method="min").astype("Int64")
    base = head[head["variant"] == "base"].set_index("policy")["rank"]
    head["base_rank"] = head["policy"].map(base).astype("Int64")
    head["rank_changed"] = (head["rank"] != head["base_rank"]).fillna(False).astype(bool)
    cols = [
        "variant",
        "policy",
        "role",
        "mean",
        "ci_halfwidth",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "p_adjusted",
        "rank",
        "base_rank",
        "rank_changed",
    ]
    out = head[cols].reset_index(drop=True)
    for k in also:
        if k == headline:
            continue
        m = t[t["kpi"] == k].set_index(["variant", "policy"])["mean"]
        out[k] = [m.get((v, p), np.nan) for v, p in zip(out["variant"], out["policy"])]
    return out


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
            "meta": self.meta,
        }

    def save(self, folder: str | Path) -> list[str]:
        """Write the data files into ``folder`` (which must exist); return their names.

        ``comparison.csv`` (:attr:`table`), ``stress.csv``, ``replications.parquet``,
        ``daily.parquet``, ``summary.json`` and ``config.toml``; policies given as files
        are copied to ``policies/<label>.toml`` and referenced from ``config.toml``.
        """
        folder = Path(folder)
        self.table.to_csv(folder / "comparison.csv", index=False)
        self.stress.to_csv(folder / "stress.csv", index=False)
        self.replications.to_parquet(folder / "replications.parquet", index=False)
        self.daily.to_parquet(folder / "daily.parquet", index=False)
        write_json(folder / "summary.json", self.summary())
        names = ["comparison.csv", "stress.csv", "replications.parquet", "daily.parquet", "summary.json"]
        if self.config:
            config = copy.deepcopy(self.config)
            refs = []
            for label in self.policies:
                if label in self.policy_tables:
                    (folder / "policies").mkdir(exist_ok=True)
                    rel = f"policies/{_safe(label)}.toml"
                    write_toml(folder / rel, {"policy": self.policy_tables[label]})
                    refs.append(rel)
                else:
                    refs.append(label.split(" (")[0])
            config["compare"]["champion"], config["compare"]["challengers"] = refs[0], refs[1:]
            write_toml(folder / "config.toml", config)
            names.append("config.toml")
        return names


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


# ------------------------------------------------------------------ running -----------
@dataclass
class _Entry:
    label: str
    ref: str
    policy: Any


def _resolve_policies(refs: Sequence[Any], scenario: Scenario, resolve: Callable[[str], str]) -> list[_Entry]:
    entries: list[_Entry] = []
    seen: set[str] = set()
    for ref in refs:
        if isinstance(ref, (str, Path)):
            s = str(ref)
            pol = prepare_policy(resolve(s) if s.endswith(".toml") else s, scenario)
        else:
            pol = prepare_policy(ref, scenario)
            s = getattr(pol, "name", type(pol).__name__)
        name = str(getattr(pol, "name", None) or s)
        label, k = name, 2
        while label in seen:
            label, k = f"{name} ({k})", k + 1
        seen.add(label)
        entries.append(_Entry(label, s, pol))
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
) -> tuple[list[dict], list[pd.DataFrame]]:
    tasks, keys = [], []
    for variant, scen in scenarios.items():
        for i, seed in enumerate(seeds):
            for e in entries:
                tasks.append(Task(scen, e.policy, seed, label=e.label))
                keys.append((variant, e.label, seed, first_rep + i))
    results = run_tasks(tasks, jobs=jobs, backend=backend)
    rows, dailies = [], []
    for (variant, label, seed, rep), r in zip(keys, results):
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
) -> Comparison:
    """Run a champion and challengers on common random numbers and compare them.

    Every argument left ``None`` comes from ``settings``, else from the experiment's
    ``[compare]`` table, else from the defaults of
    :class:`~collectsim.experiments.compare_config.CompareSettings`.

    Parameters
    ----------
    experiment:
        A loaded :class:`~collectsim.experiments.config.Experiment` (policy files resolve
        relative to its folder) or a bare :class:`~collectsim.sim.scenario.Scenario`.
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
        Stress variants (:class:`~collectsim.experiments.compare_config.Variant` or dicts).
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
        Optional callback receiving one-line progress messages.

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
    entries = _resolve_policies([champ_ref, *chall_refs], scenario, resolve)
    scenarios = build_variants(scenario, s.variants, source)
    seed0 = default_seed if s.seed is None else s.seed
    labels = [e.label for e in entries]

    def run(scen: dict[str, Scenario], seeds: list[int], first_rep: int):
        k = len(scen) * len(seeds) * len(entries)
        say(
            f"running {len(entries)} policies x {len(scen)} scenario(s) x {len(seeds)} seeds "
            f"= {k} simulations (jobs={jobs})"
        )
        return _run_batch(scen, entries, seeds, first_rep, jobs, backend)

    n = s.reps
    seeds = list(range(seed0, seed0 + n))
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
        more = list(range(seed0 + n, seed0 + new_n))
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
        e.label: e.policy.to_dict() for e in entries if hasattr(e.policy, "to_dict") and e.ref not in BUILTIN
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
    )
