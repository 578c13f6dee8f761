"""``collectsim calibrate``: the folder a user gets, its numbers derived once more, bad input refused.

One small synthetic history (quickstart book, 1,500 accounts × 45 days) is calibrated by
the command users type; every file is read back and checked against its definition: each
identified estimate is the value the fitted experiment holds, the fitted experiment runs
as it is, the observed policy is the policy it runs, and a history the reader refuses
ends with one line, exit 2 and no folder.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

import collectsim
from collectsim.cli import main
from collectsim.experiments.calibrate.calibrate import _get_dotted

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "quickstart.toml"


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    base = tmp_path_factory.mktemp("cal")
    hist = base / "history"
    collectsim.synthesize_history(EXPERIMENT, out=hist, accounts=1500, days=45, seed=4)
    out = base / "fit"
    assert main(["calibrate", str(hist), "--base", str(EXPERIMENT), "--reps", "4", "--jobs", "1",
                 "--moment-accounts", "3000", "--out", str(out)]) == 0
    return hist, out


def test_the_folder_has_every_file_the_issue_names(calibrated):
    _, out = calibrated
    for name in ("experiment.toml", "fit.json", "observed_policy.toml", "observed_frequencies.csv", "backtest.csv",
                 "report.html", "report.md", "fit_check_contact_rates.csv", "fit_check_roll_rates.csv"):
        assert (out / name).is_file(), name
    fit = json.loads((out / "fit.json").read_text())
    assert fit["meta"]["git_commit"] and fit["meta"]["collectsim_version"] and fit["meta"]["seed"] == 0
    for name, p in fit["parameters"].items():
        assert set(p) >= {"estimate", "se", "ci95", "method", "identified", "prior"}, name
        if p["identified"] and p["se"] is not None:
            lo, hi = p["ci95"]
            assert lo <= p["estimate"] <= hi, name
        if not p["identified"]:
            assert p["se"] is None and p["ci95"] is None and p["estimate"] == p["prior"], name


def test_the_repayment_intensity_is_fitted_by_its_likelihood(calibrated):
    """The level, the contacts' impulse and the relaxation come from the repayment likelihood
    (the simulated moments then leave the level alone); fit.json records the sample size."""
    _, out = calibrated
    fit = json.loads((out / "fit.json").read_text())
    level = fit["parameters"]["segments.0.lambda_inf_per_year"]
    assert level["identified"] and level["method"].startswith("maximum simulated likelihood"), level
    impulse = fit["parameters"]["segments.0.delta2"]
    assert impulse["method"].startswith("maximum simulated likelihood"), impulse
    assert fit["parameters"]["behaviour.ptp_accept"]["method"].startswith("simulated moments")
    assert fit["settings"] == {"moment_accounts": 3000, "intensity_accounts": 10_000}


def test_every_identified_estimate_is_in_the_fitted_experiment(calibrated):
    _, out = calibrated
    fit = json.loads((out / "fit.json").read_text())["parameters"]
    cfg = tomllib.loads((out / "experiment.toml").read_text())
    assert cfg["run"]["policy"] == "observed_policy.toml"
    checked = 0
    for name, p in fit.items():
        value = _get_dotted(cfg, name)
        if p["identified"] and isinstance(p["estimate"], float):
            assert value == pytest.approx(p["estimate"]), name
            checked += 1
    assert checked >= 15
    truth = json.loads((calibrated[0] / "truth.json").read_text())["parameters"]
    assert cfg["portfolio"]["accounts"] == truth["portfolio.accounts"] == 1500


def test_the_fitted_experiment_runs_as_it_is_under_the_observed_policy(calibrated, tmp_path):
    _, out = calibrated
    run = tmp_path / "run"
    assert main(["run", str(out / "experiment.toml"), "--accounts", "400", "--days", "20", "--out", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["meta"]["policy"] == "observed_policy.toml"


def test_the_report_shows_the_fit(calibrated):
    _, out = calibrated
    md = (out / "report.md").read_text()
    fit = json.loads((out / "fit.json").read_text())["parameters"]
    n_id = sum(p["identified"] for p in fit.values())
    assert f"{n_id} of {len(fit)} parameters identified" in md
    assert "channels.call.connect" in md and "Backtest" in md


def test_bad_history_is_refused_with_one_line_and_nothing_written(calibrated, tmp_path, capsys):
    hist, _ = calibrated
    bad = tmp_path / "bad"
    shutil.copytree(hist, bad)
    text = (bad / "contacts.csv").read_text().replace("channel", "chanel", 1)
    (bad / "contacts.csv").write_text(text)
    out = tmp_path / "out"
    assert main(["calibrate", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "contacts" in err and "channel" in err, err
    assert not out.exists()
    assert main(["calibrate", str(hist), "--reps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "reps" in err and not out.exists(), err
