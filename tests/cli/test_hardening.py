"""Files and inputs, hardened: no writing through planted links, names never act as paths,
one writer per --out (refused before any work), stale temporaries swept, report.md escaped,
and one-line errors (exit 2, nothing written) for bad seeds, empty policies, empty cells,
repeated policies, folders that are not results, runs that cannot fit in memory and
running out of memory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from collectsim.cli import main
from collectsim.experiments.folders import MARKER, _host_tag, claim_out_dir, safe_name, unique_file_names

ROOT = Path(__file__).resolve().parents[2]
TINY = """
[run]
name = "{name}"
[portfolio]
accounts = 200
horizon_days = 3
"""


def _exp(folder: Path, name: str = "tiny", extra: str = "") -> Path:
    p = folder / "exp.toml"
    p.write_text(TINY.format(name=name.replace("\\", "\\\\").replace('"', '\\"')) + extra)
    return p


def _one_line_error(capsys, code: int, needle: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err
    return lines[0]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# --------------------------------------------------------------------------- links


def test_a_planted_link_at_the_old_temporary_name_is_not_followed(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(_exp(tmp_path)), "--out", str(out), "--quiet"]) == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in (".report.html.tmp", ".report.md.tmp", ".recovery.png.tmp"):
        (out / name).symlink_to(victim)
    assert main(["report", str(out)]) == 0
    assert victim.read_text() == "precious"
    assert "<h1>" in (out / "report.html").read_text()


def test_report_refuses_to_write_through_a_link(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(_exp(tmp_path)), "--out", str(out), "--quiet"]) == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "report.md").unlink()
    (out / "report.md").symlink_to(victim)
    capsys.readouterr()
    _one_line_error(capsys, main(["report", str(out)]), "symbolic link")
    assert victim.read_text() == "precious"


def test_an_out_folder_that_is_a_link_is_refused(tmp_path, capsys):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    _one_line_error(capsys, main(["run", str(_exp(tmp_path)), "--out", str(tmp_path / "link"), "--quiet"]),
                    "symbolic link")
    assert not any(target.iterdir())


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "..", ".hidden", "a/b\\c", "<b>x</b>"])
def test_experiment_names_never_act_as_paths(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(_exp(tmp_path, name=name)), "--quiet"]) == 0
    made = [p for p in (tmp_path / "results").iterdir()]
    assert len(made) == 1 and made[0].is_dir() and made[0].name.startswith("run-")
    assert made[0].resolve().parent == (tmp_path / "results").resolve()
    assert not (tmp_path.parent / "x").exists() and not (tmp_path / "x").exists()


def test_safe_names_are_injective():
    names = ["x<y", "x>y", "x_y", "x/y", "x\\y", "..", ".", "", "a" * 200, "a" * 199 + "b", "Ab", "ab"]
    files = unique_file_names(names)
    assert len(set(v.lower() for v in files.values())) == len(names)
    for v in files.values():
        assert "/" not in v and "\\" not in v and not v.startswith(".") and v not in ("", ".", "..")
    assert safe_name("seed-champion") == "seed-champion"  # a safe name is kept as it is


def test_policies_whose_names_differ_only_in_unsafe_characters_get_two_files(tmp_path, capsys):
    for fname, label, calls in (("lt.toml", "x<y", 1), ("gt.toml", "x>y", 5)):
        (tmp_path / fname).write_text(f'[policy]\nname = "{label}"\n[[policy.cells]]\ncall_per_week = {calls}\n')
    exp = _exp(tmp_path, extra='[compare]\nchampion = "lt.toml"\nchallengers = ["gt.toml"]\nreps = 2\n')
    out = tmp_path / "cmp"
    assert main(["compare", str(exp), "--out", str(out), "--quiet", "--no-variants"]) == 0
    cfg = tomllib.loads((out / "config.toml").read_text())
    files = [cfg["compare"]["champion"], *cfg["compare"]["challengers"]]
    assert len(set(files)) == 2
    tables = [tomllib.loads((out / f).read_text())["policy"] for f in files]
    assert [t["name"] for t in tables] == ["x<y", "x>y"]
    assert [t["cells"][0]["call_per_week"] for t in tables] == [1, 5]
    # the re-run compares the same two policies
    again = tmp_path / "again"
    assert main(["compare", str(out / "config.toml"), "--out", str(again), "--quiet", "--no-variants"]) == 0
    a = json.loads((out / "summary.json").read_text())
    b = json.loads((again / "summary.json").read_text())
    assert a["policy_tables"] == b["policy_tables"] and [a["champion"], *a["challengers"]] == ["x<y", "x>y"]


def test_report_md_escapes_user_names(tmp_path):
    out = tmp_path / "run"
    evil = "<script>alert(1)</script> [click](javascript:x) **bold**"
    assert main(["run", str(_exp(tmp_path, name=evil)), "--out", str(out), "--quiet"]) == 0
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert "<script>alert" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "[click](javascript:" not in md and "[click\\](javascript:" in md and "\\*\\*bold\\*\\*" in md
    assert "<script>alert" not in html and "&lt;script&gt;" in html


# --------------------------------------------------------------------------- one writer per --out


def test_a_second_writer_to_one_out_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / ".run.lock"
        lock.write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(), "started": "now"}))
        t0 = time.perf_counter()
        line = _one_line_error(capsys, main(["run", str(_exp(tmp_path)), "--out", str(out), "--quiet"]),
                               "another collectsim run")
        assert f"pid {sleeper.pid}" in line and time.perf_counter() - t0 < 5
        assert not out.exists() and lock.is_file()  # the live writer's claim is left alone
        _one_line_error(capsys, main(["compare", str(_exp(tmp_path)), "--policy", "sms-only", "--reps", "2",
                                      "--out", str(out), "--quiet"]), "another collectsim run")
    finally:
        sleeper.kill()
        sleeper.wait()
    # its writer is gone: the stale claim is taken over
    assert main(["run", str(_exp(tmp_path)), "--out", str(out), "--quiet"]) == 0
    assert not (tmp_path / ".run.lock").exists()


def test_two_concurrent_runs_to_one_out_one_wins_the_other_gets_one_line(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('[portfolio]\naccounts = 5000\nhorizon_days = 30\n')
    out = tmp_path / "same"
    cmd = [sys.executable, "-m", "collectsim", "run", str(exp), "--out", str(out), "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    err = next(e for c, e in results if c == 2)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert ("another collectsim run" in err) or ("already exists" in err)
    assert (out / "summary.json").is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_claim_is_exclusive_in_process(tmp_path):
    out = tmp_path / "x"
    with claim_out_dir(out):
        lock = json.loads((tmp_path / ".x.lock").read_text())
        assert lock["pid"] == os.getpid() and lock["host"] == socket.gethostname()
    assert not (tmp_path / ".x.lock").exists()


# --------------------------------------------------------------------------- stale temporaries


def test_stale_temporaries_of_killed_runs_are_removed_live_ones_kept(tmp_path):
    dead, tag = _dead_pid(), _host_tag()
    stale_dir = tmp_path / f".old.{dead}-{tag}.abcd1234.tmp"
    stale_dir.mkdir()
    (stale_dir / MARKER).write_text(json.dumps({"pid": dead, "host": socket.gethostname()}))
    (stale_dir / "daily.parquet").write_text("half")
    stale_file = tmp_path / f".report.html.{dead}-{tag}.zz99_x1q.tmp"
    stale_file.write_text("half")
    live_dir = tmp_path / f".live.{os.getppid()}-{tag}.abcd1234.tmp"
    live_dir.mkdir()
    (live_dir / MARKER).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    other_host = tmp_path / f".far.{dead}-{_host_tag('elsewhere')}.abcd1234.tmp"
    other_host.mkdir()
    (other_host / MARKER).write_text(json.dumps({"pid": dead, "host": "elsewhere"}))
    unmarked = tmp_path / ".mine.tmp"
    unmarked.mkdir()
    assert main(["run", str(_exp(tmp_path)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert not stale_dir.exists() and not stale_file.exists()
    assert live_dir.is_dir() and other_host.is_dir() and unmarked.is_dir()


# --------------------------------------------------------------------------- inputs


def test_seed_above_int64_is_refused_and_the_largest_reruns(tmp_path, capsys):
    exp = _exp(tmp_path)
    _one_line_error(capsys, main(["run", str(exp), "--seed", str(2**63), "--out", str(tmp_path / "x"), "--quiet"]),
                    "seed = '9223372036854775808': must be in 0..")
    assert not (tmp_path / "x").exists()
    assert main(["run", str(exp), "--seed", str(2**63 - 1), "--out", str(tmp_path / "big"), "--quiet"]) == 0
    assert main(["run", str(tmp_path / "big" / "config.toml"), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("big", "again"))
    assert a["kpis"] == b["kpis"] and b["meta"]["seed"] == 2**63 - 1


@pytest.mark.parametrize("args", [["run", "--policy", ""], ["run", "--policy", "  "], ["check", "--policy", ""],
                                  ["compare", "--policy", ""], ["compare", "--champion", ""]])
def test_an_empty_policy_is_an_error_not_the_default(tmp_path, capsys, args):
    cmd = [args[0], str(_exp(tmp_path)), *args[1:], *(["--out", str(tmp_path / "x")] if args[0] != "check" else [])]
    _one_line_error(capsys, main(cmd), "empty")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("cell", ["tiers = []", "buckets = []", 'tiers = [""]'])
def test_a_cell_matching_no_account_is_refused(tmp_path, capsys, cell):
    pol = tmp_path / "p.toml"
    pol.write_text(f'[policy]\nname = "p"\n[[policy.cells]]\n{cell}\ncall_per_week = 2\n')
    _one_line_error(capsys, main(["run", str(_exp(tmp_path)), "--policy", str(pol), "--out", str(tmp_path / "x"),
                                  "--quiet"]), "policy.cells.0.")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("table", "flags"), [
    ('[compare]\nchallengers = ["sms-only", "sms-only"]\n', []),
    ('[compare]\nchampion = "sms-only"\nchallengers = ["sms-only"]\n', []),
    ("", ["--policy", "sms-only", "--policy", "sms-only"]),
    ("", ["--champion", "no-contact", "--policy", "no-contact"]),
    ("", ["--policy", "P1", "--policy", "P2"]),  # two files, one name
])
def test_repeated_policies_in_a_comparison_are_refused(tmp_path, capsys, table, flags):
    for f in ("P1", "P2"):
        (tmp_path / f"{f}.toml").write_text('[policy]\nname = "same"\n[[policy.cells]]\nsms_per_week = 1\n')
    flags = [str(tmp_path / f"{f}.toml") if f in ("P1", "P2") else f for f in flags]
    exp = _exp(tmp_path, extra=table)
    line = _one_line_error(capsys, main(["compare", str(exp), *flags, "--reps", "2", "--out", str(tmp_path / "x"),
                                         "--quiet"]), "twice" if "P1" not in str(flags) else "same name")
    assert "(2)" not in line and not (tmp_path / "x").exists()


@pytest.mark.parametrize("files", [
    {"summary.json": '{"x": 1}'},
    {"summary.json": '{"kpis": {}, "meta": {}}'},  # no daily.parquet next to it
    {"trials.csv": "a,b\n1,2\n"},
    {"comparison.csv": "x\n1\n", "summary.json": '{"kind": "other"}'},
    {"best_policy.toml": "title = 'not a policy'\n"},
])
def test_report_refuses_folders_that_are_not_results(tmp_path, capsys, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_line_error(capsys, main(["report", str(tmp_path)]), "not a collectsim result folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_run_that_clearly_cannot_fit_in_memory_is_refused_up_front(tmp_path, capsys):
    t0 = time.perf_counter()
    line = _one_line_error(capsys, main(["run", str(_exp(tmp_path)), "--accounts", "50000000", "--days", "3650", "--log-contacts",
                                         "--out", str(tmp_path / "x"), "--quiet"]), "of memory")
    assert "GB" in line and "50,000,000 accounts" in line and "contact log" in line and time.perf_counter() - t0 < 10
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".*"))


def test_out_of_memory_ends_in_one_line_and_no_folder(tmp_path):
    """A real MemoryError: the address space is capped below what the book needs."""
    exp = _exp(tmp_path)
    out = tmp_path / "x"
    code = (
        "import resource, sys; from collectsim.cli import main; import numpy, numba, pandas, collectsim.api;"
        "vm = int(open('/proc/self/status').read().split('VmSize:')[1].split()[0]) * 1024;"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + 2**29, vm + 2**29));"  # 512 MiB more than the imports
        f"sys.exit(main(['run', {str(exp)!r}, '--accounts', '30000000', '--out', {str(out)!r}, '--quiet']))"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.count("\n") == 1 and "out of memory" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".*"))
