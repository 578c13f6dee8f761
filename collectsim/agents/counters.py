"""The running counters the agents and the model fill day by day (money in cents).

:class:`Tally` holds portfolio-wide totals (contacts and right-party contacts by channel,
costs, promises, plans, settlements, conversations, opt-outs, unworked requests, roll-rate
accumulators) and ``today``: the day's figures for the daily series. Per-account results
(collected, complaints, churn, ...) live on the borrower population.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from collectsim.vocabulary.channels import CHANNELS

__all__ = ["Tally"]


@dataclass
class Tally:
    """Running portfolio-wide counters (money in cents)."""

    contacts: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), np.int64))
    connected: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), np.int64))
    reached: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), np.int64))
    contact_cost_cents: float = 0.0
    team_cost_cents: float = 0.0
    #: direct effort (:class:`~collectsim.policies.base.Effort`): units applied and what they cost
    effort_units: float = 0.0
    effort_cost_cents: float = 0.0
    #: Σ over days of the day's whole treatment cost × its discount factor
    discounted_cost_cents: float = 0.0
    ptp_made: int = 0
    ptp_due: int = 0
    ptp_kept: int = 0
    plans_offered: int = 0
    plans_accepted: int = 0
    plans_broken: int = 0
    settlements_offered: int = 0
    settlements_accepted: int = 0
    conversations: int = 0
    optouts: int = 0
    unworked: dict[str, int] = field(default_factory=dict)
    requested: int = 0
    #: roll-rate accumulators: numerator/denominator per (tier, bucket)
    roll_num: np.ndarray | None = None
    roll_den: np.ndarray | None = None
    #: today's figures, reset each day (for the daily series)
    today: dict[str, float] = field(default_factory=dict)

    def new_day(self) -> None:
        """Reset the daily figures."""
        self.today = {
            "collected": 0.0,
            "cost": 0.0,
            "complaints": 0.0,
            "optouts": 0.0,
            "blocked": 0.0,
            "requested": 0.0,
            "rpcs": 0.0,
            "connects": 0.0,
            "inflow": 0.0,
            "exits": 0.0,
            "ptps": 0.0,
            **{f"contacts_{c}": 0.0 for c in CHANNELS},
        }
