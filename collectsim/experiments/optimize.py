"""The optimizer: Optuna searches rule-table policies on the noisy simulator, honestly.

The decision problem is kept apart from the model (SimOpt style):

* :class:`~collectsim.experiments.search_space.SearchSpace` — which policy settings may
  change, over which ranges (``[[optimize.params]]``);
* :class:`Objective` — how a replication is scored (``scalar``: net recovery minus weighted
  lost CLV and complaints; ``pareto``: net recovery up, complaints per 1k and churn down)
  and which hard caps a policy must meet (Optuna constraints, ``trial.set_constraint``);
* :func:`optimize` — the study driver.

How a study runs (``docs/optimize.md``):

1. **Common random numbers.** Every trial is simulated on the same *search bank* of R seeds;
   two policies on one seed meet the same borrowers and the same luck, so differences
   between trials are differences between policies.
2. **Champion first.** Today's strategy is simulated on the search bank first and recorded
   as trial 0 (with its parameters when it lies in the space), so every study shows how far
   it got from it. If the champion breaks a cap and so does the least-contact policy of the
   space, the cap is declared unreachable before anything is written (exit code 2).
3. **Batches.** Trials are asked in batches (ask/tell); the (trial × replication)
   simulations run through :func:`~collectsim.experiments.replicate.run_tasks` (joblib:
   local processes, or a Dask cluster), one call per round, each round advancing every
   batch in flight by one replication stage (see :func:`_search`). A trial is told as soon
   as its last stage ends, so a killed run loses only the trials in flight.
4. **Pruning** (scalar mode). Per-replication values are reported as intermediate values
   keyed by replication (= seed) index; :class:`optuna.pruners.WilcoxonPruner` compares them
   *pairwise* with the best trial and stops trials that are significantly worse.
5. **Validation.** The best feasible trials (``validate_top``; in pareto mode a spread of
   the front) and the champion are re-simulated on a disjoint *validation bank*; the
   recommended policy is the best on validation, reported with the mean and a t-based 95%
   confidence interval of its paired difference from the champion. Search-phase values are
   never used to rank alone (they are optimistically biased: the search picked them).

Results are a pure function of the experiment, the seed banks and the sampler seed: the
number of jobs or the backend does not change them.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from collectsim.errors import InputError
from collectsim.experiments.config import Experiment, load_experiment
from collectsim.experiments.optimize_config import ObjectiveSettings, OptimizeSettings
from collectsim.experiments.output import check_out_dir, default_out_dir, write_json, write_toml
from collectsim.experiments.provenance import provenance
from collectsim.experiments.replicate import Task, run_tasks
from collectsim.experiments.search_space import SearchSpace, spec_key
from collectsim.experiments.simulate import prepare_policy
from collectsim.experiments.stats import paired_difference, t_interval
from collectsim.policies import RuleTablePolicy
from collectsim.sim.scenario import Scenario, config_hash

__all__ = [
    "KPI_KEYS",
    "Objective",
    "StudyPlan",
    "ValidatedPolicy",
    "OptimizeResult",
    "plan_study",
    "seed_banks",
    "paired_stats",
    "optimize",
    "trials_frame",
    "JOURNAL_NAME",
]

#: KPIs recorded per replication for every trial (means in ``trials.csv``).
KPI_KEYS: tuple[str, ...] = (
    "net_recovery",
    "collected",
    "recovery_rate",
    "treatment_cost",
    "discounts_given",
    "complaints",
    "complaints_per_1k",
    "lost_clv",
    "churn_rate",
    "churned",
    "cure_rate",
    "chargeoff_rate",
    "unworked",
)
#: KPIs compared with the champion in ``validation.json`` (besides the objective), with
#: whether higher is better.
COMPARED: dict[str, bool] = {
    "net_recovery": True,
    "collected": True,
    "treatment_cost": False,
    "complaints_per_1k": False,
    "lost_clv": False,
    "churn_rate": False,
    "recovery_rate": True,
}
#: File name of the embedded study journal inside the run folder.
JOURNAL_NAME = "study.journal"
_CAP_KPI = {
    "max_complaints_per_1k": "complaints_per_1k",
    "max_treatment_cost": "treatment_cost",
    "max_churn_rate": "churn_rate",
}
_HEARTBEAT_S = 30


# ============================================================================ objective


@dataclass(frozen=True)
class Objective:
    """How replications are scored and which caps a policy must meet.

    Parameters
    ----------
    mode:
        ``scalar`` or ``pareto``.
    lambda_churn, lambda_complaint:
        Weights of the scalar objective
        ``net_recovery − lambda_churn·lost_clv − lambda_complaint·complaints`` (also used in
        pareto mode to pick one recommended policy from the front).
    churn:
        Pareto mode's churn objective (``lost_clv`` or ``churn_rate``).
    caps:
        Hard caps ``{kpi: maximum}`` on the mean over replications.
    """

    mode: str = "scalar"
    lambda_churn: float = 0.0
    lambda_complaint: float = 0.0
    churn: str = "lost_clv"
    caps: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, s: ObjectiveSettings) -> Objective:
        """Build from the ``[optimize.objective]`` table."""
        caps = {kpi: getattr(s, key) for key, kpi in _CAP_KPI.items() if getattr(s, key) is not None}
        return cls(s.mode, s.lambda_churn, s.lambda_complaint, s.churn, caps)

    @property
    def names(self) -> list[str]:
        """Names of the study's objective values."""
        return ["objective"] if self.mode == "scalar" else ["net_recovery", "complaints_per_1k", self.churn]

    @property
    def directions(self) -> list[str]:
        """Optuna directions of the objective values."""
        return ["maximize"] if self.mode == "scalar" else ["maximize", "minimize", "minimize"]

    def scalar(self, k: dict) -> float:
        """The scalar objective of one replication's (or a mean's) KPIs."""
        return float(k["net_recovery"] - self.lambda_churn * k["lost_clv"] - self.lambda_complaint * k["complaints"])

    def formula(self) -> str:
        """The scalar objective as text."""
        return (
            f"net_recovery - {self.lambda_churn:g} * lost_clv - {self.lambda_complaint:g} * complaints"
        )

    def values(self, mean: dict) -> list[float]:
        """The study's objective values for mean KPIs."""
        if self.mode == "scalar":
            return [self.scalar(mean)]
        churn = mean[self.churn]
        return [float(mean["net_recovery"]), float(mean["complaints_per_1k"]), 0.0 if _nan(churn) else float(churn)]

    def constraints(self, mean: dict) -> dict[str, float]:
        """Optuna constraint values (≤ 0 is feasible): ``(mean − cap) / cap`` per cap."""
        out = {}
        for kpi, cap in self.caps.items():
            v = mean.get(kpi)
            v = 0.0 if _nan(v) else float(v)
            out[f"max_{kpi}"] = (v - cap) / cap if cap > 0 else v - cap
        return out

    def feasible(self, mean: dict) -> bool:
        """True if the mean KPIs meet every cap."""
        return all(v <= 0.0 for v in self.constraints(mean).values())

    def describe(self) -> dict:
        """Plain-data description (for provenance and validation.json)."""
        d: dict[str, Any] = {"mode": self.mode, "scalar": self.formula()}
        if self.mode == "pareto":
            d["objectives"] = dict(zip(self.names, self.directions, strict=True))
        d["caps"] = {f"max_{k}": v for k, v in self.caps.items()}
        return d


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _compact(kpis: dict) -> dict[str, float]:
    return {k: (float("nan") if kpis.get(k) is None else float(kpis[k])) for k in KPI_KEYS}


