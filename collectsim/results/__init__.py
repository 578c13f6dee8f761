"""Results: the KPI catalogue (``catalogue.py``), the KPIs of a finished model (``kpis.py``),
what the result is worth (``valuation.py``) and the result of one replication (``result.py``)."""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "KPIS": "collectsim.results.catalogue",
    "KpiInfo": "collectsim.results.catalogue",
    "RUN_SUMMARY": "collectsim.results.catalogue",
    "COMPARE_DEFAULT": "collectsim.results.catalogue",
    "OPTIMIZE_RECORDED": "collectsim.results.catalogue",
    "OPTIMIZE_COMPARED": "collectsim.results.catalogue",
    "check_kpi": "collectsim.results.catalogue",
    "compute_kpis": "collectsim.results.kpis",
    "SimulationResult": "collectsim.results.result",
    "VALUE_PARTS": "collectsim.results.valuation",
    "BookAtHorizon": "collectsim.results.valuation",
    "book_at_horizon": "collectsim.results.valuation",
    "compute_value": "collectsim.results.valuation",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
