"""What-if stress variants: the experiment's scenario with some fields overridden."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from collectsim.errors import from_pydantic
from collectsim.experiments.compare.settings import Variant
from collectsim.scenario import Scenario

__all__ = ["deep_merge", "build_variants"]


def _named_list(x: Any) -> bool:
    return isinstance(x, list) and bool(x) and all(isinstance(i, dict) and "name" in i for i in x)


def deep_merge(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged in (neither argument is modified).

    Tables merge key by key; lists of named tables (``teams``, ``segments``) merge item by
    item on ``name`` (an unknown name is appended); any other value is replaced.

    Parameters
    ----------
    base:
        Plain data, e.g. :meth:`Scenario.resolved`.
    overrides:
        Partial data of the same shape.
    """
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = deep_merge(old, value)
        elif _named_list(value) and _named_list(old):
            merged = [dict(i) for i in old]
            index = {i["name"]: k for k, i in enumerate(merged)}
            for item in value:
                if item["name"] in index:
                    k = index[item["name"]]
                    merged[k] = deep_merge(merged[k], item)
                else:
                    merged.append(copy.deepcopy(item))
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def build_variants(scenario: Scenario, variants: Sequence[Variant], source: str = "") -> dict[str, Scenario]:
    """The scenario of every stress variant, ``base`` (the scenario itself) first.

    Parameters
    ----------
    scenario:
        The experiment's scenario.
    variants:
        Stress variants; each ``overrides`` is deep-merged (:func:`deep_merge`) into the
        scenario's data and validated again.
    source:
        File name for error messages.

    Raises
    ------
    InputError
        Naming the variant and the offending override (a typo, a value out of bounds).
    """
    out = {"base": scenario}
    data = scenario.resolved()
    for i, v in enumerate(variants):
        try:
            out[v.name] = Scenario.model_validate(deep_merge(data, v.overrides))
        except ValidationError as e:
            raise from_pydantic(e, source, prefix=f"compare.variants[{i}].overrides") from None
    return out
