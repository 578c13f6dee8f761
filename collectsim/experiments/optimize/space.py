"""The search space of the optimizer, as data: rule-table fields per risk tier × DPD bucket.

A rule-table policy (:mod:`collectsim.policies.rule_table`) is a list of cells, first match
wins. For searching, a table is seen as its *grid*: one cell per (tier, bucket) pair, the
cell that pair actually gets (or none). A :class:`Parameter` sets one field (say
``call_per_week``) on a set of grid points picked by tiers and buckets; one parameter on
many points ties those points together, which is how the space stays small. Parameters
are searched (a range or a list of choices), fixed (``value``) or tied to another parameter
(``tie``, optionally scaled).

:class:`SearchSpace` converts in both directions:

* ``suggest(trial)`` asks an Optuna trial for every searched parameter
  (``trial.suggest_float`` / ``suggest_int`` / ``suggest_categorical``);
* ``to_spec(params)`` writes the values into the base table's grid and compresses the grid
  back into a small, readable :class:`~collectsim.policies.rule_table.RuleTableSpec`
  (cells with identical settings merged), which behaves exactly like the grid;
* ``params_of(spec)`` finds the parameter values that reproduce a given table (``None``
  when the table lies outside the space) — used to place the champion in the study.

Grid points that no base cell covers are not contacted; a parameter that targets them
creates a cell there with :class:`~collectsim.policies.rule_table.Cell` defaults (no
contact) and its own field set.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from collectsim.errors import InputError
from collectsim.experiments.optimize.settings import OptimizeSettings, ParamSpec
from collectsim.policies.cgw import CGWThresholdPolicy
from collectsim.policies.rule_table import FREQUENCY_FIELDS, Cell, RuleTablePolicy, RuleTableSpec
from collectsim.vocabulary.accounts import BUCKETS

__all__ = [
    "FieldInfo",
    "FIELDS",
    "CELL_FIELDS",
    "TABLE_FIELDS",
    "Parameter",
    "SearchSpace",
    "SpecSpace",
    "expand_grid",
    "compress_grid",
    "spec_key",
]

_SELECTOR = ("tiers", "buckets")
_EPS = 1e-9


@dataclass(frozen=True)
class FieldInfo:
    """What values a rule-table field takes.

    Attributes
    ----------
    name:
        Field name.
    kind:
        ``float``, ``int``, ``categorical`` (a fixed list of strings) or ``bool``.
    low, high:
        Bounds of a numeric field (inclusive), from the policy schema.
    choices:
        Allowed values of a categorical or bool field.
    table:
        True for table-level fields (``priority``, ``pause_on_promise``, ...), which take no
        tier/bucket selector.
    """

    name: str
    kind: Literal["float", "int", "categorical", "bool"]
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    table: bool = False

    @property
    def numeric(self) -> bool:
        """True for float and int fields."""
        return self.kind in ("float", "int")

    def check(self, v: Any) -> str | None:
        """Why ``v`` is not a valid value of this field (None if it is)."""
        if self.kind == "bool":
            return None if isinstance(v, bool) else "must be true or false"
        if self.kind == "categorical":
            return None if v in self.choices else f"must be one of {', '.join(map(str, self.choices))}"
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return "must be a number"
        if self.kind == "int" and float(v) != int(v):
            return "must be a whole number"
        if not (self.low - _EPS <= float(v) <= self.high + _EPS):
            return f"must be in [{_fmt(self.low)}, {_fmt(self.high)}]"
        return None

    def cast(self, v: Any) -> Any:
        """``v`` in the field's type (ints rounded, floats rounded to 10 decimals)."""
        if self.kind == "int":
            return int(round(float(v)))
        if self.kind == "float":
            return round(float(v), 10)
        return v


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _field_info(model: type, name: str, table: bool) -> FieldInfo:
    f = model.model_fields[name]
    ann = f.annotation
    if typing.get_origin(ann) is Literal:
        return FieldInfo(name, "categorical", choices=tuple(typing.get_args(ann)), table=table)
    if ann is bool:
        return FieldInfo(name, "bool", choices=(True, False), table=table)
    low = high = None
    for m in f.metadata:
        if isinstance(m, annotated_types.Ge):
            low = float(m.ge)
        elif isinstance(m, annotated_types.Le):
            high = float(m.le)
    kind = "int" if ann is int else "float"
    return FieldInfo(name, kind, low=low, high=high, table=table)


