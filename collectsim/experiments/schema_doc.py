"""The experiment-file schema (every field, type, default, bounds, description), as Markdown or text.

``python -m collectsim.experiments.schema_doc > docs/scenario.md`` regenerates the reference
(:func:`render`; a test checks the committed file is current). :func:`schema_tables` and
:func:`schema_text` serve ``collectsim schema [TABLE]``, which the one-line error of an
unknown key points to.
"""

from __future__ import annotations

import json
import re
import typing

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from collectsim.errors import InputError
from collectsim.experiments.compare.settings import CompareSettings, Variant
from collectsim.experiments.experiment import RunSettings
from collectsim.experiments.optimize.settings import ObjectiveSettings, OptimizeSettings, ParamSpec
from collectsim.policies import AdaptiveSpec, ArmSpec, Cell, CGWThresholdSpec, RuleTableSpec
from collectsim.scenario import (
    Behaviour,
    ChannelSpec,
    Costs,
    Portfolio,
    Regimes,
    Rule,
    RuleSet,
    Scenario,
    Scoring,
    Segment,
    Shock,
    Team,
    Valuation,
)

__all__ = ["render", "schema_tables", "schema_text"]

_TABLES: list[tuple[str, type[BaseModel]]] = [
    ("[run]", RunSettings),
    ("[portfolio]", Portfolio),
    ("[[segments]]", Segment),
    ("[regimes]", Regimes),
    ("[shock]", Shock),
    ("[scoring]", Scoring),
    ("[behaviour]", Behaviour),
    ("[channels.NAME]", ChannelSpec),
    ("[[teams]]", Team),
    ("[rules]", RuleSet),
    ("[[rules.extra]]", Rule),
    ("[costs]", Costs),
    ("[valuation]", Valuation),
    ("policy file: [policy]", RuleTableSpec),
    ("policy file: [[policy.cells]]", Cell),
    ("adaptive policy file (kind = \"adaptive\"): [policy]", AdaptiveSpec),
    ("adaptive policy file: [[policy.arms]]", ArmSpec),
    ("cgw-threshold policy file (kind = \"cgw-threshold\"): [policy]", CGWThresholdSpec),
]


#: tables of the study settings, shown by ``collectsim schema`` (docs/compare.md, docs/optimize.md describe them)
_SETTINGS_TABLES: list[tuple[str, type[BaseModel]]] = [
    ("[compare]", CompareSettings),
    ("[[compare.variants]]", Variant),
    ("[optimize]", OptimizeSettings),
    ("[optimize.objective]", ObjectiveSettings),
    ("[[optimize.params]]", ParamSpec),
]


def _key(title: str) -> str:
    """``"[[rules.extra]]"`` → ``"rules.extra"``; ``"policy file: [policy]"`` → ``"policy"``."""
    return title.rsplit(" ", 1)[-1].strip("[]")


def _all_tables() -> dict[str, tuple[str, type[BaseModel]]]:
    out = {}
    for t, m in [*_TABLES, *_SETTINGS_TABLES]:
        key = _key(t)
        if key == "policy" and t.startswith("adaptive"):  # the [policy] of an adaptive policy file
            key = "policy.adaptive"
        if key == "policy" and t.startswith("cgw-threshold"):  # the [policy] of a cgw-threshold policy file
            key = "policy.cgw-threshold"
        out[key] = (t, m)
    return out


def schema_tables() -> dict[str, str]:
    """Every table ``collectsim schema`` knows: its name (``portfolio``, ``rules.extra``,
    ``channels.NAME``, ``policy.cells``, ``optimize.params``, ...) → the first line of its description."""
    out = {}
    for k, (_, m) in _all_tables().items():
        text = _plain(" ".join((m.__doc__ or "").strip().split("\n\n")[0].split()))
        out[k] = text if len(text) <= 100 else text[:97].rstrip() + "..."
    return out


def _plain(text: str) -> str:
    return text.replace("``", "")


def _match(parts: list[str], tables) -> str | None:
    for k in tables:  # channels.sms -> channels.NAME; channels -> channels.NAME
        kp = k.split(".")
        if len(kp) == len(parts) and all(a == b or a == "NAME" for a, b in zip(kp, parts, strict=True)):
            return k
        if kp[-1] == "NAME" and kp[:-1] == parts:
            return k
    return None


def _resolve(table: str) -> str:
    """The table name of ``table``; a longer path (``compare.variants.overrides.portfolio``)
    resolves to its innermost known table."""
    name = table.strip().strip("[]")
    tables = _all_tables()
    if name in tables:
        return name
    parts = [p for p in name.split(".") if p and not p.isdigit()]
    for i in range(len(parts)):
        for j in range(len(parts), i, -1):
            found = _match(parts[i:j], tables)
            if found:
                return found
    raise InputError(f"unknown table {table!r}; allowed: {', '.join(tables)}")