def _mean(rows: Sequence[dict]) -> dict[str, float]:
    out = {}
    for k in KPI_KEYS:
        v = np.array([r[k] for r in rows], dtype=float)
        out[k] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


# ============================================================================ statistics


def paired_stats(
    a: Sequence[float], b: Sequence[float], level: float = 0.95, higher_is_better: bool | None = True
) -> dict[str, Any]:
    """Mean paired difference ``a − b`` with a Student-t confidence interval, as plain data.

    A thin wrapper over :func:`collectsim.experiments.stats.paired_difference` (the one home
    of the comparison statistics).

    Parameters
    ----------
    a, b:
        Per-seed values of a candidate and of the champion on the same seeds (same order).
    level:
        Confidence level of the interval.
    higher_is_better:
        Direction of the KPI (for ``share_better``).

    Returns
    -------
    dict
        ``mean_diff``, ``sd`` (of the differences), ``n``, ``ci`` ([low, high]), ``level``,
        ``p_value`` (two-sided paired t test), ``ci_excludes_zero``, ``relative`` (mean
        difference / |mean of b|) and ``share_better`` (share of seeds on which ``a`` is
        better; ties count one half).
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    res = paired_difference(y, x, level=level, higher_is_better=higher_is_better)
    iv = res.interval
    ok = np.isfinite(x) & np.isfinite(y)
    d = x[ok] - y[ok]
    base = float(y[ok].mean()) if ok.any() else float("nan")
    finite = math.isfinite(iv.low) and math.isfinite(iv.high)
    return {
        "n": iv.n,
        "level": level,
        "mean_diff": iv.estimate,
        "sd": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
        "ci": [iv.low, iv.high],
        "p_value": res.p_value,
        "ci_excludes_zero": bool(finite and (iv.low > 0 or iv.high < 0)),
        "relative": (iv.estimate / abs(base)) if base and math.isfinite(base) else None,
        "share_better": res.p_better,
    }


def _t_ci(x: Sequence[float], level: float = 0.95) -> list[float]:
    iv = t_interval(x, level)
    return [iv.low, iv.high]


# ============================================================================ plan


def seed_banks(settings: OptimizeSettings, reps: int | None = None, validation_reps: int | None = None) -> tuple[list[int], list[int]]:
    """The search and validation seed banks (disjoint).

    Defaults: search ``seed·100000 + 1 … + R``, validation ``seed·100000 + 50001 … + V``.
    Explicit ``search_seeds`` / ``validation_seeds`` lists are used as given (their first R
    or V seeds when ``reps`` / ``validation_reps`` asks for fewer).
    """
    r = settings.reps if reps is None else reps
    v = settings.validation_reps if validation_reps is None else validation_reps
    base = settings.seed * 100_000
    if settings.search_seeds is not None:
        if reps is not None and reps > len(settings.search_seeds):
            raise InputError(
                f"reps = {reps}: the file's optimize.search_seeds holds only {len(settings.search_seeds)} seeds"
            )
        search = list(settings.search_seeds[: (reps or len(settings.search_seeds))])
    else:
        search = [base + 1 + i for i in range(r)]
    if settings.validation_seeds is not None:
        validation = list(settings.validation_seeds[: (validation_reps or len(settings.validation_seeds))])
    else:
        validation = [base + 50_001 + j for j in range(v)]
    common = set(search) & set(validation)
    if common:
        raise InputError(
            f"optimize.validation_seeds: seed {sorted(common)[0]} is also a search seed; the banks must be disjoint"
        )
    if r > 50_000 and settings.search_seeds is None:
        raise InputError(f"reps = {r}: at most 50000 with the default seed banks")
    return search, validation


@dataclass
class StudyPlan:
    """Everything a study needs, validated (built by :func:`plan_study`).

    Attributes
    ----------
    experiment:
        The loaded experiment.
    settings:
        Its ``[optimize]`` settings.
    space, objective:
        The search space and the objective.
    champion, champion_ref:
        The champion policy object and how the file names it.
    champion_params:
        The champion's parameter values if it lies in the space, else None.
    search_seeds, validation_seeds:
        The two seed banks.
    trials, batch, jobs:
        Study size, trials per ask batch, local worker processes.
    study_name, config_hash:
        Name in the storage and the hash that a resumed study must match.
    """

    experiment: Experiment
    settings: OptimizeSettings
    space: SearchSpace
    objective: Objective
    champion: Any
    champion_ref: str
    champion_params: dict | None
    search_seeds: list[int]
    validation_seeds: list[int]
    trials: int
    batch: int
    jobs: int
    study_name: str
    config_hash: str

    @property
    def scenario(self) -> Scenario:
        """The scenario simulated."""
        return self.experiment.scenario

    @property
    def days(self) -> int:
        """The horizon simulated."""
        return self.experiment.scenario.portfolio.horizon_days

    @property
    def source(self) -> str:
        """The experiment file (for messages)."""
        return self.experiment.source

    def stages(self) -> list[int]:
        """Replication counts after which the pruner is consulted (the last is ``reps``).

        The Wilcoxon signed-rank test on n pairs cannot reach p < ``prune_p`` before
        ``0.5**n < prune_p``; the first check comes at that n (at least 2).
        """
        r = len(self.search_seeds)
        s = self.settings
        if self.objective.mode != "scalar" or not s.prune:
            return [r]
        n_min = max(2, int(math.floor(math.log2(1.0 / s.prune_p))) + 1)
        if n_min >= r:
            return [r]
        chunk = max(1, math.ceil((r - n_min) / 2))
        out = list(range(n_min, r, chunk))
        return out + [r]


def _resolve_policy(exp: Experiment, ref: str, what: str):
    p = exp.resolve_path(ref) if ref.endswith(".toml") else ref
    try:
        return prepare_policy(p, exp.scenario)
    except InputError as e:
        raise InputError(f"{exp.source}: optimize.{what} = {ref!r}: {e}") from None


def plan_study(
    experiment: Experiment,
    *,
    trials: int | None = None,
    reps: int | None = None,
    jobs: int | None = None,
    batch: int | None = None,
) -> StudyPlan:
    """Validate an experiment's ``[optimize]`` table against its scenario; return the plan.

    Raises :class:`InputError` (one line) for anything wrong: bad parameters, a champion or
    base that is not a rule table or names unknown tiers, overlapping seed banks, ...
    """
    s: OptimizeSettings = experiment.sections["optimize"]
    src = experiment.source
    for name, v in (("trials", trials), ("reps", reps), ("jobs", jobs), ("batch", batch)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise InputError(f"{name} = {v!r}: must be a whole number >= 1")
    tier_names = tuple(experiment.scenario.scoring.tier_names)
    champion = _resolve_policy(experiment, s.champion, "champion")
    base_ref = s.base or s.champion
    base = champion if s.base is None else _resolve_policy(experiment, s.base, "base")
    if not isinstance(base, RuleTablePolicy):
        what = "base" if s.base else "champion"
        raise InputError(
            f"{src}: optimize.{what} = {base_ref!r}: not a rule-table policy; the search modifies a rule table "
            "(seed-champion, sms-only or a policy file); set optimize.base to one"
        )
    space = SearchSpace.from_settings(s, tier_names, base.spec, source=src)
    objective = Objective.from_settings(s.objective)
    search, validation = seed_banks(s, reps)
    champion_params = space.params_of(champion.spec) if isinstance(champion, RuleTablePolicy) else None
    jobs_ = jobs or s.jobs
    batch_ = batch or s.batch or max(4, 2 * jobs_)
    champ_desc = champion.spec.model_dump(mode="json") if isinstance(champion, RuleTablePolicy) else s.champion
    chash = config_hash(
        {
            "scenario": experiment.scenario.resolved(),
            "optimize": s.model_dump(
                mode="json",
                exclude={"trials", "jobs", "batch", "reps", "validation_reps", "validate_top", "validation_seeds",
                         "search_seeds", "study_name"},
            ),
            "search_seeds": search,
            "champion": champ_desc,
            "base": base.spec.model_dump(mode="json"),
        }
    )
    return StudyPlan(
        experiment=experiment,
        settings=s,
        space=space,
        objective=objective,
        champion=champion,
        champion_ref=s.champion,
        champion_params=champion_params,
        search_seeds=search,
        validation_seeds=validation,
        trials=trials or s.trials,
        batch=batch_,
        jobs=jobs_,
        study_name=s.study_name or experiment.name,
        config_hash=chash,
    )


# ============================================================================ evaluation


class _Runner:
    """Runs (policy, seed) simulations through ``run_tasks`` with a result cache.

    Simulations are pure functions of (policy behaviour, seed), so a repeated (policy, seed)
    — a duplicate suggestion, the champion — is read from the cache, not re-simulated.
    """

    def __init__(self, plan: StudyPlan, jobs: int, backend: str | None) -> None:
        self.plan = plan
        self.jobs = jobs
        self.backend = backend
        self.cache: dict[tuple[str, int], dict[str, float]] = {}
        self.simulated = 0
        self.sim_seconds = 0.0  # summed wall time of the simulations (for utilization)

    def key(self, policy: Any) -> str:
        if isinstance(policy, RuleTablePolicy):
            return spec_key(policy.spec, self.plan.space.tier_names)
        return "policy:" + str(getattr(policy, "name", type(policy).__name__))

    def run(self, items: list[tuple[Any, str, int]]) -> list[dict[str, float]]:
        """KPIs (compact) of each ``(policy, key, seed)``, in order."""
        todo: dict[tuple[str, int], Task] = {}
        for pol, key, seed in items:
            if (key, seed) not in self.cache and (key, seed) not in todo:
                todo[(key, seed)] = Task(self.plan.scenario, pol, seed, days=self.plan.days)
        if todo:
            tasks = list(todo.values())
            if self.backend == "dask":
                results = run_tasks(tasks, backend="dask")
            else:
                results = run_tasks(tasks, jobs=min(self.jobs, len(tasks)) if self.jobs > 1 else 1)
            for k, r in zip(todo, results, strict=True):
                self.cache[k] = _compact(r.kpis)
                self.sim_seconds += float(r.meta.get("wall_seconds") or 0.0)
            self.simulated += len(tasks)
        return [self.cache[(key, seed)] for _, key, seed in items]


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None) -> Iterator[int | None]:
    """Connect to a Dask scheduler for the duration (yields its thread count), or nothing."""
    if backend == "loky":
        if scheduler:
            raise InputError(f"scheduler = {scheduler!r}: only used with --backend dask")
        yield None
        return
    if backend != "dask":
        raise InputError(f"backend = {backend!r}: unknown; allowed: loky, dask")
    if not scheduler:
        raise InputError("backend = 'dask': needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        import distributed  # noqa: F401
        from distributed import Client
    except ImportError:
        raise InputError("backend = 'dask': needs the dask[distributed] package (pip install 'dask[distributed]')") from None
    try:
        client = Client(scheduler, timeout="15s", set_as_default=True)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"scheduler = {scheduler!r}: cannot connect ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        yield threads
    finally:
        client.close()


# ============================================================================ storage


def _open_storage(url: str | None, journal: Path | None):
    """An Optuna storage: the embedded journal file, or an RDB URL (with heartbeats)."""
    if url is None:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(str(journal)))
    if "://" not in url:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        p = Path(url)
        if not p.parent.exists():
            raise InputError(f"storage = {url!r}: folder {str(p.parent)!r} does not exist")
        return JournalStorage(JournalFileBackend(str(p)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.storages.RDBStorage(url, heartbeat_interval=_HEARTBEAT_S, grace_period=4 * _HEARTBEAT_S)
    except Exception as e:  # sqlalchemy raises many kinds
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"storage = {_safe_url(url)!r}: cannot open ({msg[:160]})") from None


def _repair_journal(path: Path) -> None:
    """Drop a torn last line (a driver killed mid-write) so new records start on a fresh line."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)


