"""Schema of the ``[optimize]`` table of an experiment file (filled in by the optimizer)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["OptimizeSettings"]


class OptimizeSettings(BaseModel):
    """Settings of ``collectsim optimize`` (placeholder until the optimizer lands)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
