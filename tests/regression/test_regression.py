"""Behaviour is locked: every recorded KPI, daily column and contact-log column of 22 fixed
cases is unchanged to the bit (see ``tests/regression/cases.py``)."""

from __future__ import annotations

import json

import pytest

from collectsim.validation.audit import audit
from tests.regression.cases import GOLDEN, cases, fingerprint_of, simulate_case

_GOLDEN = json.loads(GOLDEN.read_text())
_CASES = cases()


def test_the_lock_covers_every_case():
    assert len(_CASES) >= 20
    assert sorted(_GOLDEN) == sorted(c["name"] for c in _CASES)


def _found_by_the_audit(key: str) -> bool:
    return key == "violations_total" or key.startswith("violations.")


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in _CASES])
def test_outputs_identical_to_the_recorded_ones(case):
    """Every recorded figure, then the audit's findings: the recorded violations are zeros,
    so the audit must find none, per check (under the same check names)."""
    want = _GOLDEN[case["name"]]
    result, scenario = simulate_case(case, audit=False)
    got = fingerprint_of(result)
    assert got["daily_rows"] == want["daily_rows"] and got["contact_rows"] == want["contact_rows"]
    for part in ("kpis", "tiers", "daily", "contacts"):
        changed = {k: (v, got[part].get(k, "<missing>")) for k, v in want[part].items()
                   if got[part].get(k) != v and not (part == "kpis" and _found_by_the_audit(k))}
        assert not changed, f"{part} changed: {dict(list(changed.items())[:8])}"
    recorded = {k: v for k, v in want["kpis"].items() if _found_by_the_audit(k)}
    assert set(recorded.values()) <= {0}, recorded
    found = audit(result.contacts, scenario.rules)
    assert {f"violations.{k}" for k in found} | {"violations_total"} == set(recorded), "check names changed"
    assert not any(found.values()), found