def _safe_url(url: str | None) -> str | None:
    if url is None or "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://***"


def _study_exists(storage, name: str) -> bool:
    return any(s.study_name == name for s in storage.get_all_studies())


def _sampler(plan: StudyPlan, seed: int):
    s = plan.settings
    startup = s.startup_trials if s.startup_trials is not None else max(4, min(10, plan.trials // 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if s.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if s.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, plan.batch))
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, multivariate=True, group=True, constant_liar=True
        )


def _pruner(plan: StudyPlan):
    stages = plan.stages()
    if len(stages) == 1:
        return optuna.pruners.NopPruner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.WilcoxonPruner(p_threshold=plan.settings.prune_p, n_startup_steps=stages[0])


# ============================================================================ results


@dataclass
class ValidatedPolicy:
    """A policy re-evaluated on the validation bank.

    Attributes
    ----------
    name:
        Policy name.
    role:
        ``champion`` or ``candidate``.
    trial:
        Its trial number in the study (the champion is trial 0 of a fresh study).
    policy:
        The policy object (a :class:`RuleTablePolicy` for candidates).
    params:
        Searched-parameter values (None for a champion outside the space).
    search:
        Mean KPIs and ``objective`` on the search bank.
    validation:
        Mean and sd of every KPI and the objective on the validation bank, with a 95% CI of
        the objective's mean.
    vs_champion:
        Paired differences from the champion on the validation seeds (see :func:`paired_stats`),
        per KPI and for ``objective``; empty for the champion.
    feasible:
        Whether its validation means meet every cap.
    """

    name: str
    role: str
    trial: int | None
    policy: Any
    params: dict | None
    search: dict
    validation: dict
    vs_champion: dict
    feasible: bool

    def to_dict(self) -> dict:
        """Plain data for ``validation.json``."""
        return _jsonable(
            {
                "name": self.name,
                "role": self.role,
                "trial": self.trial,
                "params": self.params,
                "feasible_on_validation": self.feasible,
                "search": self.search,
                "validation": self.validation,
                "vs_champion": self.vs_champion,
            }
        )


@dataclass
class OptimizeResult:
    """What :func:`optimize` returns.

    Attributes
    ----------
    study:
        The Optuna study (its storage still open).
    out:
        The run folder.
    champion:
        The champion, validated.
    candidates:
        The validated candidates, best first.
    best:
        The recommended policy: the candidate best on the validation bank, or the champion
        when no candidate beat it there.
    validation:
        The content of ``validation.json``.
    """

    study: optuna.Study
    out: Path
    champion: ValidatedPolicy
    candidates: list[ValidatedPolicy]
    best: ValidatedPolicy
    validation: dict

    @property
    def best_policy(self) -> Any:
        """The recommended policy object."""
        return self.best.policy

    @property
    def best_policies(self) -> list[ValidatedPolicy]:
        """Validated best policies: the recommended one (scalar) or every validated
        member of the Pareto front (pareto), best scalar objective first."""
        if self.validation.get("objective", {}).get("mode") == "pareto":
            return list(self.candidates)
        return [self.best]


# ============================================================================ driver


class _Heartbeat:
    """Records Optuna heartbeats for running trials (RDB storages), so another driver can
    tell a crashed driver's trials from live ones."""

    def __init__(self, storage) -> None:
        from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

        self.storage = storage
        self.enabled = isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage)
        self.ids: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()

    def add(self, trial_id: int) -> None:
        if self.enabled:
            self.ids.add(trial_id)
            self.storage.record_heartbeat(trial_id)

    def discard(self, trial_id: int) -> None:
        self.ids.discard(trial_id)

    def _loop(self) -> None:
        while not self._stop.wait(_HEARTBEAT_S):
            for tid in list(self.ids):
                with contextlib.suppress(Exception):
                    self.storage.record_heartbeat(tid)

    def close(self) -> None:
        self._stop.set()