#: Cell-level fields (per tier × bucket), read from :class:`Cell`'s schema.
CELL_FIELDS: dict[str, FieldInfo] = {
    n: _field_info(Cell, n, False) for n in Cell.model_fields if n not in _SELECTOR
}
#: Table-level fields (one value for the whole table), from :class:`RuleTableSpec`.
TABLE_FIELDS: dict[str, FieldInfo] = {
    n: _field_info(RuleTableSpec, n, True)
    for n in RuleTableSpec.model_fields
    if n not in ("name", "kind", "cells")
}
#: Every field a parameter may set.
FIELDS: dict[str, FieldInfo] = {**CELL_FIELDS, **TABLE_FIELDS}


# --------------------------------------------------------------------------- grid <-> table

Grid = list[list[Cell | None]]


def expand_grid(spec: RuleTableSpec, tier_names: tuple[str, ...] | list[str]) -> Grid:
    """The cell each (tier, bucket) pair gets under ``spec`` (first match wins; None: no cell).

    Raises :class:`InputError` for a tier name the scenario does not have (as
    :meth:`RuleTablePolicy.prepare` does).
    """
    tier_names = tuple(tier_names)
    RuleTablePolicy(spec).prepare(tier_names)  # same checks and messages as a run
    grid: Grid = [[None] * len(BUCKETS) for _ in tier_names]
    for cell in spec.cells:
        tiers = range(len(tier_names)) if cell.tiers == "*" else [tier_names.index(t) for t in cell.tiers]
        buckets = range(len(BUCKETS)) if cell.buckets == "*" else [BUCKETS.index(b) for b in cell.buckets]
        for t in tiers:
            for b in buckets:
                if grid[t][b] is None:
                    grid[t][b] = cell
    return grid


def _content(cell: Cell) -> tuple:
    d = cell.model_dump(mode="json", exclude=set(_SELECTOR))
    return tuple(sorted(d.items()))


def compress_grid(
    grid: Grid, tier_names: tuple[str, ...] | list[str], **table: Any
) -> RuleTableSpec:
    """A small rule table equivalent to ``grid``: grid points with identical settings share
    a cell; cells are disjoint, so their order does not matter.

    ``table`` holds the table-level fields (``name``, ``priority``, ...).
    """
    tier_names = tuple(tier_names)
    nb = len(BUCKETS)
    groups: dict[tuple, dict[int, list[int]]] = {}
    first: dict[tuple, tuple[int, int]] = {}
    for t in range(len(tier_names)):
        for b in range(nb):
            cell = grid[t][b]
            if cell is None:
                continue
            key = _content(cell)
            groups.setdefault(key, {}).setdefault(t, []).append(b)
            first.setdefault(key, (t, b))
    cells: list[tuple[tuple[int, int], Cell]] = []
    for key, by_tier in groups.items():
        # tiers with the same bucket set share one cell
        by_buckets: dict[tuple[int, ...], list[int]] = {}
        for t, bs in by_tier.items():
            by_buckets.setdefault(tuple(bs), []).append(t)
        for bs, ts in by_buckets.items():
            tiers: list[str] | str = "*" if len(ts) == len(tier_names) else [tier_names[t] for t in ts]
            buckets: list[str] | str = "*" if len(bs) == nb else [BUCKETS[b] for b in bs]
            cells.append(((min(ts), min(bs)), Cell(tiers=tiers, buckets=buckets, **dict(key))))
    cells.sort(key=lambda x: x[0])
    return RuleTableSpec(cells=[c for _, c in cells], **table)


