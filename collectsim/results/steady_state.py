"""An open book's steady state: the daily flows averaged over a window of days."""

from __future__ import annotations

import pandas as pd

__all__ = ["steady_state"]


def steady_state(daily: pd.DataFrame, from_day: int, phone_collectors: int) -> dict:
    """Means over the days ``from_day`` … of the daily series (``collectsim.model.DAILY_COLUMNS``).

    Returns the stock of accounts in collections, the inflow and exits per day, cash
    collected per day, dials per phone collector per day, the contact rate (connects /
    dials) and the right-party-contact rate (RPCs / dials) of agent calls over the window,
    and complaints per day.
    """
    w = daily[daily["day"] >= from_day]
    dials = float(w["contacts_call"].sum())
    days = len(w)
    return {
        "from_day": int(from_day),
        "days": days,
        "stock": float(w["active"].mean()),
        "inflow_per_day": float(w["inflow"].mean()),
        "exits_per_day": float(w["exits"].mean()),
        "collected_per_day": float(w["collected"].mean()),
        "dials_per_collector_day": dials / (phone_collectors * days) if phone_collectors and days else None,
        "contact_rate": float(w["connects"].sum()) / dials if dials else None,
        "rpc_rate": float(w["rpcs"].sum()) / dials if dials else None,
        "complaints_per_day": float(w["complaints"].mean()),
    }