def _finished(study: optuna.Study) -> list:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _record(trial, plan: StudyPlan, rows: list[dict], seeds: list[int], role: str, reused: int) -> tuple[dict, list]:
    """Set a trial's user attributes and constraints from its replications; return (mean, values)."""
    mean = _mean(rows)
    obj = [plan.objective.scalar(r) for r in rows]
    attrs = {
        "role": role,
        "seeds": seeds,
        "kpis": _jsonable(mean),
        "rep_kpis": _jsonable({k: [r[k] for r in rows] for k in KPI_KEYS}),
        "objective": float(np.mean(obj)),
        "objective_reps": obj,
        "feasible": plan.objective.feasible(mean),
        "reused_reps": reused,
    }
    for k, v in attrs.items():
        trial.set_user_attr(k, v)
    for k, v in plan.objective.constraints(mean).items():
        trial.set_constraint(k, v)
    return mean, plan.objective.values(mean)


def _champion_trial(plan: StudyPlan, rows: list[dict]) -> optuna.trial.FrozenTrial:
    mean = _mean(rows)
    obj = [plan.objective.scalar(r) for r in rows]
    params = plan.champion_params or {}
    dists = {k: v for k, v in plan.space.distributions().items() if k in params}
    attrs = {
        "role": "champion",
        "policy": getattr(plan.champion, "name", plan.champion_ref),
        "in_search_space": plan.champion_params is not None,
        "seeds": plan.search_seeds,
        "kpis": _jsonable(mean),
        "rep_kpis": _jsonable({k: [r[k] for r in rows] for k in KPI_KEYS}),
        "objective": float(np.mean(obj)),
        "objective_reps": obj,
        "feasible": plan.objective.feasible(mean),
        "reused_reps": 0,
    }
    values = plan.objective.values(mean)
    kw: dict[str, Any] = {"value": values[0]} if plan.objective.mode == "scalar" else {"values": values}
    if plan.objective.mode == "scalar":
        kw["intermediate_values"] = {i: v for i, v in enumerate(obj)}
    return optuna.trial.create_trial(
        state=TrialState.COMPLETE,
        params=params,
        distributions=dists,
        user_attrs=attrs,
        constraints=plan.objective.constraints(mean) or None,
        **kw,
    )