def _type(annotation) -> str:
    """A field's type in words: ``int``, ``float``, ``one of "ptp", "instalment"``, ``list of str``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return json.dumps(args[0]) if len(args) == 1 else "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [_type(a) for a in args if a is not type(None)]
        text = " or ".join(inner)
        return f"{text} (optional)" if type(None) in args else text
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (list, tuple, set):
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type(args[1])}" if len(args) == 2 else "table"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "table"
        return annotation.__name__
    return re.sub(r"\btyping\.", "", str(annotation))


def schema_text(table: str | None = None) -> str:
    """The schema of one experiment-file table as plain text, or the list of tables.

    Parameters
    ----------
    table:
        A table name as :func:`schema_tables` lists it (``portfolio``, ``[[teams]]``,
        ``channels.sms``, ``policy.cells``, ...); None lists the tables.

    Returns
    -------
    str
        One block per field: name, type, default, bounds and description.

    Raises
    ------
    InputError
        For an unknown table (the message lists the known ones).
    """
    if table is None:
        tables = schema_tables()
        width = max(map(len, tables))
        lines = ["Tables of an experiment file (collectsim schema TABLE shows one; docs/scenario.md has them all):", ""]
        lines += [f"  {k:<{width}}  {doc}" for k, doc in tables.items()]
        return "\n".join(lines) + "\n"
    title, model = _all_tables()[_resolve(table)]
    doc = _plain(" ".join((model.__doc__ or "").strip().split("\n\n")[0].split()))
    lines = [f"{title}", f"  {doc}", ""]
    for name, f in model.model_fields.items():
        bounds = _bounds(f)
        default = _default(f).replace("`", "").replace("*required*", "none: required")
        lines.append(f"{name}  ({_type(f.annotation)}; default {default}" + (f"; {bounds}" if bounds else "") + ")")
        if f.description:
            lines.append(f"    {_plain(' '.join(f.description.split()))}")
    return "\n".join(lines) + "\n"


def _bounds(field) -> str:
    parts = []
    for m in field.metadata:
        if isinstance(m, Ge):
            parts.append(f"≥ {m.ge}")
        elif isinstance(m, Gt):
            parts.append(f"> {m.gt}")
        elif isinstance(m, Le):
            parts.append(f"≤ {m.le}")
        elif isinstance(m, Lt):
            parts.append(f"< {m.lt}")
    return ", ".join(parts)


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        v = field.default
    elif field.default_factory is not None:
        v = field.default_factory()
    else:
        return "*required*"
    if isinstance(v, BaseModel):
        return "(table)"
    if isinstance(v, list) and v and isinstance(v[0], BaseModel):
        return "(see below)"
    if isinstance(v, dict) and v and isinstance(next(iter(v.values())), BaseModel):
        return "(see below)"
    return "`" + json.dumps(v, ensure_ascii=False) + "`"


def render() -> str:
    """The Markdown reference of every experiment-file table."""
    out = [
        "# Experiment and policy file reference",
        "",
        "Generated by `python -m collectsim.experiments.schema_doc` from the validated schema (do not edit).",
        "An experiment file holds `[run]` and the scenario tables; every field is optional and takes the",
        "default shown. Unknown keys are errors. `collectsim check FILE` prints the resolved configuration;",
        "`collectsim schema TABLE` prints one table's fields (also of `[compare]` and `[optimize]`).",
        "",
    ]
    for title, model in _TABLES:
        doc = (model.__doc__ or "").strip().splitlines()[0]
        out += [f"## `{title}`", "", doc, "", "| field | default | bounds | description |", "| --- | --- | --- | --- |"]
        for name, f in model.model_fields.items():
            desc = (f.description or "").replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{name}` | {_default(f)} | {_bounds(f)} | {desc} |")
        out.append("")
    sc = Scenario()
    out += ["## Default segments", "", "| name | share | balance_mean | λ∞/yr | p_full | willingness | regimes | clv |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sc.segments:
        out.append(
            f"| {s.name} | {s.share} | {s.balance_mean} | {s.lambda_inf_per_year} | {s.p_full_payment} | "
            f"{s.willingness_mean} | {s.regime_shares} | {s.clv} |"
        )
    out += ["", "## Default channels", "", "| channel | cost | attempt min | connect min | handle min | connect | right party | effect | irritation | complaint weight | opt-out | team |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, c in sc.channels.items():
        out.append(
            f"| {name} | {c.cost_per_contact} | {c.attempt_minutes} | {c.connect_minutes} | {c.handle_minutes} | "
            f"{c.connect} | {c.right_party} | {c.effect} | "
            f"{c.irritation} | {c.complaint_weight} | {c.optout_prob} | {c.team or '—'} |"
        )
    out += ["", "## Default teams", "", "| team | headcount | per 100k accounts | minutes/day | skill | cost/day |", "| --- | --- | --- | --- | --- | --- |"]
    for t in sc.teams:
        out.append(f"| {t.name} | {t.headcount if t.headcount is not None else '—'} | {t.headcount_per_100k} | {t.minutes_per_day} | {t.skill_mean} ± {t.skill_sd} | {t.cost_per_day} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
