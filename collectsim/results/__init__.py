"""Results: the KPI catalogue (``catalogue.py``), the KPIs of a finished model (``kpis.py``)
and the result of one replication (``result.py``)."""

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

__all__ = [
    "KPIS", "KpiInfo", "RUN_SUMMARY", "COMPARE_DEFAULT", "OPTIMIZE_RECORDED", "OPTIMIZE_COMPARED", "check_kpi",
    "compute_kpis", "SimulationResult",
]