def _search(
    study: optuna.Study,
    plan: StudyPlan,
    runner: _Runner,
    heartbeat: _Heartbeat,
    on_told: Callable[[], None],
) -> None:
    """Run trials until the study holds ``plan.trials`` finished ones.

    Work proceeds in *rounds*. Each round asks a new batch of trials (while the study needs
    more) and simulates, in one parallel call, the next replication stage of every batch in
    flight: the first stage of the new batch together with later stages of older batches.
    After the round, each batch is consulted by the pruner (between stages) or told
    (after its last stage). Overlapping batches keeps every worker busy across the stage
    barriers; the schedule depends only on the plan, never on timing, so the study is the
    same whatever the number of jobs or the backend.
    """
    stages = plan.stages()
    seeds = plan.search_seeds
    inflight: list[dict] = []  # {"entries": [...], "stage": next stage index}
    try:
        while True:
            finished = len(_finished(study))
            running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
            k = min(plan.batch, plan.trials - finished - running)
            if k > 0:
                entries = []
                for _ in range(k):
                    t = study.ask()
                    heartbeat.add(t._trial_id)
                    entries.append({"trial": t, "rows": [], "reused": 0})
                for e in entries:
                    params = plan.space.suggest(e["trial"])
                    e["policy"] = plan.space.policy(params, name=f"{plan.experiment.name}-trial-{e['trial'].number}")
                    e["key"] = runner.key(e["policy"])
                inflight.append({"entries": entries, "stage": 0})
            if not inflight:
                return
            # one round: the next stage of every batch in flight
            items, owners = [], []
            for b in inflight:
                lo = stages[b["stage"] - 1] if b["stage"] else 0
                for e in b["entries"]:
                    for i in range(lo, stages[b["stage"]]):
                        if (e["key"], seeds[i]) in runner.cache:
                            e["reused"] += 1
                        items.append((e["policy"], e["key"], seeds[i]))
                        owners.append((e, i))
            rows = runner.run(items)
            for (e, i), r in zip(owners, rows, strict=True):
                e["rows"].append(r)
                if plan.objective.mode == "scalar":
                    e["trial"].report(plan.objective.scalar(r), i)
            still = []
            for b in inflight:
                b["stage"] += 1
                done = stages[b["stage"] - 1]
                if b["stage"] == len(stages):
                    for e in b["entries"]:
                        _, values = _record(e["trial"], plan, e["rows"], seeds[:done], "candidate", e["reused"])
                        study.tell(e["trial"], values if len(values) > 1 else values[0])
                        heartbeat.discard(e["trial"]._trial_id)
                        on_told()
                    continue
                alive = []
                for e in b["entries"]:
                    if e["trial"].should_prune():
                        _record(e["trial"], plan, e["rows"], seeds[:done], "candidate", e["reused"])
                        study.tell(e["trial"], state=TrialState.PRUNED)
                        heartbeat.discard(e["trial"]._trial_id)
                        on_told()
                    else:
                        alive.append(e)
                if alive:
                    b["entries"] = alive
                    still.append(b)
            inflight = still
    except BaseException:
        # leave no trial RUNNING behind (a SIGKILL can; --resume cleans those up)
        for b in inflight:
            for e in b["entries"]:
                with contextlib.suppress(Exception):
                    study.tell(e["trial"], state=TrialState.FAIL, skip_if_finished=True)
                heartbeat.discard(e["trial"]._trial_id)
        raise


def _best_so_far(study: optuna.Study, plan: StudyPlan) -> str:
    done = [t for t in _finished(study) if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible")]
    if not done:
        return "-"
    b = max(done, key=lambda t: t.user_attrs.get("objective", -math.inf))
    return f"{b.user_attrs['objective']:,.0f} (#{b.number})"


# ============================================================================ validation


def _validate(study: optuna.Study, plan: StudyPlan, runner: _Runner) -> tuple[ValidatedPolicy, list[ValidatedPolicy], dict]:
    """Re-run the best trials and the champion on the validation bank (see module docstring)."""
    obj = plan.objective
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    champ_trials = [t for t in complete if t.user_attrs.get("role") == "champion"]
    cands_all = [t for t in complete if t.user_attrs.get("role") != "champion" and t.user_attrs.get("feasible")]
    if obj.mode == "pareto":
        front = [t for t in study.best_trials if t.user_attrs.get("role") != "champion"]
        front.sort(key=lambda t: -t.values[0])
        pool = front
    else:
        pool = sorted(cands_all, key=lambda t: -t.user_attrs["objective"])
    picked, keys = [], set()
    if obj.mode == "pareto" and len(pool) > plan.settings.validate_top:
        idx = np.unique(np.linspace(0, len(pool) - 1, plan.settings.validate_top).round().astype(int))
        pool = [pool[i] for i in idx]
    for t in pool:
        pol = plan.space.policy(t.params, name=f"{plan.experiment.name}-trial-{t.number}")
        key = runner.key(pol)
        if key in keys:
            continue
        keys.add(key)
        picked.append((t, pol, key))
        if len(picked) >= plan.settings.validate_top:
            break
    champ_key = runner.key(plan.champion)
    seeds = plan.validation_seeds
    items = [(plan.champion, champ_key, s) for s in seeds]
    for _, pol, key in picked:
        items += [(pol, key, s) for s in seeds]
    rows = runner.run(items)
    n = len(seeds)
    champ_rows = rows[:n]
    champ_obj = [obj.scalar(r) for r in champ_rows]

    def summary(rs: list[dict]) -> dict:
        o = [obj.scalar(r) for r in rs]
        mean = _mean(rs)
        sd = {k: float(np.nanstd([r[k] for r in rs], ddof=1)) if n > 1 else None for k in KPI_KEYS}
        return {
            "objective": {"mean": float(np.mean(o)), "sd": float(np.std(o, ddof=1)), "ci95": _t_ci(o)},
            "mean": mean,
            "sd": sd,
            "per_seed_objective": o,
        }

    k = max(1, len(picked))
    champ = ValidatedPolicy(
        name=str(getattr(plan.champion, "name", plan.champion_ref)),
        role="champion",
        trial=champ_trials[0].number if champ_trials else None,
        policy=plan.champion,
        params=plan.champion_params,
        search=({"objective": champ_trials[0].user_attrs["objective"], **champ_trials[0].user_attrs["kpis"]} if champ_trials else {}),
        validation=summary(champ_rows),
        vs_champion={},
        feasible=obj.feasible(_mean(champ_rows)),
    )
    cands: list[ValidatedPolicy] = []
    for j, (t, pol, _) in enumerate(picked):
        rs = rows[(j + 1) * n : (j + 2) * n]
        vs = {"objective": paired_stats([obj.scalar(r) for r in rs], champ_obj)}
        vs["objective_selection_adjusted"] = paired_stats(
            [obj.scalar(r) for r in rs], champ_obj, level=1 - 0.05 / k
        )
        for kpi, up in COMPARED.items():
            vs[kpi] = paired_stats([r[kpi] for r in rs], [r[kpi] for r in champ_rows], higher_is_better=up)
        cands.append(
            ValidatedPolicy(
                name=pol.name,
                role="candidate",
                trial=t.number,
                policy=pol,
                params=plan.space.clean(t.params),
                search={"objective": t.user_attrs["objective"], **t.user_attrs["kpis"]},
                validation=summary(rs),
                vs_champion=vs,
                feasible=obj.feasible(_mean(rs)),
            )
        )
    cands.sort(key=lambda c: -c.validation["objective"]["mean"])
    ok = [c for c in cands if c.feasible]
    champ_mean = champ.validation["objective"]["mean"]
    best = ok[0] if ok and ok[0].validation["objective"]["mean"] > champ_mean else champ
    if best is champ and not champ.feasible and ok:
        best = ok[0]  # an infeasible champion is not a recommendation
    return champ, cands, {"k": len(picked), "best": best}


# ============================================================================ outputs


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def trials_frame(study: optuna.Study, plan: StudyPlan) -> pd.DataFrame:
    """One row per trial: number, role, state, objective(s), feasibility, constraint values,
    mean search KPIs, replications run and parameter values (``param.NAME``)."""
    rows = []
    names = plan.objective.names
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        row: dict[str, Any] = {
            "number": t.number,
            "role": ua.get("role", "candidate"),
            "state": t.state.name,
            "objective": ua.get("objective"),
        }
        if plan.objective.mode == "pareto":
            for i, nm in enumerate(names):
                row[f"value.{nm}"] = t.values[i] if t.values else None
        row["feasible"] = ua.get("feasible")
        row["reps"] = len(ua.get("seeds", []))
        for ck, cv in t.constraints.items():
            row[f"constraint.{ck}"] = cv
        for kk in KPI_KEYS:
            row[kk] = (ua.get("kpis") or {}).get(kk)
        clean = plan.space.clean(t.params)
        for p in plan.space.searched:
            row[f"param.{p.name}"] = clean.get(p.name)
        row["datetime_start"] = t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None
        row["duration_s"] = t.duration.total_seconds() if t.duration else None
        rows.append(row)
    return pd.DataFrame(rows)


def _importances(study: optuna.Study, plan: StudyPlan) -> dict[str, float]:
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.params]
    if len(done) < 4 or len(plan.space.searched) < 1:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(
                optuna.importance.get_param_importances(
                    study, target=lambda t: t.user_attrs.get("objective", float("nan"))
                )
            )
    except Exception:
        return {}


