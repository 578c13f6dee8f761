"""The search loop: trials asked in batches, simulated on the search bank, pruned or told.

Every trial runs on the same search bank of seeds (common random numbers); per-replication
values are reported as intermediate values so :class:`optuna.pruners.WilcoxonPruner` can
compare them pairwise with the best trial; the champion is recorded as a trial first.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from collectsim.experiments.folders import jsonable
from collectsim.experiments.optimize.objective import mean_kpis
from collectsim.experiments.optimize.plan import StudyPlan
from collectsim.experiments.optimize.runner import SimulationRunner
from collectsim.experiments.optimize.study import Heartbeat, retry_trial
from collectsim.results.catalogue import OPTIMIZE_RECORDED

__all__ = ["finished_trials", "record_trial", "champion_trial", "run_search", "best_so_far"]


def finished_trials(study: optuna.Study) -> list:
    """The study's complete and pruned trials."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def record_trial(trial, plan: StudyPlan, rows: list[dict], seeds: list[int], role: str, reused: int) -> tuple[dict, list]:
    """Set a trial's user attributes and constraints from its replications; return (mean, values)."""
    mean = mean_kpis(rows)
    obj = [plan.objective.scalar(r) for r in rows]
    attrs = {
        "role": role,
        "seeds": seeds,
        "kpis": jsonable(mean),
        "rep_kpis": jsonable({k: [r[k] for r in rows] for k in OPTIMIZE_RECORDED}),
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


def champion_trial(plan: StudyPlan, rows: list[dict]) -> optuna.trial.FrozenTrial:
    """The champion as a complete trial (trial 0) from its replications on the search bank."""
    mean = mean_kpis(rows)
    obj = [plan.objective.scalar(r) for r in rows]
    params = plan.champion_params or {}
    dists = {k: v for k, v in plan.space.distributions().items() if k in params}
    attrs = {
        "role": "champion",
        "policy": getattr(plan.champion, "name", plan.champion_ref),
        "in_search_space": plan.champion_params is not None,
        "seeds": plan.search_seeds,
        "kpis": jsonable(mean),
        "rep_kpis": jsonable({k: [r[k] for r in rows] for k in OPTIMIZE_RECORDED}),
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


def run_search(
    study: optuna.Study,
    plan: StudyPlan,
    runner: SimulationRunner,
    heartbeat: Heartbeat,
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
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    try:
        while True:
            heartbeat.reap()  # other drivers' trials with a stale heartbeat: failed and re-enqueued
            finished = len(finished_trials(study))
            running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
            k = min(plan.batch, plan.trials - finished - running)
            if k <= 0 and not inflight and finished < plan.trials and running and heartbeat.enabled:
                # the count waits on other drivers' trials: if one of them dies, its trials
                # are re-run here once their heartbeat is stale
                time.sleep(min(heartbeat.interval, 5.0))
                continue
            if k > 0:
                entries = []
                for _ in range(k):
                    t = study.ask()  # a waiting re-run of a dead driver's trial first
                    heartbeat.add(t.number)
                    t.set_user_attr("driver", me)
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
                        _, values = record_trial(e["trial"], plan, e["rows"], seeds[:done], "candidate", e["reused"])
                        study.tell(e["trial"], values if len(values) > 1 else values[0])
                        heartbeat.discard(e["trial"].number)
                        on_told()
                    continue
                alive = []
                for e in b["entries"]:
                    if e["trial"].should_prune():
                        record_trial(e["trial"], plan, e["rows"], seeds[:done], "candidate", e["reused"])
                        study.tell(e["trial"], state=TrialState.PRUNED)
                        heartbeat.discard(e["trial"].number)
                        on_told()
                    else:
                        alive.append(e)
                if alive:
                    b["entries"] = alive
                    still.append(b)
            inflight = still
    except BaseException:
        # leave no trial RUNNING behind (a SIGKILL can; --resume or a live driver's heartbeat
        # check cleans those up): each is failed and re-enqueued with the same parameters
        for b in inflight:
            for e in b["entries"]:
                with contextlib.suppress(Exception):
                    study.tell(e["trial"], state=TrialState.FAIL)
                    retry_trial(study, e["trial"].number)
                heartbeat.discard(e["trial"].number)
        raise


def best_so_far(study: optuna.Study, plan: StudyPlan) -> str:
    """The best feasible objective so far and its trial, for the progress bar."""
    done = [t for t in finished_trials(study) if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible")]
    if not done:
        return "-"
    b = max(done, key=lambda t: t.user_attrs.get("objective", -math.inf))
    return f"{b.user_attrs['objective']:,.0f} (#{b.number})"
