"""Behaviour is locked: every recorded KPI, daily column and contact-log column of 22 fixed
cases is unchanged to the bit (see ``tests/regression/cases.py``)."""

from __future__ import annotations

import json

import pytest

from tests.regression.cases import GOLDEN, cases, fingerprint

_GOLDEN = json.loads(GOLDEN.read_text())
_CASES = cases()


def test_the_lock_covers_every_case():
    assert len(_CASES) >= 20
    assert sorted(_GOLDEN) == sorted(c["name"] for c in _CASES)


@pytest.mark.parametrize("case", _CASES, ids=[c["name"] for c in _CASES])
def test_outputs_identical_to_the_recorded_ones(case):
    want = _GOLDEN[case["name"]]
    got = fingerprint(case)
    assert got["daily_rows"] == want["daily_rows"] and got["contact_rows"] == want["contact_rows"]
    for part in ("kpis", "tiers", "daily", "contacts"):
        changed = {k: (v, got[part].get(k, "<missing>")) for k, v in want[part].items() if got[part].get(k) != v}
        assert not changed, f"{part} changed: {dict(list(changed.items())[:8])}"