def _write_outputs(
    out: Path, study: optuna.Study, plan: StudyPlan, champ: ValidatedPolicy, cands: list[ValidatedPolicy],
    extra: dict, meta: dict,
) -> dict:
    from collectsim.reports.optimize_plots import write_optimize_plots

    obj = plan.objective
    best: ValidatedPolicy = extra["best"]
    df = trials_frame(study, plan)
    _atomic(out / "trials.csv", lambda p: df.to_csv(p, index=False))
    front_numbers: list[int] = []
    if obj.mode == "pareto":
        front = study.best_trials
        front_numbers = [t.number for t in front]
        fdf = df[df["number"].isin(front_numbers)].copy()
        val = {c.trial: c for c in cands}
        fdf["validated"] = fdf["number"].map(lambda n: n in val)
        for kk in ("objective", "net_recovery", "complaints_per_1k", "lost_clv", "churn_rate"):
            fdf[f"validation.{kk}"] = fdf["number"].map(
                lambda n, kk=kk: (val[n].validation["objective"]["mean"] if kk == "objective" else val[n].validation["mean"][kk])
                if n in val else None
            )
        _atomic(out / "pareto.csv", lambda p: fdf.to_csv(p, index=False))
    # policies
    best_spec = best.policy.spec if isinstance(best.policy, RuleTablePolicy) else None
    if best_spec is not None:
        spec = best_spec.model_copy(update={"name": f"{plan.experiment.name}-best" if best.role != "champion" else best_spec.name})
        _atomic(out / "best_policy.toml", lambda p: write_toml(p, {"policy": spec.model_dump(mode="json")}))
    cdir = out / "candidates"
    cdir.mkdir(exist_ok=True)
    for old in cdir.glob("trial-*.toml"):  # from an earlier validation of a resumed study
        old.unlink()
    for c in cands:
        _atomic(cdir / f"trial-{c.trial}.toml", lambda p, c=c: write_toml(p, {"policy": c.policy.spec.model_dump(mode="json")}))
    # validation.json
    imp = _importances(study, plan)
    states = df["state"].value_counts().to_dict() if len(df) else {}
    best_vs = best.vs_champion.get("objective", {}) if best.role != "champion" else {}
    validation = {
        "objective": obj.describe(),
        "validation_seeds": plan.validation_seeds,
        "search_seeds": plan.search_seeds,
        "replications": len(plan.validation_seeds),
        "best": {
            "role": best.role,
            "trial": best.trial,
            "name": best.name,
            "policy_file": "best_policy.toml" if best_spec is not None else None,
            "objective_mean": best.validation["objective"]["mean"],
            "champion_objective_mean": champ.validation["objective"]["mean"],
            "improvement": best_vs.get("mean_diff", 0.0),
            "improvement_relative": best_vs.get("relative", 0.0),
            "ci95": best_vs.get("ci", [0.0, 0.0]),
            "ci95_excludes_zero": bool(best_vs.get("ci_excludes_zero", False)),
            "selection_adjusted_ci": (best.vs_champion.get("objective_selection_adjusted", {}) or {}).get("ci"),
            "beats_champion": bool(best.role != "champion" and best_vs.get("mean_diff", 0) > 0 and best_vs.get("ci_excludes_zero")),
            "note": (
                "The recommended policy was chosen among the validated candidates on these same validation "
                "seeds; the selection-adjusted interval (Bonferroni over the candidates) allows for that."
                if best.role != "champion"
                else "No validated candidate beat the champion on the validation bank: the champion is retained."
            ),
        },
        "champion": champ.to_dict(),
        "candidates": [c.to_dict() for c in cands],
        "search": {
            "trials": int(len(df)),
            "states": {str(k): int(v) for k, v in states.items()},
            "feasible": int(df["feasible"].fillna(False).astype(bool).sum()) if len(df) else 0,
            "simulations": meta.get("simulations"),
            "wall_seconds": meta.get("wall_seconds"),
            "pruning_stages": plan.stages(),
        },
        "importances": imp,
        "meta": meta,
    }
    _atomic(out / "validation.json", lambda p: write_json(p, validation))
    champ_row = df[df["role"] == "champion"].iloc[0].to_dict() if (df["role"] == "champion").any() else None
    write_optimize_plots(
        df,
        out,
        mode=obj.mode,
        champion=champ_row,
        caps=obj.caps,
        importances=imp,
        front=front_numbers,
        best_trial=best.trial if best.role != "champion" else None,
        churn=obj.churn,
        title=f"{plan.experiment.name} · {obj.mode}",
    )
    return validation


