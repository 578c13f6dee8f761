"""Schema of the ``[sweep]`` table of an experiment file (``collectsim sweep``).

Example (``experiments/dose-response.toml``)::

    [sweep]
    policy = "seed-champion"
    tier = "medium"
    levers = { call_per_week = [0, 1, 2, 3, 5, 7, 10, 14], sms_per_week = [0, 2, 7] }
    reps = 4
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from collectsim.policies.rule_table import FREQUENCY_FIELDS
from collectsim.results.catalogue import check_kpi

__all__ = ["SweepSettings", "LEVERS"]

KpiName = Annotated[str, AfterValidator(check_kpi)]

#: cell fields a sweep can vary: contacts per week of each channel
LEVERS: tuple[str, ...] = FREQUENCY_FIELDS


class SweepSettings(BaseModel):
    """Schema of the ``[sweep]`` table of an experiment file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str | None = Field(None, description="Base rule-table policy: a built-in name or a policy file (default: [run].policy).")
    tier: str = Field(..., min_length=1, description="The risk tier whose cells the levers set.")
    levers: dict[str, list[float]] = Field(
        ..., description="One or two cell fields (e.g. call_per_week) and the values to try, in increasing order."
    )
    reps: int = Field(4, ge=2, le=1000, description="Replications (seeds) per grid point, >= 2.")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="First seed (default: [run].seed).")
    scope: Literal["tier", "book"] = Field(
        "tier", description="Whose KPIs are read: the swept tier's (default) or the whole book's."
    )
    kpis: list[KpiName] = Field(
        default_factory=lambda: ["net_value", "complaints_per_1k_accounts", "churn_rate"],
        min_length=1,
        description="KPIs to summarise and plot; the first is the one whose best point is sought.",
    )

    @field_validator("levers")
    @classmethod
    def _levers(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        if not 1 <= len(v) <= 2:
            raise ValueError(f"give one or two levers, got {len(v)}")
        for name, values in v.items():
            if name not in LEVERS:
                raise ValueError(f"lever {name!r} unknown; allowed: {', '.join(LEVERS)}")
            if len(values) < 2:
                raise ValueError(f"lever {name}: give at least two values, got {values}")
            if any(not math.isfinite(x) or x < 0 for x in values) or list(values) != sorted(set(values)):
                raise ValueError(f"lever {name}: values must be distinct, non-negative and increasing, got {values}")
        return v
