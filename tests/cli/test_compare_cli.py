"""``collectsim compare`` and ``collectsim report`` as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "compare.toml"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collectsim", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("cli") / "cmp"
    r = cli(
        "compare",
        str(EXPERIMENT),
        "--accounts",
        "2000",
        "--days",
        "30",
        "--reps",
        "3",
        "--jobs",
        "1",
        "--out",
        str(out),
        "--quiet",
    )
    return out, r


def test_compare_writes_the_whole_folder(compare_dir):
    out, r = compare_dir
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # --quiet
    for name in (
        "comparison.csv",
        "stress.csv",
        "replications.parquet",
        "daily.parquet",
        "summary.json",
        "config.toml",
        "report.html",
        "report.md",
        "recovery_curves.png",
        "bucket_flow.png",
        "complaints_churn.png",
        "tiers.png",
        "stress.png",
        "policies/digital-first.toml",
    ):
        assert (out / name).is_file(), name
    assert "Challenger digital-first" in r.stdout and "per 1,000 accounts" in r.stdout and "95% CI" in r.stdout
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["policy"]) == {"seed-champion", "sms-only", "max-legal", "digital-first"}
    assert set(table["variant"]) == {"base", "recession", "strict-rules"}
    assert {
        "mean",
        "ci_low",
        "ci_high",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "p_value",
        "p_adjusted",
        "p_better",
    } <= set(table.columns)
    reps = pd.read_parquet(out / "replications.parquet")
    assert len(reps) == 4 * 3 * 3 and set(reps["seed"]) == {42, 43, 44}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "compare" and summary["seeds"] == [42, 43, 44]
    assert summary["meta"]["config_hash"] and summary["meta"]["git_commit"]
    assert not list(out.parent.glob(".cmp.*"))  # no temporary folder left behind


def test_written_config_is_a_valid_experiment(compare_dir):
    from collectsim.experiments import load_experiment

    out, _ = compare_dir
    exp = load_experiment(out / "config.toml")
    s = exp.sections["compare"]
    assert s.challengers == ["sms-only", "max-legal", "policies/digital-first.toml"]
    assert s.reps == 3 and s.seed == 42 and [v.name for v in s.variants] == ["recession", "strict-rules"]
    assert exp.scenario.portfolio.accounts == 2000


def test_report_rebuilds_from_the_folder(compare_dir, capsys):
    from collectsim.cli import main

    out, _ = compare_dir
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file() and "report.md" in capsys.readouterr().out


def test_report_rejects_a_folder_that_is_not_a_result(tmp_path, capsys):
    from collectsim.cli import main

    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a collectsim result folder" in err


def _bad(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.toml"
    p.write_text(text)
    return p


def _case(tmp_path: Path, case: str) -> list[str]:
    base = "[portfolio]\naccounts = 500\nhorizon_days = 5\n[compare]\nreps = 2\n"
    if case == "challenger-does-not-parse":
        (tmp_path / "broken.toml").write_text("[policy]\nname = \n")
        return [str(_bad(tmp_path, base + 'challengers = ["broken.toml"]\n'))]
    if case == "unknown-kpi":
        return [str(_bad(tmp_path, base + 'challengers = ["sms-only"]\nkpis = ["net_recovery", "recovry_rate"]\n'))]
    if case == "reps-0":
        return [str(_bad(tmp_path, base + 'challengers = ["sms-only"]\n')), "--reps", "0"]
    if case == "variant-typo":
        return [
            str(
                _bad(
                    tmp_path,
                    base
                    + 'challengers = ["sms-only"]\n[[compare.variants]]\nname = "r"\noverrides = { shok = { start_day = 3 } }\n',
                )
            )
        ]
    if case == "target-ci-negative":
        return [str(_bad(tmp_path, base + 'challengers = ["sms-only"]\n')), "--target-ci", "-1"]
    raise AssertionError(case)


EXPECT = {
    "challenger-does-not-parse": "not valid TOML",
    "unknown-kpi": "unknown KPI (did you mean 'recovery_rate'?)",
    "reps-0": "reps = '0'",
    "variant-typo": "compare.variants[0].overrides.shok",
    "target-ci-negative": "target-ci",
}


def test_bad_challenger_file_as_a_user_sees_it(tmp_path):
    """In a fresh process: one line on stderr, exit code 2, no folder."""
    out = tmp_path / "out"
    r = cli("compare", *_case(tmp_path, "challenger-does-not-parse"), "--out", str(out), "--quiet")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and EXPECT["challenger-does-not-parse"] in r.stderr
    assert "broken.toml" in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


@pytest.mark.parametrize("case", ["unknown-kpi", "reps-0", "variant-typo", "target-ci-negative"])
def test_bad_input_one_line_exit_2_no_folder(tmp_path, capsys, case):
    """The same contract through ``collectsim.cli.main`` in-process (fast)."""
    from collectsim.cli import main

    out = tmp_path / "out"
    try:
        code = main(["compare", *_case(tmp_path, case), "--out", str(out), "--quiet"])
    except SystemExit as e:  # argparse rejects bad option values itself
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert EXPECT[case] in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
