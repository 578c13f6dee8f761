"""Numbers as a manager reads them, for every report and the command line.

Money and counts with thousands separators, shares in % (differences in percentage
points), a true minus sign, p-values as "< 0.001"; the unit of each KPI comes from the
catalogue (:mod:`collectsim.results.catalogue`).
"""

from __future__ import annotations

import numpy as np

from collectsim.results.catalogue import KPIS

__all__ = ["MINUS", "format_number", "format_value", "format_diff", "format_interval", "format_p"]

MINUS = "\u2212"

# ------------------------------------------------------------------ number formatting ---
def format_number(x: float, signed: bool = False) -> str:
    """A number with a precision that suits its size, thousands separators and a true minus."""
    if x is None or not np.isfinite(x):
        return "–"
    a = abs(x)
    if a >= 100 or (a >= 1 and float(a).is_integer()):
        s = f"{a:,.0f}"
    elif a >= 10:
        s = f"{a:,.1f}"
    elif a >= 1:
        s = f"{a:.2f}"
    elif a == 0:
        s = "0"
    else:
        s = f"{a:.3g}"
    sign = MINUS if x < 0 and s != "0" else ("+" if signed and x > 0 else "")
    return sign + s

def format_value(kpi: str, x: float) -> str:
    """A KPI value as a manager reads it (shares in %, money with thousands separators)."""
    if kpi in KPIS and KPIS[kpi].unit == "share" and x is not None and np.isfinite(x):
        return format_number(100 * x) + " %"
    return format_number(x)

def format_diff(kpi: str, d: float) -> str:
    """A signed KPI difference (shares in percentage points)."""
    if kpi in KPIS and KPIS[kpi].unit == "share" and d is not None and np.isfinite(d):
        return format_number(100 * d, signed=True) + " pts"
    return format_number(d, signed=True)

def format_interval(kpi: str, lo: float, hi: float, diff: bool = False) -> str:
    """``[lo, hi]`` in the KPI's unit (as differences with ``diff``); "–" when not finite."""
    f = format_diff if diff else format_value
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "–"
    return f"[{f(kpi, lo)}, {f(kpi, hi)}]"

def format_p(p: float) -> str:
    """A p-value: three decimals, or "< 0.001"."""
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