# ============================================================================ entry point


def optimize(
    experiment: str | Path | Experiment,
    *,
    trials: int | None = None,
    jobs: int | None = None,
    reps: int | None = None,
    storage: str | None = None,
    resume: bool = False,
    backend: str = "loky",
    scheduler: str | None = None,
    out: str | Path | None = None,
    accounts: int | None = None,
    days: int | None = None,
    batch: int | None = None,
    progress: bool | Callable[[int, int, str], None] = False,
) -> OptimizeResult:
    """Optimize a rule-table policy for an experiment; write the run folder; return the result.

    Mirrors ``collectsim optimize`` (``docs/optimize.md``).

    Parameters
    ----------
    experiment:
        Experiment file (or a loaded :class:`Experiment`) with an ``[optimize]`` table.
    trials:
        Trials the study should hold when done (a resumed study runs until it has this many
        complete or pruned trials). Default: ``optimize.trials``.
    jobs:
        Local worker processes (loky). Default: ``optimize.jobs``.
    reps:
        Replications per trial (search bank size). Default: ``optimize.reps``.
    storage:
        Optuna storage URL (e.g. ``postgresql://user@host/db``, ``sqlite:///study.db``) or a
        journal file path, shared by several drivers. Default: ``study.journal`` in the run
        folder.
    resume:
        Continue an existing study (``out`` names its run folder when the journal is
        embedded). Trials left running by a killed driver are marked failed.
    backend:
        ``loky`` (local processes) or ``dask`` (needs ``scheduler``).
    scheduler:
        Address of a Dask scheduler, e.g. ``tcp://127.0.0.1:8786``.
    out:
        Run folder (default ``results/optimize-NAME-TIMESTAMP``).
    accounts, days:
        Override the portfolio size and horizon (part of the study's configuration).
    batch:
        Trials asked and simulated together (default ``max(4, 2·jobs)``, or twice the Dask
        cluster's threads).
    progress:
        True for a progress bar on stderr, or a callback ``progress(done, total, best)``.

    Returns
    -------
    OptimizeResult
        The study, the validated champion and candidates, and the recommended policy.

    Raises
    ------
    InputError
        Bad experiment or options (nothing is written), an unreachable cap, or — after the
        run — no trial that meets the caps (the run folder then keeps the journal and
        ``trials.csv``).
    """
    if resume and storage is None and out is None:
        raise InputError("resume: give --out DIR of the run to continue (or the --storage URL it used)")
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment, accounts=accounts, days=days)
    if isinstance(experiment, Experiment) and (accounts is not None or days is not None):
        raise InputError("accounts/days overrides need an experiment file path, not a loaded Experiment")
    plan = plan_study(exp, trials=trials, reps=reps, jobs=jobs, batch=batch)
    t_start = time.perf_counter()
    out_dir = Path(out) if out is not None else default_out_dir("optimize", exp.name)
    embedded = storage is None
    journal = out_dir / JOURNAL_NAME

    # ---- storage checks before anything is written
    if resume:
        if embedded and not journal.is_file():
            raise InputError(f"resume: no study journal {str(journal)!r}; give --out of an earlier optimize run")
        if embedded:
            _repair_journal(journal)
        elif "://" not in storage and Path(storage).is_file():
            _repair_journal(Path(storage))
        if not embedded and not out_dir.exists():
            check_out_dir(out_dir)
    else:
        check_out_dir(out_dir)
    store = _open_storage(storage, journal) if (not embedded or resume) else None
    if store is not None:
        exists = _study_exists(store, plan.study_name)
        if resume and not exists:
            raise InputError(f"resume: no study named {plan.study_name!r} in storage {_safe_url(storage) or str(journal)!r}")
        if not resume and exists:
            raise InputError(
                f"storage = {_safe_url(storage)!r}: a study named {plan.study_name!r} already exists; "
                "use --resume to continue it, or set optimize.study_name"
            )

    quiet_optuna = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with _backend(backend, scheduler) as dask_threads, warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # we record heartbeats ourselves (_Heartbeat), outside Study.optimize
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
            if dask_threads is not None and batch is None and plan.settings.batch is None:
                plan.batch = max(4, 2 * dask_threads)
            runner = _Runner(plan, plan.jobs, "dask" if backend == "dask" else None)
            return _drive(plan, runner, store, storage, resume, out_dir, journal, embedded, progress, t_start, backend, scheduler)
    finally:
        optuna.logging.set_verbosity(quiet_optuna)


