"""Dose-response sweeps: the grid, the pairing, the summary numbers recomputed from the runs,
the interior optimum of the ready experiment, and the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import collectsim
from collectsim.cli import main
from collectsim.experiments import experiment_from_dict, load_experiment
from collectsim.experiments.sweep import run_sweep
from collectsim.policies.rule_table import cells_for_tier

ROOT = Path(__file__).resolve().parents[2]
DOSE = ROOT / "experiments" / "dose-response.toml"


def _small(levers: dict, reps: int = 2, accounts: int = 1_500, days: int = 40, **sweep) -> collectsim.Experiment:
    return experiment_from_dict({
        "run": {"name": "sweep-test", "seed": 3},
        "portfolio": {"accounts": accounts, "horizon_days": days},
        "rules": {"preset": "none"},
        "sweep": {"tier": "medium", "levers": levers, "reps": reps, **sweep},
    })


@pytest.fixture(scope="module")
def small():
    exp = _small({"call_per_week": [0, 2, 7], "sms_per_week": [0, 3]}, reps=3)
    return exp, run_sweep(exp, jobs=2)


def test_every_point_runs_on_the_same_seeds(small):
    _, res = small
    seeds = res.runs.groupby(["call_per_week", "sms_per_week"])["seed"].apply(tuple)
    assert len(seeds) == 6 and seeds.nunique() == 1 and len(seeds.iloc[0]) == 3


def test_a_point_is_the_base_policy_with_the_tier_set_and_reads_the_tiers_kpis(small):
    exp, res = small
    base = collectsim.get_policy("seed-champion")
    cells = cells_for_tier(list(base.table.cells), "medium", call_per_week=7.0, sms_per_week=3.0)
    spec = base.table.model_dump()
    spec["cells"] = [c.model_dump() for c in cells]
    # the medium tier's buckets all get the point's values; other tiers keep the champion's cells
    for c in cells:
        if c.tiers == ["medium"]:
            assert c.call_per_week == 7.0 and c.sms_per_week == 3.0
    pol = collectsim.RuleTablePolicy(spec)
    r = collectsim.simulate(exp.scenario, pol, seed=4, audit=False)
    row = res.runs[(res.runs["call_per_week"] == 7) & (res.runs["sms_per_week"] == 3) & (res.runs["seed"] == 4)]
    assert row["net_value"].iloc[0] == pytest.approx(r.tiers["medium"]["net_value"], rel=1e-12)
    assert row["churn_rate"].iloc[0] == pytest.approx(r.tiers["medium"]["churn_rate"], rel=1e-12)


def test_summary_and_paired_differences_are_the_runs_summarised_again(small):
    _, res = small
    runs = res.runs
    for _, r in res.summary.iterrows():
        v = runs[(runs["call_per_week"] == r["call_per_week"]) & (runs["sms_per_week"] == r["sms_per_week"])][r["kpi"]]
        half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
        assert r["mean"] == pytest.approx(v.mean(), rel=1e-12)
        assert r["hi"] - r["lo"] == pytest.approx(2 * half, rel=1e-9)
    for _, r in res.paired.iterrows():
        here = runs[(runs["call_per_week"] == r["call_per_week"]) & (runs["sms_per_week"] == r["sms_per_week"])]
        base = runs[(runs["call_per_week"] == 0) & (runs["sms_per_week"] == r["sms_per_week"])]
        d = here.set_index("seed")[r["kpi"]] - base.set_index("seed")[r["kpi"]]
        assert r["diff"] == pytest.approx(d.mean(), rel=1e-12, abs=1e-12)
        if r["call_per_week"] == 0:
            assert r["diff"] == 0 and r["lo"] == 0 and r["hi"] == 0
    best = res.versus_best.loc[res.versus_best["diff"].idxmax()]
    assert best["diff"] == 0  # the best point against itself


def test_shape_names_the_best_point_of_each_line(small):
    _, res = small
    s = res.summary[res.summary["kpi"] == "net_value"]
    for sh in res.shape:
        line = s[s["sms_per_week"] == sh["sms_per_week"]].sort_values("call_per_week")
        assert sh["best"] == line.loc[line["mean"].idxmax(), "call_per_week"]
        assert sh["interior"] == (sh["best"] not in (0, 7))
        assert len(sh["marginal_gain"]) == 2


def test_the_dose_response_has_an_interior_optimum_better_than_both_ends():
    """Ample collectors, no rules, no reminders: the first calls pay, too many backfire (backlash).
    (With reminders the calls' gain is smaller: the 7-a-week line's optimum is one call a week.)"""
    exp = load_experiment(DOSE, accounts=8_000, days=120)
    levers = {"call_per_week": [0.0, 4.0, 14.0], "sms_per_week": [0.0, 7.0]}
    exp.sections["sweep"] = exp.sections["sweep"].model_copy(update={"levers": levers, "reps": 4})
    res = run_sweep(exp, jobs=2)
    sh = next(x for x in res.shape if x["sms_per_week"] == 0.0)
    assert sh["interior"] and sh["beats_ends"], sh
    assert sh["diminishing"]


@pytest.mark.slow
def test_the_ready_dose_response_experiment_shows_diminishing_returns():
    res = run_sweep(load_experiment(DOSE), jobs=2)
    assert all(sh["interior"] and sh["beats_ends"] for sh in res.shape), res.shape


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"tier": "medium", "levers": {"call_per_day": [0, 1]}}, "lever 'call_per_day' unknown"),
        ({"tier": "medium", "levers": {"call_per_week": [3, 1]}}, "increasing"),
        ({"tier": "medium", "levers": {"call_per_week": [1]}}, "at least two values"),
        ({"tier": "medium", "levers": {"call_per_week": [0, 1], "sms_per_week": [0, 1], "ivr_per_week": [0, 1]}},
         "one or two levers"),
        ({"tier": "gold", "levers": {"call_per_week": [0, 1]}}, "sweep.tier = 'gold'"),
        ({"tier": "medium", "levers": {"call_per_week": [0, 1]}, "policy": "no-contact"}, "rule-table"),
    ],
)
def test_bad_sweep_tables_are_one_line_and_exit_2(sweep, message, tmp_path, capsys):
    import tomli_w

    f = tmp_path / "bad.toml"
    f.write_text(tomli_w.dumps({"portfolio": {"accounts": 500, "horizon_days": 5}, "sweep": sweep}))
    code = main(["sweep", str(f), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_cli_writes_the_folder_and_report_rebuilds_it(tmp_path, capsys):
    out = tmp_path / "sw"
    code = main(["sweep", str(DOSE), "--accounts", "800", "--days", "20", "--reps", "2", "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "call_per_week" in printed and "report.html" in printed
    for name in ("sweep_runs.csv", "sweep_summary.csv", "sweep_versus_best.csv", "sweep_paired.csv", "sweep.json",
                 "config.toml", "report.html", "report.md", "sweep_net_value.png"):
        assert (out / name).is_file(), name
    info = json.loads((out / "sweep.json").read_text())
    assert info["meta"]["git_commit"] and info["meta"]["seeds"] == [11, 12]
    runs = pd.read_csv(out / "sweep_runs.csv")
    assert len(runs) == 9 * 3 * 2
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").is_file()
    assert np.isfinite(runs["net_value"]).all()
