"""One KPI catalogue: every KPI a run reports is catalogued, and the docs show the catalogue."""

from __future__ import annotations

from pathlib import Path

import collectsim
from collectsim.results.catalogue import (
    COMPARE_DEFAULT,
    KPIS,
    OPTIMIZE_COMPARED,
    OPTIMIZE_RECORDED,
    RUN_SUMMARY,
    markdown_table,
)

ROOT = Path(__file__).resolve().parents[2]


def _scalars(d: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        if isinstance(v, dict):
            if k == "contacts":
                out |= {f"contacts.{c}" for c in v}
        elif isinstance(v, (int, float)) or v is None:
            out.add(prefix + k)
    return out


def test_every_scalar_kpi_a_run_reports_is_in_the_catalogue(small_scenario):
    sc = small_scenario.model_copy(update={"portfolio": small_scenario.portfolio.model_copy(
        update={"discount_rate_per_year": 0.06})})
    r = collectsim.simulate(sc, "seed-champion", seed=1)
    reported = _scalars(r.kpis) | set().union(*(_scalars(t) for t in r.tiers.values()))
    assert reported - set(KPIS) == set()


def test_every_list_of_kpis_names_catalogued_ones():
    for names in (RUN_SUMMARY, COMPARE_DEFAULT, OPTIMIZE_RECORDED, OPTIMIZE_COMPARED):
        assert set(names) <= set(KPIS)
    assert all(KPIS[k].higher_is_better is not None for k in OPTIMIZE_COMPARED)


def test_docs_show_the_current_catalogue():
    assert markdown_table() in (ROOT / "docs" / "outputs.md").read_text(), "docs/outputs.md: paste markdown_table()"
