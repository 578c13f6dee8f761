"""The study driver: :func:`optimize` runs (or resumes) a study and writes its run folder.

How a study runs (``docs/optimize.md``):

1. **Common random numbers.** Every trial is simulated on the same *search bank* of R seeds;
   two policies on one seed meet the same borrowers and the same luck, so differences
   between trials are differences between policies.
2. **Champion first.** Today's strategy is simulated on the search bank first and recorded
   as trial 0 (with its parameters when it lies in the space), so every study shows how far
   it got from it. If the champion breaks a cap and so does the least-contact policy of the
   space, the cap is declared unreachable before anything is written (exit code 2).
3. **Batches** (:mod:`.search`). Trials are asked in batches (ask/tell); the (trial ×
   replication) simulations run through :mod:`.runner` (joblib: local processes, or a Dask
   cluster), one call per round. A trial is told as soon as its last stage ends, so a
   killed run loses only the trials in flight.
4. **Pruning** (scalar mode): :class:`optuna.pruners.WilcoxonPruner` compares a trial's
   per-replication values *pairwise* with the best trial's and stops trials that are
   significantly worse.
5. **Validation** (:mod:`.validation`). The best feasible trials and the champion are
   re-simulated on a disjoint *validation bank*; the recommended policy is the best there.

Results are a pure function of the experiment, the seed banks and the sampler seed: the
number of jobs or the backend does not change them.
"""

from __future__ import annotations

import sys
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from collectsim.errors import InputError
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.folders import (
    check_out_dir,
    claim_out_dir,
    default_out_dir,
    jsonable,
    sweep_stale,
    write_atomic,
    write_json,
)
from collectsim.experiments.memory import check_memory
from collectsim.experiments.optimize.objective import is_missing, mean_kpis
from collectsim.experiments.optimize.outputs import trials_frame, write_outputs
from collectsim.experiments.optimize.plan import plan_study
from collectsim.experiments.optimize.runner import SimulationRunner, connect_backend
from collectsim.experiments.optimize.search import best_so_far, champion_trial, finished_trials, run_search
from collectsim.experiments.optimize.study import (
    JOURNAL_NAME,
    Heartbeat,
    fail_abandoned_trials,
    make_pruner,
    make_sampler,
    open_storage,
    repair_journal,
    safe_url,
    study_exists,
)
from collectsim.experiments.optimize.validation import ValidatedPolicy, validate_best
from collectsim.experiments.progress import ProgressBars
from collectsim.experiments.provenance import provenance
from collectsim.results.catalogue import OPTIMIZE_RECORDED

__all__ = ["OptimizeResult", "optimize"]


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


