"""Results: the KPI catalogue (``catalogue.py``), the KPIs of a finished model (``kpis.py``),
what the result is worth (``valuation.py``) and the result of one replication (``result.py``)."""

from collectsim.results.catalogue import (
    COMPARE_DEFAULT,
    KPIS,
    OPTIMIZE_COMPARED,
    OPTIMIZE_RECORDED,
    RUN_SUMMARY,
    KpiInfo,
    check_kpi,
)
from collectsim.results.kpis import compute_kpis
from collectsim.results.result import SimulationResult
from collectsim.results.valuation import VALUE_PARTS, BookAtHorizon, book_at_horizon, compute_value

__all__ = [
    "KPIS", "KpiInfo", "RUN_SUMMARY", "COMPARE_DEFAULT", "OPTIMIZE_RECORDED", "OPTIMIZE_COMPARED", "check_kpi",
    "compute_kpis", "SimulationResult", "VALUE_PARTS", "BookAtHorizon", "book_at_horizon", "compute_value",
]
