"""Crash-safe studies across drivers: a trial running when its driver dies is re-run with the
same parameters, ``--trials`` counts finished trials, and no trial is lost or duplicated —
for the embedded journal (``--resume``) and for a real PostgreSQL shared by two drivers, one
of them killed with SIGKILL mid-trial (heartbeats fail its trial; the other re-runs it)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import TrialState

from tests.experiments.optimize.test_optimize import JOURNAL_NAME, ROOT, run_cli, write_exp

PY = sys.executable
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _retried_from(t) -> int | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RetryFailedTrialCallback.retried_trial_number(t)


def _check_no_trial_lost_or_duplicated(study: optuna.Study, trials: int, killed: set[int]) -> None:
    all_ = study.get_trials(deepcopy=False)
    states = [t.state for t in all_]
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states, states
    finished = [t for t in all_ if t.state in FINISHED]
    assert len(finished) >= trials, f"the study did not reach its count: {len(finished)} < {trials}"
    failed = {t.number for t in all_ if t.state == TrialState.FAIL}
    assert killed <= failed, (killed, failed)
    # each failed trial was re-run exactly once, with the parameters it had been given
    # before the kill, and that re-run finished
    by_source: dict[int, list] = {}
    for t in all_:
        src = _retried_from(t)
        if src is not None:
            by_source.setdefault(src, []).append(t)
    for n in failed:
        reruns = by_source.get(n, [])
        assert len(reruns) == 1, f"trial {n}: {len(reruns)} re-runs"
        assert study.trials[n].params.items() <= reruns[0].params.items()  # (those drawn before the kill)
        assert reruns[0].state in FINISHED, reruns[0].state
    assert set(by_source) <= failed  # nothing re-run that had not failed
    # no two finished trials are the same trial run twice
    sources = [_retried_from(t) for t in finished if _retried_from(t) is not None]
    assert len(sources) == len(set(sources))


# --------------------------------------------------------------------------- journal


def test_killed_journal_run_reruns_its_running_trials_with_the_same_parameters(tmp_path):
    exp = write_exp(tmp_path, trials=8, reps=2, vreps=2, extra="jobs = 1")
    out = tmp_path / "run"
    proc = subprocess.Popen([PY, "-m", "collectsim", "optimize", str(exp), "--out", str(out), "--quiet", "--batch", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = out / JOURNAL_NAME
    running: set[int] = set()
    t0 = time.time()
    try:
        while time.time() - t0 < 120 and not running:
            time.sleep(0.05)
            if not journal.is_file():
                continue
            storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
            try:
                st = optuna.load_study(study_name="small", storage=storage)
            except KeyError:
                continue
            if sum(t.state in FINISHED for t in st.trials) >= 2:
                running = {t.number for t in st.trials if t.state == TrialState.RUNNING}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert running, "the run made no progress"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    st = optuna.load_study(study_name="small", storage=storage)
    killed = {t.number for t in st.trials if t.state == TrialState.RUNNING}  # (what the kill left running)
    assert killed
    r = run_cli("optimize", exp, "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    after = optuna.load_study(study_name="small", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))))
    _check_no_trial_lost_or_duplicated(after, 8, killed)


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_cluster():
    """A throw-away PostgreSQL cluster on 127.0.0.1 in a temporary folder; yields its URL.

    Runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses root)."""
    bindir = _pg_bin()
    if bindir is None:
        msg = "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        msg = "psycopg is not installed (pip install 'collectsim[postgres]')"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    root = Path(tempfile.mkdtemp(prefix="collectsim-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = "postgres"
        if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", user], check=True)
        shutil.chown(root, user=user)
        prefix = ["runuser", "-u", user, "--"]
    data, port = root / "data", _free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")

    def pg(*args, **kw):
        return subprocess.run([*prefix, *map(str, args)], check=True, capture_output=True, text=True, env=env,
                              timeout=120, **kw)

    try:
        pg(bindir / "initdb", "-D", data, "-A", "trust", "-U", "collectsim", "--no-sync")
        pg(bindir / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-t", "60", "-o",
           f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off", "start")
    except subprocess.CalledProcessError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise AssertionError(f"PostgreSQL did not start: {e.stderr or e.stdout}") from None
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="collectsim", dbname="postgres", autocommit=True) as con:
            con.execute("CREATE DATABASE studies")
        yield f"postgresql://collectsim@127.0.0.1:{port}/studies"
    finally:
        with contextlib.suppress(Exception):
            pg(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _driver(exp: Path, url: str, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, COLLECTSIM_HEARTBEAT_SECONDS="1", COLLECTSIM_HEARTBEAT_GRACE_SECONDS="4")
    return subprocess.Popen(
        [PY, "-m", "collectsim", "optimize", str(exp), "--storage", url, "--out", str(out), "--quiet",
         "--batch", "1", "--jobs", "1", "--accounts", "6000", "--days", "60", *extra],  # ~1 s a simulation
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _running_of(study: optuna.Study, pid: int, drawn: bool = False) -> set[int]:
    """Trials running under driver ``pid``; with ``drawn``: only those simulating (every
    parameter drawn)."""
    return {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if (t.user_attrs.get("driver") or {}).get("pid") == pid and (not drawn or len(t.params) == 3)}


def test_two_postgres_drivers_one_killed_mid_trial(tmp_path):
    trials = 12
    exp = write_exp(tmp_path, name="shared", trials=trials, reps=2, vreps=2, extra="validate_top = 1")
    exp.write_text(exp.read_text().replace("validate_top = 2\n", ""))
    t_start = time.time()
    with postgres_cluster() as url:
        a = _driver(exp, url, tmp_path / "a")
        b = None
        killed: set[int] = set()
        try:
            storage = optuna.storages.RDBStorage(url)
            deadline = time.time() + 180  # (generous: a loaded machine starts a driver slowly)
            while time.time() < deadline and "shared" not in optuna.get_all_study_names(storage):
                assert a.poll() is None, a.communicate()[1]
                time.sleep(0.1)
            assert "shared" in optuna.get_all_study_names(storage), "driver A never created the study"
            b = _driver(exp, url, tmp_path / "b", "--resume")
            study = optuna.load_study(study_name="shared", storage=storage)
            deadline = time.time() + 180  # (generous: a loaded machine starts a driver slowly)
            # Kill A at the first sight of one of its trials simulating (every parameter drawn)
            # that the previous poll did not see simulating: it started its simulations (~2 s)
            # at most one poll ago, however slow the machine, so the kill lands mid-trial.
            # (A clock window since the trial's start flaked on a loaded machine: drawing the
            # parameters can itself take longer than the window.)
            seen: set[int] | None = None
            polls = 0
            while time.time() < deadline:
                assert a.poll() is None and b.poll() is None, "a driver ended before the kill"
                polls += 1
                b_started = any((t.user_attrs.get("driver") or {}).get("pid") == b.pid
                                for t in study.get_trials(deepcopy=False))
                simulating = _running_of(study, a.pid, drawn=True)
                if b_started and seen is not None and simulating - seen:
                    os.killpg(a.pid, signal.SIGKILL)
                    a.wait()
                    killed = _running_of(study, a.pid)  # what the kill left running
                    break
                seen = simulating if b_started else None
                time.sleep(0.02)
            assert killed, (f"never killed driver A in the middle of a trial ({polls} polls, "
                            f"B started: {b_started}, trials: {len(study.get_trials(deepcopy=False))})")
            _, err = b.communicate(timeout=120)
            assert b.returncode == 0, err
        finally:
            for p in (a, b):
                if p is not None and p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        study = optuna.load_study(study_name="shared", storage=optuna.storages.RDBStorage(url))
        for n in killed:  # the heartbeat check failed A's trial; B re-ran it with the same parameters
            assert study.trials[n].state == TrialState.FAIL and len(study.trials[n].params) == 3
        _check_no_trial_lost_or_duplicated(study, trials, killed)
        drivers = {(t.user_attrs.get("driver") or {}).get("pid") for t in study.trials if t.state in FINISHED}
        assert b.pid in drivers
        validation = json.loads((tmp_path / "b" / "validation.json").read_text())
        assert validation["search"]["trials"] == len(study.trials)
    assert time.time() - t_start < 120