def spec_key(spec: RuleTableSpec, tier_names: tuple[str, ...] | list[str]) -> str:
    """A canonical key of what a table *does* (its grid and table fields, not its name or
    cell layout): two tables with the same key behave identically."""
    grid = expand_grid(spec, tier_names)
    data = {
        "grid": [[None if c is None else dict(_content(c)) for c in row] for row in grid],
        "table": spec.model_dump(mode="json", exclude={"name", "kind", "cells"}),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Parameter:
    """One parameter of the search space.

    Attributes
    ----------
    name:
        Name (the Optuna parameter name for searched parameters).
    field:
        The rule-table field it sets (see :data:`FIELDS`).
    points:
        Grid points ``(tier index, bucket index)`` it sets; empty for table-level fields.
    mode:
        ``range``, ``choices``, ``fixed`` or ``tie``.
    low, high, step, log:
        Numeric range (``mode == "range"``).
    choices:
        Values to choose from (``mode == "choices"``).
    value:
        The fixed value (``mode == "fixed"``).
    tie, scale:
        Name of the parameter copied and the multiplier (``mode == "tie"``).
    """

    name: str
    field: str
    points: tuple[tuple[int, int], ...]
    mode: Literal["range", "choices", "fixed", "tie"]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple | None = None
    value: Any = None
    tie: str | None = None
    scale: float | None = None
    #: the field's :class:`FieldInfo` when it is not a rule-table field (a :class:`SpecSpace` parameter)
    finfo: FieldInfo | None = None

    @property
    def info(self) -> FieldInfo:
        """The field's :class:`FieldInfo`."""
        return self.finfo if self.finfo is not None else FIELDS[self.field]

    @property
    def searched(self) -> bool:
        """True if the optimizer chooses this parameter's value."""
        return self.mode in ("range", "choices")

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution of a searched parameter."""
        if self.mode == "choices":
            return CategoricalDistribution(list(self.choices))
        if self.info.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial) -> Any:
        """Ask ``trial`` (an :class:`optuna.Trial`) for a value."""
        if self.mode == "choices":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.info.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        v = trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)
        return self.info.cast(v)

    def contains(self, v: Any) -> bool:
        """True if ``v`` is a value this (searched) parameter can take."""
        if self.mode == "choices":
            return any(_same(v, c) for c in self.choices)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        if not self.low - _EPS <= v <= self.high + _EPS:
            return False
        if self.step:
            k = (v - self.low) / self.step
            return abs(k - round(k)) < 1e-6
        return True

    def lowest(self) -> Any:
        """The smallest value this parameter can take (numeric), else None."""
        if self.mode == "range":
            return self.info.cast(self.low)
        if self.mode == "choices" and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in self.choices):
            return min(self.choices)
        return None

    def highest(self) -> Any:
        """The largest value this parameter can take (numeric), else None."""
        if self.mode == "range":
            return self.info.cast(self.high)
        if self.mode == "choices" and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in self.choices):
            return max(self.choices)
        return None


def _indices(chosen: list[str] | str, allowed: list[str], where: str, noun: str, plural: str) -> list[int]:
    """Indices into ``allowed`` of the names ``chosen`` ('*': all); InputError naming the
    field for an empty list or an unknown name."""
    if chosen == "*":
        return list(range(len(allowed)))
    if not chosen:
        raise InputError(f"{where} = []: empty; list {plural} or use '*'")
    for name in chosen:
        if name not in allowed:
            raise InputError(f"{where}: unknown {noun} {name!r}; allowed: {', '.join(allowed)} or '*'")
    return [allowed.index(name) for name in chosen]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def _auto_name(p: ParamSpec) -> str:
    if p.field in TABLE_FIELDS:
        return p.field
    tiers = "*" if p.tiers == "*" else "+".join(p.tiers)
    buckets = "*" if p.buckets == "*" else "+".join(p.buckets)
    return f"{p.field}@{tiers}:{buckets}"


class SearchSpace:
    """Parameters over a base rule table (see the module docstring).

    Parameters
    ----------
    base:
        The rule table the parameters modify (usually the champion's).
    tier_names:
        The scenario's risk tier names (riskiest first).
    parameters:
        The parameters, in declaration order.

    Use :meth:`from_settings` to build one from an experiment's ``[optimize]`` table with
    full validation.
    """

    def __init__(self, base: RuleTableSpec, tier_names: tuple[str, ...] | list[str], parameters: list[Parameter]) -> None:
        self.base = base
        self.tier_names = tuple(tier_names)
        self.parameters = list(parameters)
        self.by_name = {p.name: p for p in self.parameters}
        self._base_grid = expand_grid(base, self.tier_names)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_settings(
        cls,
        settings: OptimizeSettings,
        tier_names: tuple[str, ...] | list[str],
        base: RuleTableSpec,
        *,
        source: str = "",
    ) -> SearchSpace:
        """Validate ``settings.params`` against the scenario's tiers and the field schema.

        Every problem raises :class:`InputError` with one line naming the parameter, the
        field, the value and what is allowed: unknown field, tier or bucket, empty range
        (low > high), a step that does not divide the range, values outside the field's
        bounds, bad choices, duplicate names, two parameters setting the same field on the
        same cell, ties to unknown parameters or in a cycle, and an empty space.
        """
        tier_names = tuple(tier_names)
        pre = f"{source}: " if source else ""
        specs = settings.params
        if not specs:
            raise InputError(f"{pre}optimize.params: empty search space; add at least one [[optimize.params]] table")
        params: list[Parameter] = []
        seen_names: set[str] = set()
        owner: dict[tuple[str, tuple[int, int] | None], str] = {}
        for i, p in enumerate(specs):
            where = f"{pre}optimize.params[{i}]"
            if p.field not in FIELDS:
                raise InputError(
                    f"{where}.field = {p.field!r}: unknown field; allowed: {', '.join(FIELDS)}"
                )
            info = FIELDS[p.field]
            name = p.name or _auto_name(p)
            where = f"{where} ({name})"
            if name in seen_names:
                raise InputError(f"{where}.name = {name!r}: duplicate parameter name; give each a distinct name")
            seen_names.add(name)
            # --- selector
            if info.table:
                if p.tiers != "*" or p.buckets != "*":
                    raise InputError(f"{where}: field {p.field!r} applies to the whole table; remove tiers/buckets")
                points: tuple[tuple[int, int], ...] = ()
                keys: list[tuple[int, int] | None] = [None]
            else:
                tiers = _indices(p.tiers, list(tier_names), f"{where}.tiers", "tier", "tier names")
                buckets = _indices(p.buckets, list(BUCKETS), f"{where}.buckets", "bucket", "buckets")
                points = tuple((t, b) for t in sorted(set(tiers)) for b in sorted(set(buckets)))
                keys = list(points)
            for k in keys:
                other = owner.get((p.field, k))
                if other is not None:
                    cell = "the table" if k is None else f"{tier_names[k[0]]}/{BUCKETS[k[1]]}"
                    raise InputError(
                        f"{where}: sets {p.field} on {cell}, which parameter {other!r} already sets; "
                        "narrow the tiers/buckets or tie the two"
                    )
                owner[(p.field, k)] = name
            params.append(cls._parameter(p, name, info, points, where))
        space = cls(base, tier_names, params)
        space._check_ties(pre)
        if not any(q.searched for q in params):
            raise InputError(
                f"{pre}optimize.params: no parameter is searched (all fixed or tied); give one a low/high range or choices"
            )
        return space

    @staticmethod
    def _parameter(p: ParamSpec, name: str, info: FieldInfo, points, where: str) -> Parameter:
        common = dict(name=name, field=p.field, points=points)
        if p.value is not None:
            why = info.check(p.value)
            if why:
                raise InputError(f"{where}.value = {p.value!r}: {why}")
            return Parameter(mode="fixed", value=info.cast(p.value), **common)
        if p.tie is not None:
            return Parameter(mode="tie", tie=p.tie, scale=p.scale, **common)
        if p.choices is not None:
            if len({json.dumps(c) for c in p.choices}) != len(p.choices):
                raise InputError(f"{where}.choices = {p.choices!r}: values must be distinct")
            for c in p.choices:
                why = info.check(c)
                if why:
                    raise InputError(f"{where}.choices: {c!r} {why}")
            return Parameter(mode="choices", choices=tuple(info.cast(c) for c in p.choices), **common)
        # numeric range
        if not info.numeric:
            raise InputError(
                f"{where}: field {p.field!r} is not numeric; use choices = [...] (allowed: "
                f"{', '.join(map(str, info.choices))})"
            )
        low, high, step = float(p.low), float(p.high), p.step
        if low > high:
            raise InputError(f"{where}: empty range: low = {_fmt(low)} > high = {_fmt(high)}")
        for label, v in (("low", low), ("high", high)):
            why = info.check(int(v) if info.kind == "int" and v.is_integer() else v)
            if why:
                raise InputError(f"{where}.{label} = {_fmt(v)}: {p.field} {why}")
        if p.log:
            if step is not None:
                raise InputError(f"{where}: log = true cannot be combined with step")
            if low <= 0:
                raise InputError(f"{where}.low = {_fmt(low)}: a log-scale range needs low > 0")
        if info.kind == "int" and step is not None and not float(step).is_integer():
            raise InputError(f"{where}.step = {step:g}: {p.field} takes whole numbers; use a whole step")
        if step is not None:
            k = (high - low) / step
            if abs(k - round(k)) > 1e-6:
                raise InputError(
                    f"{where}.step = {step:g}: does not divide the range {_fmt(low)}..{_fmt(high)} "
                    f"(high − low = {_fmt(high - low)}); choose a step that does"
                )
        if low == high:
            raise InputError(f"{where}: low = high = {_fmt(low)}: nothing to search; use value = {_fmt(low)} to fix it")
        return Parameter(mode="range", low=low, high=high, step=step, log=p.log, **common)

    def _check_ties(self, pre: str) -> None:
        for i, p in enumerate(self.parameters):
            if p.mode != "tie":
                continue
            where = f"{pre}optimize.params[{i}] ({p.name})"
            seen = [p.name]
            q = p
            while q.mode == "tie":
                if q.tie not in self.by_name:
                    raise InputError(
                        f"{where}.tie = {q.tie!r}: no such parameter; allowed: "
                        f"{', '.join(n for n in self.by_name if n != p.name)}"
                    )
                q = self.by_name[q.tie]
                if q.name in seen:
                    raise InputError(f"{where}.tie: ties form a cycle ({' -> '.join(seen + [q.name])})")
                seen.append(q.name)
            # q is the root: every value it can take, scaled, must suit p's field
            values = _root_values(q)
            if p.scale is not None and (not p.info.numeric or not q.info.numeric):
                raise InputError(f"{where}.scale: only numeric fields can be scaled ({p.field} tied to {q.field})")
            scale = 1.0
            r = p
            while r.mode == "tie":  # product of scales along the chain
                scale *= r.scale or 1.0
                r = self.by_name[r.tie]
            for v in values:
                vv = v * scale if (scale != 1.0 and isinstance(v, (int, float)) and not isinstance(v, bool)) else v
                why = p.info.check(p.info.cast(vv) if p.info.numeric and isinstance(vv, (int, float)) else vv)
                if why:
                    raise InputError(
                        f"{where}.tie = {p.tie!r}: the tied value {vv!r} is not valid for {p.field} ({why})"
                    )

    # ---------------------------------------------------------------- conversions
    @property
    def searched(self) -> list[Parameter]:
        """The parameters the optimizer chooses."""
        return [p for p in self.parameters if p.searched]

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna distributions of the searched parameters, by name."""
        return {p.name: p.distribution() for p in self.searched}

    def suggest(self, trial) -> dict[str, Any]:
        """Ask an Optuna trial for every searched parameter; return ``{name: value}``."""
        return {p.name: p.suggest(trial) for p in self.searched}

    def clean(self, params: dict[str, Any]) -> dict[str, Any]:
        """Searched-parameter values in their field's type (float steps rounded: 0.15, not
        0.15000000000000002), as Optuna stores them otherwise."""
        out = {}
        for k, v in params.items():
            p = self.by_name.get(k)
            out[k] = p.info.cast(v) if p is not None and p.info.numeric else v
        return out

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """Values of *all* parameters (searched from ``params``, fixed, and tied)."""
        missing = [p.name for p in self.searched if p.name not in params]
        if missing:
            raise InputError(f"params: missing value for {missing[0]!r}")
        out: dict[str, Any] = {}

        def value(p: Parameter) -> Any:
            if p.name in out:
                return out[p.name]
            if p.mode == "fixed":
                v = p.value
            elif p.mode == "tie":
                v = value(self.by_name[p.tie])
                if p.scale is not None:
                    v = v * p.scale
                v = p.info.cast(v) if p.info.numeric else v
            else:
                v = p.info.cast(params[p.name]) if p.info.numeric else params[p.name]
            out[p.name] = v
            return v

        for p in self.parameters:
            value(p)
        return out

    def to_spec(self, params: dict[str, Any], name: str = "candidate") -> RuleTableSpec:
        """The rule table for parameter values ``params`` (searched ones; the rest follow)."""
        values = self.resolve(params)
        edits: dict[tuple[int, int], dict[str, Any]] = {}
        table = self.base.model_dump(mode="json", exclude={"cells", "kind"})
        table["name"] = name
        for p in self.parameters:
            v = values[p.name]
            if p.info.table:
                table[p.field] = v
            else:
                for pt in p.points:
                    edits.setdefault(pt, {})[p.field] = v
        grid: Grid = [row[:] for row in self._base_grid]
        for (t, b), upd in edits.items():
            cell = grid[t][b]
            base = cell.model_dump() if cell is not None else Cell().model_dump()
            base.update(upd)
            base.update(tiers=[self.tier_names[t]], buckets=[BUCKETS[b]])
            grid[t][b] = Cell.model_validate(base)
        return compress_grid(grid, self.tier_names, **table)

    def policy(self, params: dict[str, Any], name: str = "candidate") -> RuleTablePolicy:
        """The :class:`RuleTablePolicy` for parameter values ``params``."""
        return RuleTablePolicy(self.to_spec(params, name))

    def params_of(self, spec: RuleTableSpec) -> dict[str, Any] | None:
        """Searched-parameter values that reproduce ``spec`` exactly, or None if it lies outside
        the space (a value off the range or step, different values on cells one parameter
        ties together, or settings no parameter can change)."""
        grid = expand_grid(spec, self.tier_names)
        out: dict[str, Any] = {}
        for p in self.searched:
            if p.info.table:
                vals = [getattr(spec, p.field)]
            else:
                vals = [getattr(grid[t][b] if grid[t][b] is not None else Cell(), p.field) for t, b in p.points]
            v = vals[0]
            if any(not _same(v, w) for w in vals[1:]) or not p.contains(v):
                return None
            out[p.name] = p.info.cast(v) if p.info.numeric else v
        if spec_key(self.to_spec(out), self.tier_names) != spec_key(spec, self.tier_names):
            return None
        return out

    def minimal_contact_params(self) -> dict[str, Any]:
        """The least-contact point of the space: contact frequencies at their lowest value,
        the escalation threshold (``visit_from_dpd``) at its highest, everything else as in
        the base table where it lies in the space (else the range's low end / first choice)."""
        base = self.params_of(self.base)
        out: dict[str, Any] = {}
        for p in self.searched:
            if p.field in FREQUENCY_FIELDS and p.lowest() is not None:
                out[p.name] = p.lowest()
            elif p.field == "visit_from_dpd" and p.highest() is not None:
                out[p.name] = p.highest()
            elif base is not None:
                out[p.name] = base[p.name]
            else:
                cur = self._current(p)
                out[p.name] = cur if cur is not None and p.contains(cur) else (
                    p.choices[0] if p.mode == "choices" else p.info.cast(p.low)
                )
        return out

    def _current(self, p: Parameter) -> Any:
        if p.info.table:
            return getattr(self.base, p.field)
        t, b = p.points[0]
        cell = self._base_grid[t][b]
        return getattr(cell if cell is not None else Cell(), p.field)

    def describe(self) -> list[dict[str, Any]]:
        """The parameters as plain data (for provenance and reports)."""
        return [_describe(p, None if p.info.table else [f"{self.tier_names[t]}/{BUCKETS[b]}" for t, b in p.points])
                for p in self.parameters]

    def __repr__(self) -> str:
        return f"SearchSpace({len(self.searched)} searched of {len(self.parameters)} parameters)"


def _describe(p: Parameter, cells: list[str] | None = None) -> dict[str, Any]:
    """One parameter as plain data (``cells``: the rule-table cells it sets, if any)."""
    d: dict[str, Any] = {"name": p.name, "field": p.field, "mode": p.mode}
    if cells is not None:
        d["cells"] = cells
    for k in ("low", "high", "step", "value", "tie", "scale"):
        v = getattr(p, k)
        if v is not None:
            d[k] = v
    if p.choices is not None:
        d["choices"] = list(p.choices)
    if p.log:
        d["log"] = True
    return d


def _root_values(p: Parameter) -> list:
    if p.mode == "fixed":
        return [p.value]
    if p.mode == "choices":
        return list(p.choices)
    return [p.info.cast(p.low), p.info.cast(p.high)]


class SpecSpace(SearchSpace):
    """Parameters over a *parametric* policy that is not a rule table: the numeric fields of
    its spec (today :class:`~collectsim.policies.cgw.CGWThresholdPolicy`, whose threshold
    family ``λ*(w) = a + b·√w`` is searched through ``a`` and ``b``).

    Every parameter is table-level (no ``tiers``/``buckets``); its ``field`` names a numeric
    field of the spec; ranges, steps, fixed values and ties work as for a rule table.
    ``to_spec`` returns the base spec with the values set, ``policy`` the policy built from it.
    """

    def __init__(self, base: CGWThresholdPolicy, tier_names: tuple[str, ...] | list[str],
                 parameters: list[Parameter]) -> None:
        self.base = base.spec
        self.policy_type = type(base)
        self.tier_names = tuple(tier_names)
        self.parameters = list(parameters)
        self.by_name = {p.name: p for p in self.parameters}

    @staticmethod
    def fields_of(base: CGWThresholdPolicy) -> dict[str, FieldInfo]:
        """The searchable (numeric) fields of the base policy's spec (those its ``SEARCHABLE`` names)."""
        model = type(base.spec)
        allowed = getattr(model, "SEARCHABLE", tuple(model.model_fields))
        out = {}
        for name, f in model.model_fields.items():
            if f.annotation in (float, int) and name in allowed:
                info = _field_info(model, name, True)
                lo, hi = info.low, info.high
                for m in f.metadata:  # gt/lt bounds count as the closed range for searching
                    if isinstance(m, annotated_types.Gt):
                        lo = float(m.gt)
                    elif isinstance(m, annotated_types.Lt):
                        hi = float(m.lt)
                out[name] = FieldInfo(name, info.kind, low=lo, high=hi, table=True)
        return out

    @classmethod
    def from_settings(cls, settings: OptimizeSettings, tier_names: tuple[str, ...] | list[str],
                      base: CGWThresholdPolicy, *, source: str = "") -> SpecSpace:
        """Validate ``settings.params`` against the base spec's fields (InputError naming the
        parameter, the field, the value and what is allowed)."""
        pre = f"{source}: " if source else ""
        fields = cls.fields_of(base)
        if not settings.params:
            raise InputError(f"{pre}optimize.params: empty search space; add at least one [[optimize.params]] table")
        params: list[Parameter] = []
        seen: set[str] = set()
        owner: dict[str, str] = {}
        for i, p in enumerate(settings.params):
            where = f"{pre}optimize.params[{i}]"
            if p.field not in fields:
                raise InputError(f"{where}.field = {p.field!r}: not a numeric field of policy "
                                 f"{base.name!r}; allowed: {', '.join(fields)}")
            name = p.name or p.field
            where = f"{where} ({name})"
            if name in seen:
                raise InputError(f"{where}.name = {name!r}: duplicate parameter name; give each a distinct name")
            seen.add(name)
            if p.tiers != "*" or p.buckets != "*":
                raise InputError(f"{where}: field {p.field!r} applies to the whole policy; remove tiers/buckets")
            if p.field in owner:
                raise InputError(f"{where}: sets {p.field}, which parameter {owner[p.field]!r} already sets")
            owner[p.field] = name
            info = fields[p.field]
            param = SearchSpace._parameter(p, name, info, (), where)
            params.append(dataclasses.replace(param, finfo=info))
        space = cls(base, tier_names, params)
        space._check_ties(pre)
        if not any(q.searched for q in params):
            raise InputError(
                f"{pre}optimize.params: no parameter is searched (all fixed or tied); give one a low/high range or choices"
            )
        try:
            space.to_spec(space.minimal_contact_params())
        except InputError as e:
            raise InputError(f"{pre}optimize.params: {e}") from None
        return space

    def to_spec(self, params: dict[str, Any], name: str = "candidate"):
        """The base spec with the parameter values set (validated)."""
        values = self.resolve(params)
        data = self.base.model_dump(mode="json", exclude_none=True)
        data["name"] = name
        for p in self.parameters:
            data[p.field] = values[p.name]
        try:
            return type(self.base).model_validate(data)
        except Exception as e:  # a pydantic ValidationError: one line
            raise InputError(f"policy {name!r}: {str(e).splitlines()[-1].strip()}") from None

    def policy(self, params: dict[str, Any], name: str = "candidate"):
        """The policy for parameter values ``params``."""
        return self.policy_type(self.to_spec(params, name))

    def params_of(self, spec) -> dict[str, Any] | None:
        """Searched-parameter values that reproduce ``spec`` (None if it lies outside the space)."""
        if not isinstance(spec, type(self.base)):
            return None
        out: dict[str, Any] = {}
        for p in self.searched:
            v = getattr(spec, p.field)
            if not p.contains(v):
                return None
            out[p.name] = p.info.cast(v)
        a = self.to_spec(out).model_dump(mode="json", exclude={"name"})
        return out if a == spec.model_dump(mode="json", exclude={"name"}) else None

    def minimal_contact_params(self) -> dict[str, Any]:
        """The least-effort point of the space: every searched parameter at its lowest value."""
        out = {}
        for p in self.searched:
            low = p.lowest()
            out[p.name] = low if low is not None else p.choices[0]
        return out

    def _current(self, p: Parameter) -> Any:
        return getattr(self.base, p.field)

    def describe(self) -> list[dict[str, Any]]:
        """The parameters as plain data (for provenance and reports)."""
        return [_describe(p) for p in self.parameters]

    def __repr__(self) -> str:
        return f"SpecSpace({len(self.searched)} searched of {len(self.parameters)} parameters)"
