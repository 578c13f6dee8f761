"""``collectsim dashboard``: optuna-dashboard on an optimizer folder's study, tested through its WSGI app."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import optuna
import pytest

import collectsim
from collectsim.cli import main

EXPERIMENT = """
[run]
name = "dash"
[portfolio]
accounts = 600
horizon_days = 20
[optimize]
trials = 4
reps = 2
validation_reps = 2
validate_top = 1
seed = 3
[[optimize.params]]
name = "high.calls"
field = "call_per_week"
tiers = ["high"]
low = 0
high = 5
step = 1
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dash")
    exp = tmp / "dash.toml"
    exp.write_text(EXPERIMENT)
    return collectsim.optimize(exp, out=tmp / "run", jobs=1).out


def _get(app, path: str) -> tuple[str, bytes]:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, REQUEST_METHOD="GET", QUERY_STRING="", **{"wsgi.input": io.BytesIO(b"")})
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    return status[0], body


def test_the_dashboard_serves_the_folders_study_with_its_trials(folder):
    app = collectsim.dashboard_app(folder)
    status, body = _get(app, "/api/studies")
    assert status.startswith("200")
    studies = json.loads(body)["study_summaries"]
    (summary,) = studies
    assert summary["study_name"] == "dash"
    status, body = _get(app, f"/api/studies/{summary['study_id']}")
    assert status.startswith("200")
    trials = json.loads(body)["trials"]
    # every trial the folder's own journal holds, read independently with Optuna
    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "study.journal")))
    assert len(trials) == len(optuna.load_study(study_name="dash", storage=journal).trials) >= 4
    status, _ = _get(app, "/dashboard")
    assert status.startswith("200")


def test_a_folder_without_a_study_is_one_line_and_exit_2(folder, tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["dashboard", str(plain)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an optimizer result folder" in err[0]
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "study.journal").unlink()
    assert main(["dashboard", str(broken)]) == 2
    assert "study journal" in capsys.readouterr().err


def test_the_dashboard_listens_on_loopback_by_default():
    parser = collectsim.cli.build_parser()
    args = parser.parse_args(["dashboard", "somewhere"])
    assert args.host == "127.0.0.1"