def optimize(
    experiment: Experiment,
    *,
    trials: int | None = None,
    jobs: int | None = None,
    reps: int | None = None,
    storage: str | None = None,
    resume: bool = False,
    backend: str = "loky",
    scheduler: str | None = None,
    out: str | Path | None = None,
    batch: int | None = None,
    progress: bool | Callable[[int, int, str], None] = False,
) -> OptimizeResult:
    """Optimize a rule-table policy for an experiment; write the run folder; return the result.

    Mirrors ``collectsim optimize`` (``docs/optimize.md``).

    Parameters
    ----------
    experiment:
        A loaded :class:`~collectsim.experiments.experiment.Experiment` with an ``[optimize]``
        table (:func:`collectsim.optimize` also takes a file path and size overrides).
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
    batch:
        Trials asked and simulated together (default ``max(4, 2·jobs)``, or twice the Dask
        cluster's threads).
    progress:
        True for progress bars on stderr (the search's trials, then the validation's simulations), or a
        callback ``progress(done, total, best)`` told of the search's trials.

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
    if not isinstance(experiment, Experiment):
        raise InputError(f"experiment = {type(experiment).__name__}: must be a loaded Experiment")
    exp = experiment
    plan = plan_study(exp, trials=trials, reps=reps, jobs=jobs, batch=batch)
    if backend != "dask":  # (a Dask cluster's memory is its own)
        check_memory("optimize", plan.scenario.portfolio.accounts, plan.days, processes=min(plan.jobs, plan.batch * len(plan.search_seeds)))
    t_start = time.perf_counter()
    out_dir = Path(out) if out is not None else default_out_dir("optimize", exp.name)
    embedded = storage is None
    journal = out_dir / JOURNAL_NAME

    # ---- storage checks before anything is written
    if resume:
        if embedded and not journal.is_file():
            raise InputError(f"resume: no study journal {str(journal)!r}; give --out of an earlier optimize run")
        if not embedded and not out_dir.exists():
            check_out_dir(out_dir)
    else:
        check_out_dir(out_dir)
    with claim_out_dir(out_dir):  # one driver per run folder: a second gets a one-line error now
        if not resume:
            check_out_dir(out_dir)  # (again: under the lock)
        elif embedded:
            repair_journal(journal)
        elif "://" not in storage and Path(storage).is_file():
            repair_journal(Path(storage))
        sweep_stale(out_dir.parent if str(out_dir.parent) else Path("."))
        if out_dir.is_dir():
            sweep_stale(out_dir)
        return _run_study(plan, exp, storage, resume, backend, scheduler, batch, out_dir, journal, embedded, progress,
                          t_start)


def _run_study(plan, exp, storage, resume, backend, scheduler, batch, out_dir, journal, embedded, progress,
               t_start) -> OptimizeResult:
    store = open_storage(storage, journal) if (not embedded or resume) else None
    if store is not None:
        exists = study_exists(store, plan.study_name)
        if resume and not exists:
            raise InputError(f"resume: no study named {plan.study_name!r} in storage {safe_url(storage) or str(journal)!r}")
        if not resume and exists:
            raise InputError(
                f"storage = {safe_url(storage)!r}: a study named {plan.study_name!r} already exists; "
                "use --resume to continue it, or set optimize.study_name"
            )

    quiet_optuna = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with connect_backend(backend, scheduler) as dask_threads, warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # we record heartbeats ourselves (Heartbeat), outside Study.optimize
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
            if dask_threads is not None and batch is None and plan.settings.batch is None:
                plan.batch = max(4, 2 * dask_threads)
            runner = SimulationRunner(plan, plan.jobs, "dask" if backend == "dask" else None)
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
        cmean = mean_kpis(rows)
        bad = [kpi for kpi, cap in obj.caps.items() if not is_missing(cmean[kpi]) and cmean[kpi] > cap]
        if bad:
            mparams = plan.space.minimal_contact_params()
            mpol = plan.space.policy(mparams, name="least-contact")
            mrows = runner.run([(mpol, runner.key(mpol), s) for s in plan.search_seeds])
            mmean = mean_kpis(mrows)
            for kpi in bad:
                if not is_missing(mmean[kpi]) and mmean[kpi] > obj.caps[kpi]:
                    raise InputError(
                        f"{src}: optimize.objective.max_{kpi} = {obj.caps[kpi]:g}: no policy in the search space is "
                        f"expected to meet it (champion {cmean[kpi]:.4g}, least-contact policy {mmean[kpi]:.4g} on the "
                        "search seeds); raise the cap or widen the space"
                    )
        out_dir.mkdir(parents=True, exist_ok=True)
        if store is None:
            store = open_storage(None, journal)
        sampler_seed = plan.settings.seed
        directions = obj.directions
        study = optuna.create_study(
            study_name=plan.study_name,
            storage=store,
            sampler=make_sampler(plan, sampler_seed),
            pruner=make_pruner(plan),
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
        study.set_user_attr("provenance", jsonable(prov))
        study.set_user_attr("drivers", [{"id": driver_id, "started_utc": prov["created_utc"], "sampler_seed": sampler_seed}])
        study.add_trial(champion_trial(plan, rows))
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
        study = optuna.load_study(study_name=plan.study_name, storage=store, sampler=make_sampler(plan, sampler_seed), pruner=make_pruner(plan))
        fail_abandoned_trials(study, store)  # trials a killed driver left running
        drivers = list(study.user_attrs.get("drivers", []))
        drivers.append({"id": driver_id, "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                        "sampler_seed": sampler_seed, "resumed": True})
        study.set_user_attr("drivers", drivers)
        out_dir.mkdir(parents=True, exist_ok=True)
        # warm the cache from finished trials (identical (policy, seed) pairs are not re-run)
        for t in finished_trials(study):
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
                runner.cache[(key, s)] = {k: (float("nan") if rk[k][i] is None else float(rk[k][i])) for k in OPTIMIZE_RECORDED}

    write_atomic(
        out_dir / "experiment.json",
        lambda p: write_json(p, {
            "experiment": plan.experiment.name, "source": src, "config_hash": plan.config_hash,
            "storage": safe_url(storage) if storage else JOURNAL_NAME, "study_name": plan.study_name,
            "resume": f"collectsim optimize {src} --resume --out {out_dir}"
            + (f" --storage {safe_url(storage)}" if storage else ""),
        }),
    )

    # ---- search
    bar = None
    cb: Callable[[int, int, str], None] | None = None
    if progress is True:
        bar = tqdm(total=plan.trials, unit="trial", desc=plan.experiment.name, file=sys.stderr, leave=False)
    elif callable(progress):
        cb = progress

    def tick() -> None:
        done = len(finished_trials(study))
        best = best_so_far(study, plan)
        if bar is not None:
            bar.update(max(0, min(done, plan.trials) - bar.n))
            bar.set_postfix_str(f"best {best}", refresh=True)
        if cb is not None:
            cb(done, plan.trials, best)

    heartbeat = Heartbeat(store, study)
    t_search = time.perf_counter()
    n_search = len(finished_trials(study))
    sim_s0 = runner.sim_seconds
    try:
        tick()
        run_search(study, plan, runner, heartbeat, tick)
    finally:
        heartbeat.close()
        if bar is not None:
            bar.close()

    search_seconds = time.perf_counter() - t_search
    searched_trials = len(finished_trials(study)) - n_search
    search_sim_seconds = runner.sim_seconds - sim_s0
    # ---- validation and outputs
    meta = jsonable(
        provenance(
            experiment=plan.experiment.name,
            source=src,
            config_hash=plan.config_hash,
            study_name=plan.study_name,
            storage=safe_url(storage) if storage else JOURNAL_NAME,
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
        write_atomic(out_dir / "trials.csv", lambda p: df.to_csv(p, index=False))
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
    with ProgressBars(enabled=progress is True) as bars:
        bars(
            f"validating the best {plan.settings.validate_top} trial(s) and the champion on "
            f"{len(plan.validation_seeds)} held-out seeds ..."
        )
        champ, cands, extra = validate_best(study, plan, runner, progress=bars if progress is True else None)
    meta["simulations"] = runner.simulated
    meta["search_trials_this_run"] = searched_trials
    meta["search_seconds"] = search_seconds
    meta["search_simulation_seconds"] = search_sim_seconds
    meta["validation_seconds"] = time.perf_counter() - t_val
    meta["wall_seconds"] = time.perf_counter() - t_start
    validation = write_outputs(out_dir, study, plan, champ, cands, extra, meta)
    return OptimizeResult(study=study, out=out_dir, champion=champ, candidates=cands, best=extra["best"], validation=validation)