def _drive(plan, runner, store, storage, resume, out_dir, journal, embedded, progress, t_start, backend, scheduler) -> OptimizeResult:
    obj = plan.objective
    src = plan.source
    driver_id = uuid.uuid4().hex[:12]
    if not resume:
        # ---- preflight: the champion on the search bank; unreachable caps
        champ_key = runner.key(plan.champion)
        rows = runner.run([(plan.champion, champ_key, s) for s in plan.search_seeds])
        cmean = _mean(rows)
        bad = [kpi for kpi, cap in obj.caps.items() if not _nan(cmean[kpi]) and cmean[kpi] > cap]
        if bad:
            mparams = plan.space.minimal_contact_params()
            mpol = plan.space.policy(mparams, name="least-contact")
            mrows = runner.run([(mpol, runner.key(mpol), s) for s in plan.search_seeds])
            mmean = _mean(mrows)
            for kpi in bad:
                if not _nan(mmean[kpi]) and mmean[kpi] > obj.caps[kpi]:
                    raise InputError(
                        f"{src}: optimize.objective.max_{kpi} = {obj.caps[kpi]:g}: no policy in the search space is "
                        f"expected to meet it (champion {cmean[kpi]:.4g}, least-contact policy {mmean[kpi]:.4g} on the "
                        "search seeds); raise the cap or widen the space"
                    )
        out_dir.mkdir(parents=True, exist_ok=True)
        if store is None:
            store = _open_storage(None, journal)
        sampler_seed = plan.settings.seed
        directions = obj.directions
        study = optuna.create_study(
            study_name=plan.study_name,
            storage=store,
            sampler=_sampler(plan, sampler_seed),
            pruner=_pruner(plan),
            directions=directions,
        )
        prov = provenance(
            experiment=plan.experiment.name,
            source=src,
            config_hash=plan.config_hash,
            search_seeds=plan.search_seeds,
            validation_seeds=plan.validation_seeds,
            sampler=plan.settings.sampler,
            sampler_seed=sampler_seed,
            pruner=type(study.pruner).__name__,
            prune_p=plan.settings.prune_p,
            objective=obj.describe(),
            search_space=plan.space.describe(),
            champion=plan.champion_ref,
            accounts=plan.scenario.portfolio.accounts,
            days=plan.days,
        )
        for k in ("collectsim_version", "git_commit", "config_hash", "search_seeds", "validation_seeds", "sampler", "sampler_seed"):
            study.set_user_attr(k, prov[k])
        study.set_user_attr("provenance", _jsonable(prov))
        study.set_user_attr("drivers", [{"id": driver_id, "started_utc": prov["created_utc"], "sampler_seed": sampler_seed}])
        study.add_trial(_champion_trial(plan, rows))
    else:
        study0 = optuna.load_study(study_name=plan.study_name, storage=store)
        have = study0.user_attrs.get("config_hash")
        if have != plan.config_hash:
            raise InputError(
                f"resume: the experiment differs from the one study {plan.study_name!r} was started with "
                f"(config hash {plan.config_hash} vs {have}); use the same file and --reps/--accounts/--days, or start a new study"
            )
        n_before = len(study0.get_trials(deepcopy=False))
        sampler_seed = (plan.settings.seed * 1_000_003 + n_before) % (2**31 - 1)  # new seed: no replayed suggestions
        study = optuna.load_study(study_name=plan.study_name, storage=store, sampler=_sampler(plan, sampler_seed), pruner=_pruner(plan))
        # trials a killed driver left running
        from optuna.storages._heartbeat import BaseHeartbeat, fail_stale_trials, is_heartbeat_enabled

        if isinstance(study._storage, BaseHeartbeat) and is_heartbeat_enabled(study._storage):
            fail_stale_trials(study)
        else:
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                with contextlib.suppress(Exception):
                    study.tell(t.number, state=TrialState.FAIL)
        drivers = list(study.user_attrs.get("drivers", []))
        drivers.append({"id": driver_id, "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                        "sampler_seed": sampler_seed, "resumed": True})
        study.set_user_attr("drivers", drivers)
        out_dir.mkdir(parents=True, exist_ok=True)
        # warm the cache from finished trials (identical (policy, seed) pairs are not re-run)
        for t in _finished(study):
            rk = t.user_attrs.get("rep_kpis")
            seeds = t.user_attrs.get("seeds") or []
            if not rk:
                continue
            if t.user_attrs.get("role") == "champion":
                key = runner.key(plan.champion)
            else:
                try:
                    key = runner.key(plan.space.policy(t.params))
                except InputError:
                    continue
            for i, s in enumerate(seeds):
                runner.cache[(key, s)] = {k: (float("nan") if rk[k][i] is None else float(rk[k][i])) for k in KPI_KEYS}

    _atomic(
        out_dir / "experiment.json",
        lambda p: write_json(p, {
            "experiment": plan.experiment.name, "source": src, "config_hash": plan.config_hash,
            "storage": _safe_url(storage) if storage else JOURNAL_NAME, "study_name": plan.study_name,
            "resume": f"collectsim optimize {src} --resume --out {out_dir}"
            + (f" --storage {_safe_url(storage)}" if storage else ""),
        }),
    )

    # ---- search
    bar = None
    cb: Callable[[int, int, str], None] | None = None
    if progress is True:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=plan.trials, unit="trial", desc=plan.experiment.name, file=sys.stderr, leave=False)
    elif callable(progress):
        cb = progress

    def tick() -> None:
        done = len(_finished(study))
        best = _best_so_far(study, plan)
        if bar is not None:
            bar.update(max(0, min(done, plan.trials) - bar.n))
            bar.set_postfix_str(f"best {best}", refresh=True)
        if cb is not None:
            cb(done, plan.trials, best)

    heartbeat = _Heartbeat(study._storage)
    t_search = time.perf_counter()
    n_search = len(_finished(study))
    sim_s0 = runner.sim_seconds
    try:
        tick()
        _search(study, plan, runner, heartbeat, tick)
    finally:
        heartbeat.close()
        if bar is not None:
            bar.close()

    search_seconds = time.perf_counter() - t_search
    searched_trials = len(_finished(study)) - n_search
    search_sim_seconds = runner.sim_seconds - sim_s0
    # ---- validation and outputs
    meta = _jsonable(
        provenance(
            experiment=plan.experiment.name,
            source=src,
            config_hash=plan.config_hash,
            study_name=plan.study_name,
            storage=_safe_url(storage) if storage else JOURNAL_NAME,
            sampler=plan.settings.sampler,
            sampler_seed=study.user_attrs.get("sampler_seed"),
            backend=backend,
            scheduler=scheduler,
            jobs=plan.jobs,
            batch=plan.batch,
            simulations=runner.simulated,
            wall_seconds=time.perf_counter() - t_start,
            accounts=plan.scenario.portfolio.accounts,
            days=plan.days,
        )
    )
    feasible = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.user_attrs.get("feasible")]
    if obj.caps and not feasible:
        df = trials_frame(study, plan)
        _atomic(out_dir / "trials.csv", lambda p: df.to_csv(p, index=False))
        caps = ", ".join(f"max_{k} = {v:g}" for k, v in obj.caps.items())
        closest = min(
            (t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
            key=lambda t: sum(max(0.0, v) for v in t.constraints.values()),
            default=None,
        )
        near = ""
        if closest is not None:
            got = ", ".join(f"{k[4:]} {closest.user_attrs['kpis'].get(k[4:]):.4g}" for k in closest.constraints)
            near = f"; closest: trial {closest.number} ({got})"
        raise InputError(
            f"{src}: optimize.objective: no trial met the caps ({caps}){near}; trials.csv and the journal are in {out_dir}"
        )
    t_val = time.perf_counter()
    if progress:
        import sys

        print(
            f"validating the best {plan.settings.validate_top} trial(s) and the champion on "
            f"{len(plan.validation_seeds)} held-out seeds ...",
            file=sys.stderr,
        )
    champ, cands, extra = _validate(study, plan, runner)
    meta["simulations"] = runner.simulated
    meta["search_trials_this_run"] = searched_trials
    meta["search_seconds"] = search_seconds
    meta["search_simulation_seconds"] = search_sim_seconds
    meta["validation_seconds"] = time.perf_counter() - t_val
    meta["wall_seconds"] = time.perf_counter() - t_start
    validation = _write_outputs(out_dir, study, plan, champ, cands, extra, meta)
    return OptimizeResult(study=study, out=out_dir, champion=champ, candidates=cands, best=extra["best"], validation=validation)
