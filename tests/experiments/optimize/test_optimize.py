"""The optimizer end to end: known optimum, CRN, constraints, resume, Dask, CLI, bad input."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from collectsim import optimize
from collectsim.errors import InputError
from collectsim.experiments.optimize import JOURNAL_NAME, paired_stats
from collectsim.experiments.replicate import Task, run_tasks
from collectsim.experiments.simulation import simulate
from collectsim.policies import load_policy_file
from collectsim.policies.rule_table import Cell, RuleTablePolicy, RuleTableSpec
from collectsim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable

# A small default-like portfolio: every mechanism active, ~0.1 s a replication.
SMALL = """
[run]
name = "{name}"
[portfolio]
accounts = 1200
horizon_days = 30
[[teams]]
name = "phone"
headcount = 4
cost_per_day = 150
[[teams]]
name = "field"
headcount = 1
cost_per_day = 200
[optimize]
trials = {trials}
reps = {reps}
validation_reps = {vreps}
validate_top = 2
seed = 5
batch = 4
{extra}
[optimize.objective]
mode = "{mode}"
lambda_churn = 0.5
lambda_complaint = 100
{objective}
[[optimize.params]]
name = "high.calls"
field = "call_per_week"
tiers = ["high"]
low = 0
high = 7
step = 1
[[optimize.params]]
name = "low.sms"
field = "sms_per_week"
tiers = ["low"]
low = 0
high = 6
step = 1
[[optimize.params]]
name = "medium.offer"
field = "offer"
tiers = ["medium"]
choices = ["ptp", "instalment"]
"""


def write_exp(folder: Path, name="small", trials=6, reps=3, vreps=4, mode="scalar", objective="", extra="",
              params="") -> Path:
    p = folder / f"{name}.toml"
    p.write_text(SMALL.format(name=name, trials=trials, reps=reps, vreps=vreps, mode=mode, objective=objective,
                              extra=extra) + params)
    return p


def run_cli(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "collectsim", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """One small scalar study with a complaint cap, shared by several tests."""
    tmp = tmp_path_factory.mktemp("capped")
    exp = write_exp(tmp, name="capped", trials=8, objective="max_complaints_per_1k_worked = 12.0")
    res = optimize(exp, out=tmp / "run", jobs=1)
    return exp, res


# --------------------------------------------------------------------------- known optimum


def known_scenario(accounts=1500, days=40) -> dict:
    """One segment, one tier; SMS is the only treatment. Each SMS costs 15 and delivers 0.5
    effort units, at any DPD (no fading of the effect): more SMS cure more and sooner, with
    diminishing returns, until the cost wins — the net value peaks at 1-2 SMS a week (by brute
    force below)."""
    return {
        "portfolio": {"accounts": accounts, "horizon_days": days},
        "segments": [{"name": "all", "share": 1.0, "lambda_inf_per_year": 6.0, "clv": 0.0}],
        "scoring": {"tier_names": ["all"], "tier_cutoffs": []},
        "teams": [{"name": "phone", "headcount": 1, "cost_per_day": 0.0},
                  {"name": "field", "headcount": 0, "cost_per_day": 0.0}],
        "channels": {"sms": {"cost_per_contact": 15.0, "effect": 0.5}},
        "behaviour": {"effect_half_life_dpd": 0.0},
    }


def test_known_optimum_is_found(tmp_path):
    """Brute force on a grid with 10 independent seeds gives the true optimum; the optimizer's
    validated best must be within one step of it, and its true value within tolerance:
    grid max − 3 × SE(paired difference) − 0.5 % of the optimum."""
    import tomli_w

    grid = list(range(0, 8))
    sc = Scenario.model_validate(known_scenario())
    seeds = [9000 + i for i in range(10)]
    pols = {g: RuleTablePolicy(RuleTableSpec(cells=[Cell(sms_per_week=g)])) for g in grid}
    res = run_tasks([Task(sc, pols[g], s) for g in grid for s in seeds], jobs=2)
    vals = np.array([r.kpis["net_value"] for r in res]).reshape(len(grid), len(seeds))  # the default measure
    best = int(vals.mean(1).argmax())
    assert 1 <= grid[best] <= 4, vals.mean(1)  # interior optimum, as constructed

    champ = tmp_path / "champion.toml"
    champ.write_text(tomli_w.dumps({"policy": {"name": "heavy-sms", "cells": [{"sms_per_week": 6.0}]}}))
    data = known_scenario() | {
        "run": {"name": "known"},
        "optimize": {
            "trials": 12, "reps": 4, "validation_reps": 8, "validate_top": 3, "seed": 1, "batch": 4,
            "champion": str(champ),
            "params": [{"name": "sms", "field": "sms_per_week", "low": 0, "high": 7, "step": 1}],
        },
    }
    exp = tmp_path / "known.toml"
    exp.write_text(tomli_w.dumps(data))
    r = optimize(exp, out=tmp_path / "run", jobs=2)
    assert r.best.role == "candidate"
    x = int(r.best.params["sms"])
    i = grid.index(x)
    d = vals[i] - vals[best]
    se = d.std(ddof=1) / math.sqrt(len(d)) if i != best else 0.0
    tol = 3 * se + 0.005 * abs(vals[best].mean())
    assert abs(x - grid[best]) <= 1, (x, grid[best], vals.mean(1))
    assert vals[i].mean() >= vals[best].mean() - tol, (x, vals.mean(1), tol)
    # and it beats the heavy-SMS champion on the validation seeds, significantly
    assert r.validation["best"]["beats_champion"]


# --------------------------------------------------------------------------- CRN, constraints


def test_common_random_numbers(capped):
    exp, res = capped
    study = res.study
    search = study.user_attrs["search_seeds"]
    val = study.user_attrs["validation_seeds"]
    assert len(search) == 3 and len(val) == 4 and not set(search) & set(val)
    done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    for t in done:  # every trial ran on (a prefix of) the same search bank, rep index = step
        assert t.user_attrs["seeds"] == search[: len(t.user_attrs["seeds"])]
        assert sorted(t.intermediate_values) == list(range(len(t.user_attrs["seeds"])))
    # the champion's recorded replications are exactly what simulate() gives on those seeds
    champ = study.trials[0]
    assert champ.user_attrs["role"] == "champion" and champ.params  # seed-champion lies in this space
    sc = res.champion.policy
    from collectsim.experiments import load_experiment

    e = load_experiment(exp)
    direct = [simulate(e.scenario, sc, s, audit=False).kpis["net_recovery"] for s in search]
    assert np.allclose(champ.user_attrs["rep_kpis"]["net_recovery"], direct)
    # same seed, same policy: identical; paired differences are narrower than unpaired
    a = [simulate(e.scenario, "sms-only", s, audit=False).kpis["net_recovery"] for s in search]
    assert np.allclose(a, [simulate(e.scenario, "sms-only", s, audit=False).kpis["net_recovery"] for s in search])
    ps = paired_stats(a, direct)
    assert ps["sd"] < np.std(np.array(a) - np.roll(direct, 1), ddof=1)


def test_constraints_are_optuna_constraints(capped):
    _, res = capped
    study = res.study
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all("max_complaints_per_1k_worked" in t.constraints for t in finished)
    for t in finished:
        c1k = t.user_attrs["kpis"]["complaints_per_1k_worked"]
        assert t.user_attrs["feasible"] == (c1k <= 12.0)
        assert math.isclose(t.constraints["max_complaints_per_1k_worked"], (c1k - 12.0) / 12.0, rel_tol=1e-9, abs_tol=1e-12)
    assert study.best_trial.user_attrs["feasible"]
    assert res.best.feasible
    v = json.loads((res.out / "validation.json").read_text())
    assert v["objective"]["caps"] == {"max_complaints_per_1k_worked": 12.0}


def test_outputs_and_provenance(capped):
    exp, res = capped
    out = res.out
    for f in ("best_policy.toml", "trials.csv", "validation.json", "history.png", "pareto_front.png", JOURNAL_NAME):
        assert (out / f).is_file(), f
    df = pd.read_csv(out / "trials.csv")
    assert len(df) == 8 and df["role"].iloc[0] == "champion"
    assert {"objective", "feasible", "net_recovery", "complaints_per_1k_worked", "param.high.calls"} <= set(df.columns)
    pol = load_policy_file(out / "best_policy.toml")
    assert isinstance(pol, RuleTablePolicy)
    v = json.loads((out / "validation.json").read_text())
    b = v["best"]
    assert {"improvement", "ci95", "ci95_excludes_zero", "beats_champion"} <= set(b)
    assert v["champion"]["validation"]["objective"]["mean"] == pytest.approx(res.champion.validation["objective"]["mean"])
    assert len(v["champion"]["validation"]["per_seed_objective"]) == 4
    for c in v["candidates"]:
        lo, hi = c["vs_champion"]["objective"]["ci"]
        assert lo <= c["vs_champion"]["objective"]["mean_diff"] <= hi
    ua = res.study.user_attrs
    for k in ("collectsim_version", "git_commit", "config_hash", "search_seeds", "validation_seeds", "sampler", "sampler_seed"):
        assert k in ua
    assert ua["sampler"] == "tpe" and ua["sampler_seed"] == 5


def test_paired_stats():
    a = [10.0, 12.0, 11.0, 13.0]
    b = [9.0, 10.0, 10.0, 11.0]
    s = paired_stats(a, b)
    assert s["mean_diff"] == pytest.approx(1.5)
    assert s["ci"][0] < 1.5 < s["ci"][1] and s["ci_excludes_zero"]
    from scipy import stats as st

    d = np.subtract(a, b)
    h = st.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert s["ci"] == pytest.approx([1.5 - h, 1.5 + h])
    assert not paired_stats([1, 2, 3], [1, 3, 2])["ci_excludes_zero"]


# --------------------------------------------------------------------------- resume


def test_resume_continues_without_duplicates(tmp_path):
    exp = write_exp(tmp_path, trials=3, reps=2, vreps=3)
    out = tmp_path / "run"
    r1 = optimize(exp, out=out, trials=3)
    first = [(t.number, t.params, t.values, t.state) for t in r1.study.trials]
    assert len(first) == 3
    with pytest.raises(InputError, match="already exists and is not empty"):
        optimize(exp, out=out, trials=6)  # without --resume: refuses to touch it
    r2 = optimize(exp, out=out, trials=6, resume=True)
    trials = r2.study.trials
    assert [t.number for t in trials] == list(range(6))
    assert sum(t.user_attrs.get("role") == "champion" for t in trials) == 1
    assert [(t.number, t.params, t.values, t.state) for t in trials[:3]] == first
    finished = [t for t in trials if t.state.is_finished()]
    assert len(finished) == 6 and not any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
    old = [json.dumps(p, sort_keys=True) for _, p, _, _ in first]
    assert all(json.dumps(t.params, sort_keys=True) not in old for t in trials[3:])  # no replayed suggestions
    assert len(r2.study.user_attrs["drivers"]) == 2
    # resuming with a different experiment is refused
    with pytest.raises(InputError, match="config hash"):
        optimize(exp, out=out, trials=8, resume=True, reps=3)


def test_killed_run_resumes(tmp_path):
    """SIGKILL a CLI run mid-study; the completed trials survive; --resume finishes it."""
    exp = write_exp(tmp_path, trials=16, reps=3, vreps=3, extra="jobs = 1")
    out = tmp_path / "run"
    proc = subprocess.Popen([PY, "-m", "collectsim", "optimize", str(exp), "--out", str(out), "--quiet", "--batch", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = out / JOURNAL_NAME
    storage = None
    done = 0
    t0 = time.time()
    try:
        while time.time() - t0 < 120:
            time.sleep(0.5)
            if journal.is_file():
                storage = storage or optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
                try:
                    st_ = optuna.load_study(study_name="small", storage=storage)
                except KeyError:
                    continue
                done = sum(t.state.is_finished() for t in st_.trials)
                if done >= 3:
                    break
        assert done >= 3, "the run made no progress"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "validation.json").exists()
    before = optuna.load_study(study_name="small", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))))
    kept = {t.number: t.values for t in before.trials if t.state == optuna.trial.TrialState.COMPLETE}
    r = run_cli("optimize", exp, "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    after = optuna.load_study(study_name="small", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))))
    states = [t.state for t in after.trials]
    assert sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states) == 16
    assert optuna.trial.TrialState.RUNNING not in states
    assert all(after.trials[n].values == v for n, v in kept.items())  # nothing completed was lost
    assert (out / "validation.json").is_file()


# --------------------------------------------------------------------------- Dask


def test_dask_cluster_gives_the_same_study(capped, tmp_path):
    distributed = pytest.importorskip("distributed")
    exp, res = capped
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        r = optimize(exp, out=tmp_path / "dask", backend="dask", scheduler=cluster.scheduler_address)
    a = [(t.params, t.values, t.state) for t in res.study.trials]
    b = [(t.params, t.values, t.state) for t in r.study.trials]
    assert a == b  # results do not depend on where the simulations ran
    assert r.validation["meta"]["backend"] == "dask"
    assert r.best.validation["objective"]["mean"] == pytest.approx(res.best.validation["objective"]["mean"])


# --------------------------------------------------------------------------- pareto


def test_pareto_mode(tmp_path):
    exp = write_exp(tmp_path, name="par", mode="pareto", trials=6, reps=2, vreps=3, objective='churn = "churn_rate"')
    r = optimize(exp, out=tmp_path / "run")
    assert [d.name for d in r.study.directions] == ["MAXIMIZE", "MINIMIZE", "MINIMIZE"]
    front = pd.read_csv(r.out / "pareto.csv")
    assert set(front["number"]) == {t.number for t in r.study.best_trials}
    assert (r.out / "pareto_front.png").is_file()
    assert r.best_policies and all(c.role == "candidate" for c in r.best_policies)
    v = json.loads((r.out / "validation.json").read_text())
    assert v["objective"]["objectives"] == {"net_value": "maximize", "complaints_per_1k_accounts": "minimize",
                                            "churn_rate": "minimize"}


# --------------------------------------------------------------------------- CLI


def test_cli_end_to_end(tmp_path):
    exp = write_exp(tmp_path, trials=4, reps=2, vreps=3)
    out = tmp_path / "run"
    r = run_cli("optimize", exp, "--out", out, "--trials", "5")
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout and "validation on 3 held-out seeds" in r.stdout
    for f in ("best_policy.toml", "trials.csv", "validation.json", "history.png", JOURNAL_NAME):
        assert (out / f).is_file(), f
    assert len(pd.read_csv(out / "trials.csv")) == 5
    r2 = run_cli("run", exp, "--policy", out / "best_policy.toml", "--out", tmp_path / "check", "--quiet")
    assert r2.returncode == 0, r2.stderr


BAD = {
    "unknown field": ('[[optimize.params]]\nfield = "calls_per_week"\nlow = 0\nhigh = 3\n',
                      "optimize.params[3].field = 'calls_per_week': unknown field"),
    "unknown key": ('[[optimize.params]]\nfield = "call_per_week"\ntier = ["high"]\nlow = 0\nhigh = 3\n',
                    "unknown key 'optimize.params.3.tier'"),
    "empty range": ('[[optimize.params]]\nfield = "sms_per_week"\ntiers = ["high"]\nlow = 4\nhigh = 1\n',
                    "empty range: low = 4 > high = 1"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_experiment(tmp_path, case):
    params, msg = BAD[case]
    exp = write_exp(tmp_path, params=params)
    out = tmp_path / "run"
    r = run_cli("optimize", exp, "--out", out)
    assert r.returncode == 2
    assert msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_cli_unreachable_cap_and_resume_without_study(tmp_path):
    # every resolved customer leaves with at least behaviour.churn_base = 5 %: a churn cap of 0.1 % is unreachable
    exp = write_exp(tmp_path, objective="max_churn_rate = 0.001", reps=2)
    out = tmp_path / "run"
    r = run_cli("optimize", exp, "--out", out)
    assert r.returncode == 2, r.stderr
    assert "optimize.objective.max_churn_rate = 0.001: no policy in the search space" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
    r = run_cli("optimize", exp, "--out", out, "--resume")
    assert r.returncode == 2 and "resume: no study journal" in r.stderr and not out.exists()


def test_api_bad_options(tmp_path):
    exp = write_exp(tmp_path)
    out = tmp_path / "run"
    cases = [
        (dict(backend="dask"), "needs --scheduler"),
        (dict(scheduler="tcp://127.0.0.1:1"), "only used with --backend dask"),
        (dict(backend="spark"), "unknown; allowed: loky, dask"),
        (dict(resume=True), "no study journal"),
        (dict(trials=0), "trials = 0: must be a whole number >= 1"),
        (dict(storage="sqlite:////nonexistent/dir/x.db"), "cannot open"),
    ]
    for kw, msg in cases:
        with pytest.raises(InputError, match=msg):
            optimize(exp, out=out, **kw)
        assert not out.exists(), kw
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.format(name="b", trials=3, reps=2, vreps=3, mode="scalar", objective="",
                                extra='champion = "max-legal"'))
    with pytest.raises(InputError, match="not a rule-table or cgw-threshold policy"):
        optimize(bad, out=out)
    bad.write_text(SMALL.format(name="b", trials=3, reps=2, vreps=3, mode="scalar", objective="",
                                extra="search_seeds = [1, 2]\nvalidation_seeds = [2, 3]"))
    with pytest.raises(InputError, match="disjoint"):
        optimize(bad, out=out)


def test_rdb_storage_and_resume(tmp_path):
    """--storage URL (here SQLite; PostgreSQL works the same way) holds the study; --resume
    from another folder continues it."""
    exp = write_exp(tmp_path, trials=2, reps=2, vreps=2)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    r1 = optimize(exp, out=tmp_path / "a", storage=url)
    assert not (tmp_path / "a" / JOURNAL_NAME).exists()
    with pytest.raises(InputError, match="already exists"):
        optimize(exp, out=tmp_path / "b", storage=url)
    r2 = optimize(exp, out=tmp_path / "b", storage=url, resume=True, trials=3)
    assert len([t for t in r2.study.trials if t.state.is_finished()]) == 3
    assert r1.study.trials[0].values == r2.study.trials[0].values


def test_no_feasible_trial_after_the_run(tmp_path):
    """The cap passes the up-front check (the least-contact policy meets it) but no trial of
    the study does: one-line error naming the closest trial; the journal is kept."""
    exp = write_exp(tmp_path, trials=1, reps=3, objective="max_complaints_per_1k_worked = 0.5")
    with pytest.raises(InputError) as e:
        optimize(exp, out=tmp_path / "run")
    msg = str(e.value)
    assert "no trial met the caps (max_complaints_per_1k_worked = 0.5); closest: trial 0" in msg and "\n" not in msg
    assert (tmp_path / "run" / JOURNAL_NAME).is_file() and (tmp_path / "run" / "trials.csv").is_file()


def test_the_objective_maximizes_net_value_unless_the_accounting_measure_is_named():
    from collectsim.experiments.optimize import Objective, ObjectiveSettings

    k = {"net_value": 1000.0, "net_recovery": 200.0, "lost_clv": 50.0, "complaints": 3.0,
         "complaints_per_1k_accounts": 1.5, "lost_clv_rate": 0.0}
    value = Objective.from_settings(ObjectiveSettings(lambda_churn=2.0, lambda_complaint=10.0))
    assert value.scalar(k) == 1000.0 - 2.0 * 50.0 - 10.0 * 3.0
    assert value.formula().startswith("net_value")
    cash = Objective.from_settings(ObjectiveSettings(measure="net_recovery", lambda_churn=2.0, lambda_complaint=10.0))
    assert cash.scalar(k) == 200.0 - 2.0 * 50.0 - 10.0 * 3.0
    pareto = Objective.from_settings(ObjectiveSettings(mode="pareto", measure="net_recovery"))
    assert pareto.names == ["net_recovery", "complaints_per_1k_accounts", "lost_clv"]
