"""The command line as a user types it: outputs, reproducibility and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "experiments" / "quickstart.toml")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collectsim", *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


def test_run_writes_a_complete_result_folder(tmp_path):
    out = tmp_path / "run1"
    r = cli("run", QUICK, "--accounts", "2000", "--days", "30", "--seed", "7", "--out", str(out), "--log-contacts", "--quiet")
    assert r.returncode == 0, r.stderr
    names = {p.name for p in out.iterdir()}
    assert {"summary.json", "daily.parquet", "config.toml", "recovery.png", "bucket_flow.png", "contacts.png", "contacts.parquet"} <= names
    s = json.loads((out / "summary.json").read_text())
    for k in ("recovery_rate", "net_recovery", "collected", "cure_rate", "chargeoff_rate", "roll_rates", "rpc_rate",
              "ptp_rate", "kept_rate", "cost_to_collect", "complaints_per_1k_worked", "churn_rate", "lost_clv", "contacts",
              "blocked", "violations"):
        assert k in s["kpis"], k
    assert set(s["tiers"]) == {"high", "medium", "low"}
    meta = s["meta"]
    assert meta["seed"] == 7 and meta["policy"] == "seed-champion" and len(meta["config_hash"]) == 16
    assert meta["git_commit"] and meta["collectsim_version"]
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 30
    contacts = pd.read_parquet(out / "contacts.parquet")
    assert {"account", "day", "hour", "channel", "outcome"} <= set(contacts.columns)
    assert len(contacts) == sum(s["kpis"]["contacts"].values())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folder left behind"


def test_config_toml_reruns_to_identical_results(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("run", QUICK, "--accounts", "1500", "--days", "20", "--out", str(a), "--quiet").returncode == 0
    r = cli("run", str(a / "config.toml"), "--out", str(b), "--quiet")
    assert r.returncode == 0, r.stderr
    ka = json.loads((a / "summary.json").read_text())
    kb = json.loads((b / "summary.json").read_text())
    assert ka["kpis"] == kb["kpis"] and ka["tiers"] == kb["tiers"]
    assert ka["meta"]["config_hash"] == kb["meta"]["config_hash"]
    pd.testing.assert_frame_equal(pd.read_parquet(a / "daily.parquet"), pd.read_parquet(b / "daily.parquet"))


def test_check_prints_the_resolved_configuration():
    r = cli("check", QUICK)
    assert r.returncode == 0, r.stderr
    assert "[portfolio]" in r.stdout and "accounts = 100000" in r.stdout and "[channels.call]" in r.stdout


def test_policy_file_and_builtin_names(tmp_path):
    pol = tmp_path / "p.toml"
    pol.write_text('[policy]\nname = "calls"\n[[policy.cells]]\ntiers = "*"\ncall_per_week = 2\n')
    r = cli("run", QUICK, "--accounts", "1000", "--days", "10", "--policy", str(pol), "--out", str(tmp_path / "o"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "policy calls" in r.stdout


def test_python_module_and_console_script_agree():
    exe = Path(sys.executable).with_name("collectsim")
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("collectsim ")


BAD = [
    (["run", "nope.toml"], "no such file"),
    (["run", QUICK, "--policy", "aggressive"], "unknown policy"),
    (["run", QUICK, "--days", "0"], "days"),
    (["run", QUICK, "--seed", "-3"], "seed"),
]


@pytest.mark.parametrize(("args", "needle"), BAD)
def test_bad_arguments_exit_2_with_one_line(args, needle, tmp_path):
    r = cli(*args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


BAD_FILES = [
    ("[portfolio]\nmonthly_due_fraction = -0.5\n", "portfolio.monthly_due_fraction"),
    ("[portfolio]\nacounts = 5\n", "unknown key 'portfolio.acounts'"),
    ("[portfolo]\naccounts = 5\n", "unknown key 'portfolo'"),
    ("[channels.fax]\ncost_per_contact = 1\n", "unknown channel 'fax'"),
    ("[rules]\npreset = \"eu\"\n", "rules.preset"),
    ("[portfolio]\nentry_buckets = {M1 = 0.5, M2 = 0.4}\n", "sum to 1"),
    ("[run]\npolicy = \"nope\"\n", "unknown policy"),
    ("[run]\nseeed = 3\n", "unknown key 'run.seeed'"),
    ("[portfolio\n", "not valid TOML"),
    ("[[segments]]\nname = \"a\"\nshare = 1.0\nr_min = 0.9\nr_max = 0.5\n", "r_min"),
    ("[[policy_cells]]\n", "unknown key 'policy_cells'"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_FILES)
def test_bad_experiment_files_exit_2_with_one_clear_line(text, needle, tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    out = tmp_path / "out"
    r = cli("run", str(f), "--accounts", "100", "--days", "5", "--out", str(out), "--quiet")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
    assert cli("check", str(f)).returncode == 2


def test_unwritable_or_existing_output_is_refused_and_nothing_is_lost(tmp_path):
    existing = tmp_path / "old"
    existing.mkdir()
    (existing / "keep.txt").write_text("precious")
    r = cli("run", QUICK, "--accounts", "100", "--days", "3", "--out", str(existing), "--quiet")
    assert r.returncode == 2 and "already exists" in r.stderr
    assert (existing / "keep.txt").read_text() == "precious"
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        r = cli("run", QUICK, "--accounts", "100", "--days", "3", "--out", str(ro / "x"), "--quiet")
        assert r.returncode == 2 and "not writable" in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("run", QUICK, "--accounts", "100", "--days", "3", "--out", str(blocker / "x"), "--quiet")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "out" in r.stderr
