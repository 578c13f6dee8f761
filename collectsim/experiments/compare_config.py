"""Schema of the ``[compare]`` table of an experiment file (filled in by the comparison)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["CompareSettings"]


class CompareSettings(BaseModel):
    """Settings of ``collectsim compare`` (placeholder until the comparison lands)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
