"""The result of one replication: KPIs, per-tier KPIs, the daily series, the contact log."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["SimulationResult"]


@dataclass
class SimulationResult:
    """What one replication produced (plain data: picklable).

    Attributes
    ----------
    kpis:
        Portfolio-wide KPIs (``docs/outputs.md``; names in :mod:`collectsim.results.catalogue`);
        money in currency units.
    tiers:
        The same KPIs per observable risk tier, by tier name.
    daily:
        The daily series from Mesa's ``DataCollector`` (one row per day; :mod:`collectsim.model.daily`).
    contacts:
        The contact log (one row per executed contact) when it was kept, else ``None``.
    meta:
        Seed, policy name, days, accounts and wall time.
    """

    kpis: dict
    tiers: dict
    daily: pd.DataFrame
    contacts: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    @property
    def violations(self) -> dict[str, int] | None:
        """Rule violations found by the independent audit (None when not audited)."""
        return self.kpis.get("violations")
