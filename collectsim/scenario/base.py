"""The validation base every scenario table shares: unknown keys are errors, tables are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Strict", "probability"]


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def probability(desc: str, default: float) -> float:
    """A probability field in [0, 1] with a default and a description."""
    return Field(default, ge=0.0, le=1.0, description=desc)
