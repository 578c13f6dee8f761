"""The validation base every scenario table shares: unknown keys are errors, tables are frozen."""

from __future__ import annotations

import math
import types
import typing

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Strict", "probability", "field_bounds", "bounds_at"]


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def probability(desc: str, default: float) -> float:
    """A probability field in [0, 1] with a default and a description."""
    return Field(default, ge=0.0, le=1.0, description=desc)


def field_bounds(model: type[BaseModel], name: str) -> tuple[float, float]:
    """The closed bounds the schema gives field ``name`` of ``model``: its ``ge`` and ``le``
    (−inf, +inf where it has none; strict ``gt``/``lt`` bounds are not closed and not returned)."""
    meta = model.model_fields[name].metadata
    lo = next((float(m.ge) for m in meta if getattr(m, "ge", None) is not None), -math.inf)
    hi = next((float(m.le) for m in meta if getattr(m, "le", None) is not None), math.inf)
    return lo, hi


def _unwrap(t):
    """``X | None`` → ``X``."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [x for x in typing.get_args(t) if x is not type(None)]
        return args[0] if len(args) == 1 else t
    return t


def _is_model(t) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def bounds_at(root: type[BaseModel], path: str) -> tuple[float, float] | None:
    """:func:`field_bounds` of the field at dotted ``path`` below ``root`` (``channels.sms.connect``,
    ``segments.0.reachability_sigma``: models by field name, lists by index, dicts by key); None
    when the path ends inside a list or dict (an item's bounds live in a validator) or leaves
    the schema."""
    model, name = root, None
    parts = path.split(".")
    i = 0
    while i < len(parts):
        if not _is_model(model) or parts[i] not in model.model_fields:
            return None
        owner, name = model, parts[i]
        model = _unwrap(owner.model_fields[name].annotation)
        i += 1
        while i < len(parts) and typing.get_origin(model) in (list, dict):  # an item of a list or dict
            model = _unwrap(typing.get_args(model)[-1])
            i += 1
            if not _is_model(model):
                return None
    return field_bounds(owner, name)
