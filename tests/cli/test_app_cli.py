"""``collectsim app`` as a user types it: its options, and bad input refused in one line before
anything is served (the page itself is tested in a browser: ``tests/app/test_app.py``)."""

from __future__ import annotations

import socket

import pytest

from tests.cli.test_cli import cli


def test_app_is_a_sub_command_with_host_and_port():
    r = cli("--help")
    assert r.returncode == 0 and "app" in r.stdout
    r = cli("app", "--help")
    assert r.returncode == 0
    for option in ("--host", "--port", "--experiments", "--jobs"):
        assert option in r.stdout
    assert "127.0.0.1" in r.stdout


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--port", "70000"], "port = '70000': must be in 0..65535"),
        (["--port", "http"], "port = 'http': must be a whole number"),
        (["--experiments", "no/such/folder"], "experiments = 'no/such/folder': no such folder"),
        (["--host", "no.such.host.invalid"], "host = 'no.such.host.invalid'"),
        (["--port", "BUSY"], "cannot listen on 127.0.0.1:"),
    ],
)
def test_bad_app_options_exit_2_with_one_line(args, needle, busy_port):
    args = [str(busy_port) if a == "BUSY" else a for a in args]
    r = cli("app", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "serving on" not in r.stdout
