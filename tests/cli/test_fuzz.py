"""Fuzzing the user's files: valid experiment, policy and compare files, mutated (wrong types,
out-of-range and huge numbers, NaN and infinities, empty, unicode and path-like strings,
unknown keys, wrong nesting, missing keys), run through the command line in process on
tiny books. Every case ends in exit code 0 (a complete result folder) or 2 (one line on
stderr, no folder) — never a traceback, never a partial folder or a leftover temporary.

200 cases by default, 2,000 with ``--runslow``. A case whose file is valid simulates and
writes a whole folder (about a second); those full runs are capped per test run
(``check`` still validates every case), so the default run stays well under a minute.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import traceback
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectsim.cli import main

SLOW = os.environ.get("COLLECTSIM_SLOW") == "1"

EXPERIMENT = {
    "run": {"name": "fuzz", "policy": "seed-champion", "seed": 3, "log_contacts": False},
    "portfolio": {"accounts": 120, "horizon_days": 4, "entry_buckets": {"M1": 0.6, "M2": 0.4}},
    "rules": {"preset": "us-reg-f"},
    "channels": {"call": {"cost_per_contact": 1.5}},
    "teams": [{"name": "phone", "headcount": 3, "cost_per_day": 150}, {"name": "field", "headcount": 1}],
}
POLICY = {
    "policy": {
        "name": "fuzzed",
        "priority": "balance",
        "cells": [
            {"tiers": ["high"], "buckets": ["M2", "M3"], "call_per_week": 3, "sms_per_week": 1, "offer": "instalment",
             "plan_months": 6, "visit_per_week": 1, "visit_from_dpd": 60},
            {"tiers": "*", "sms_per_week": 2, "offer": "settlement", "settlement_discount": 0.2, "message_hour": 11},
        ],
    }
}
COMPARE = {
    "run": {"name": "fuzzcmp", "seed": 1},
    "portfolio": {"accounts": 100, "horizon_days": 3},
    "compare": {
        "champion": "sms-only",
        "challengers": ["no-contact"],
        "reps": 2,
        "headline": "net_value",
        "per_accounts": 1000,
        "variants": [{"name": "stress", "description": "more shock", "overrides": {"shock": {"start_day": 1}}}],
    },
}

#: values a mutation puts in place of a valid one
ODD = st.one_of(
    st.sampled_from([
        -1, 0, 1, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, 1e-320, math.nan, math.inf, -math.inf, 0.5, -0.5,
        True, False, "", " ", "*", "../../x", "/etc/passwd", "..", ".", "a/b", "x<y>", "<script>", "\u202egnp.x",
        "é", "名前", "🙂", "\x00", "M9", "call", "none", "seed-champion", "nope.toml", [], [""], [1], {}, {"a": 1},
        [[1]], [{"name": "x"}],
    ]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-3, 3), max_size=3),
)
KEYS = st.one_of(st.sampled_from(["acounts", "name", "tiers", "", " ", "..", "é", "policy", "cells", "run"]),
                 st.text(min_size=1, max_size=8))


def _paths(data, prefix=()):
    """Every path (tuple of keys / indices) into nested dicts and lists."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _get(data, path):
    for p in path:
        data = data[p]
    return data


@st.composite
def mutated(draw, base: dict) -> dict:
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _get(data, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add_key", "nest_list", "nest_dict"]))
        if op == "replace":
            parent[key] = draw(ODD)
        elif op == "delete":
            del parent[key]
        elif op == "add_key":
            target = parent if isinstance(parent, dict) else data
            target[draw(KEYS)] = draw(ODD)
        elif op == "nest_list":
            parent[key] = [parent[key]]
        else:
            parent[key] = {"value": parent[key]}
    return data


def _tiny(data: dict) -> dict:
    """Keep valid sizes tiny (accounts <= 200, days <= 5, few replications and variants)."""

    def clamp(table, key, hi):
        if isinstance(table, dict):
            v = table.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and v > hi:
                table[key] = hi

    portfolios = [data.get("portfolio")]
    cmp = data.get("compare")
    if isinstance(cmp, dict) and isinstance(cmp.get("variants"), list):
        for v in cmp["variants"]:
            if isinstance(v, dict) and isinstance(v.get("overrides"), dict):
                portfolios.append(v["overrides"].get("portfolio"))
    for table in portfolios:
        clamp(table, "accounts", 200)
        clamp(table, "horizon_days", 5)
    if isinstance(cmp, dict):
        clamp(cmp, "reps", 2)
        clamp(cmp, "max_reps", 3)
        if isinstance(cmp.get("variants"), list):
            cmp["variants"] = cmp["variants"][:1]
        if isinstance(cmp.get("challengers"), list):
            cmp["challengers"] = cmp["challengers"][:2]
    for team in data.get("teams", []) if isinstance(data.get("teams"), list) else []:
        clamp(team, "headcount", 50)
    return data


def _write(path: Path, data: dict) -> str:
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):  # not TOML-able (e.g. a key TOML cannot hold): write it anyway, broken
        text = repr(data)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return text


