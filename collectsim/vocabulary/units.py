"""Units: money is integer cents inside the engine, time is days, intensities are per year.

Repayment intensities are per year, as in Chehrazi, Glynn & Weber (2019); one simulated day
is ``DT = 1/365`` year. Money is reported in currency units (cents / ``CENTS_PER_UNIT``).
"""

from __future__ import annotations

__all__ = ["DAYS_PER_YEAR", "DT", "CENTS_PER_UNIT"]

DAYS_PER_YEAR = 365
DT = 1.0 / DAYS_PER_YEAR
CENTS_PER_UNIT = 100.0