class Budget:
    """Full (simulating) runs left for this test run."""

    def __init__(self, n: int) -> None:
        self.left = n


def _cli(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except BaseException:  # noqa: BLE001 - the point: nothing may escape
            return -1, traceback.format_exc()
    return code, err.getvalue()


def _check_case(tmp: Path, kind: str, data: dict, budget: Budget, n: list[int]) -> None:
    n[0] += 1
    case = tmp / f"case{n[0]}"
    case.mkdir()
    files = case / "files"
    files.mkdir()
    if kind == "policy":
        exp, pol = files / "exp.toml", files / "policy.toml"
        _write(exp, {"portfolio": {"accounts": 100, "horizon_days": 3}})
        text = _write(pol, data)
        checks = ["check", str(exp), "--policy", str(pol)]
        full = ["run", str(exp), "--policy", str(pol), "--quiet"]
    else:
        exp = files / "exp.toml"
        text = _write(exp, data)
        checks = ["check", str(exp)]
        full = (["compare", str(exp), "--quiet"] if kind == "compare" else ["run", str(exp), "--quiet"])
    code, err = _cli(checks)
    assert code in (0, 2), f"check of {kind} file gave {code}:\n{text}\n{err}"
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err, f"{text}\n{err}"
    if code == 0 and budget.left <= 0:
        return  # valid: full runs of valid files are capped (the earlier ones exercised them)
    out = case / "out"
    code, err = _cli([*full, "--out", str(out)])
    assert code in (0, 2), f"{full[0]} of {kind} file gave {code}:\n{text}\n{err}"
    leftovers = [p.name for p in case.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporaries left: {leftovers}\n{text}"
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err, f"{text}\n{err}"
        assert not out.exists(), f"a partial folder after exit 2:\n{text}\n{err}"
    else:
        budget.left -= 1
        names = {p.name for p in out.iterdir()}
        assert {"summary.json", "config.toml", "report.html", "report.md"} <= names, names


def _fuzz(tmp_path_factory, kind: str, base: dict, examples: int, full_runs: int):
    tmp = tmp_path_factory.mktemp(f"fuzz-{kind}")
    budget, n = Budget(full_runs), [0]

    @settings(max_examples=examples, deadline=None, database=None, derandomize=examples < 500,  # (slow: random)
              suppress_health_check=list(HealthCheck))
    @given(mutated(base))
    def case(data):
        _check_case(tmp, kind, _tiny(data), budget, n)

    case()


def _sizes(request) -> tuple[int, int]:
    slow = request.config.getoption("--runslow") or SLOW
    return (2000, 120) if slow else (200, 12)


@pytest.fixture(scope="module")
def cases(request):
    total, full = _sizes(request)
    return {"experiment": (total // 2, full // 2), "policy": (total // 4, full // 4), "compare": (total // 4, full // 4)}


def test_fuzz_experiment_files(tmp_path_factory, cases):
    _fuzz(tmp_path_factory, "experiment", EXPERIMENT, *cases["experiment"])


def test_fuzz_policy_files(tmp_path_factory, cases):
    _fuzz(tmp_path_factory, "policy", POLICY, *cases["policy"])


def test_fuzz_compare_files(tmp_path_factory, cases):
    _fuzz(tmp_path_factory, "compare", COMPARE, *cases["compare"])
