"""Reading a collections history folder (``docs/data.md``) and refusing what is wrong with it.

Each table is read with pyarrow (CSV or Parquet) and checked column by column with numpy —
no loop over rows. Every problem is an :class:`~collectsim.errors.InputError` of one line
naming the table file, the column and the first bad row (``row 1`` is the first data row).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.history.schema import TABLES, Column, Table, looks_personal

__all__ = ["History", "read_history"]

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class History:
    """A validated history: one pandas DataFrame per table (days as integers from day 0,
    money in currency units, categories as pandas Categoricals whose categories are the schema's values, in its order), the window ``days`` (days 0 … days − 1)
    and ``history.toml``'s other settings in ``meta``."""

    accounts: pd.DataFrame
    payments: pd.DataFrame
    contacts: pd.DataFrame
    outcomes: pd.DataFrame
    days: int
    meta: dict = field(default_factory=dict)


def _file(folder: Path, table: Table) -> Path | None:
    found = [folder / f"{table.name}{ext}" for ext in (".csv", ".parquet") if (folder / f"{table.name}{ext}").is_file()]
    if len(found) > 1:
        raise InputError(f"{folder}: both {found[0].name} and {found[1].name}: give each table once")
    if not found:
        if table.required:
            raise InputError(f"{folder}: no {table.name}.csv or {table.name}.parquet (a history needs the "
                             f"{table.name} table, docs/data.md)")
        return None
    return found[0]


def _read_table(path: Path):
    import pyarrow as pa  # lazy: start-up time
    import pyarrow.csv as pacsv  # lazy: start-up time
    import pyarrow.parquet as pq  # lazy: start-up time

    try:
        if path.suffix == ".csv":
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        else:
            table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path.name}: cannot be read: {str(e).splitlines()[0]}") from None
    return table


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask)) + 1


def _column(name: str, col: Column, arrow, start: dt.date | None) -> np.ndarray:
    """One column as numpy, checked against its kind; ``name`` is ``file: column 'x'``."""
    import pyarrow as pa  # lazy: start-up time
    import pyarrow.compute as pc  # lazy: start-up time

    arr = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
    nulls = np.asarray(arr.is_null())
    if col.required and nulls.any():
        raise InputError(f"{name}: row {_first(nulls)} is empty (the column is required)")
    t = arr.type
    if col.kind == "day" and (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_date(t)
                              or pa.types.is_timestamp(t)):
        if start is None:
            raise InputError(f"{name}: dates need start_date in history.toml (the date of day 0)")
        try:
            d = pc.cast(arr, pa.date32()) if not pa.types.is_date32(t) else arr
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = [i for i, v in enumerate(arr.to_pylist()) if v is not None and not _is_date(v)]
            raise InputError(f"{name}: row {bad[0] + 1} = {arr[bad[0]].as_py()!r} is not a date (YYYY-MM-DD)") \
                from None
        days = np.asarray(d.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
        out = (days - np.datetime64(start, "D")).astype(np.int64)
        out[nulls] = -1
        if (out[~nulls] < 0).any():
            i = _first((out < 0) & ~nulls)
            raise InputError(f"{name}: row {i} = {arr[i - 1].as_py()} is before start_date {start}")
        return out
    if col.kind in ("id", "day", "int"):
        if not (pa.types.is_integer(t) or pa.types.is_null(t)):
            if pa.types.is_floating(t):
                v = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
                frac = ~nulls & (v != np.round(v))
                if frac.any():
                    raise InputError(f"{name}: row {_first(frac)} = {v[frac][0]!r} is not a whole number")
                out = np.where(nulls, 0, v).astype(np.int64)
            else:
                raise InputError(f"{name}: {_not_a_number(arr, nulls)} is not a whole number")
        else:
            out = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        low = 0 if col.kind in ("id", "day") else col.low
        if low is not None and (out[~nulls] < low).any():
            i = _first((out < low) & ~nulls)
            raise InputError(f"{name}: row {i} = {out[i - 1]} is below {low:g}")
        if col.high is not None and (out[~nulls] > col.high).any():
            i = _first((out > col.high) & ~nulls)
            raise InputError(f"{name}: row {i} = {out[i - 1]} is above {col.high:g}")
        if not col.required:
            out = np.where(nulls, -1, out)
        return out
    if col.kind in ("money", "float"):
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t)):
            raise InputError(f"{name}: {_not_a_number(arr, nulls)} is not a number")
        v = np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = ~nulls & ~np.isfinite(v)
        if bad.any():
            raise InputError(f"{name}: row {_first(bad)} = {v[bad][0]} is not a finite number")
        if col.kind == "money" and (v[~nulls] < 0).any():
            i = _first((v < 0) & ~nulls)
            raise InputError(f"{name}: row {i} = {v[i - 1]:g} is negative (money is >= 0)")
        return np.where(nulls, np.nan, v)
    if col.kind == "bool":
        if pa.types.is_boolean(t):
            return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        if pa.types.is_integer(t):
            v = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False))
            bad = ~np.isin(v, (0, 1))
            if bad.any():
                raise InputError(f"{name}: row {_first(bad)} = {v[bad][0]} is not a boolean (true/false or 1/0)")
            return v.astype(bool)
        raise InputError(f"{name}: must hold booleans (true/false or 1/0), not {t}")
    if col.kind == "category":
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)):
            raise InputError(f"{name}: must hold one of {', '.join(col.values)}, not {t}")
        text = pc.cast(arr, pa.string())
        codes = pc.index_in(text, value_set=pa.array(list(col.values), pa.string()))
        codes = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int8)
        bad = (codes < 0) & ~nulls
        if bad.any():
            i = _first(bad)
            raise InputError(f"{name}: row {i} = {text[i - 1].as_py()!r} is not one of {', '.join(col.values)}")
        return pd.Categorical.from_codes(codes, categories=list(col.values))
    raise AssertionError(col.kind)


def _not_a_number(arr, nulls: np.ndarray) -> str:
    """``row i = 'x'``: the first value of a text column that is not a number."""
    v = pd.to_numeric(pd.Series(arr.to_pylist(), dtype=object), errors="coerce").to_numpy()
    bad = np.isnan(v.astype(np.float64)) & ~nulls
    i = _first(bad) if bad.any() else 1
    return f"row {i} = {arr[i - 1].as_py()!r}"


def _is_date(v) -> bool:
    try:
        dt.date.fromisoformat(str(v))
        return True
    except ValueError:
        return False


def _meta(folder: Path) -> dict:
    path = folder / "history.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: cannot be read: {e}") from None
    allowed = {"days", "start_date", "currency", "source", "generated_by"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise InputError(f"history.toml: {extra[0]!r} is not a setting (allowed: {', '.join(sorted(allowed))})")
    if "days" in data and (not isinstance(data["days"], int) or isinstance(data["days"], bool) or data["days"] < 1):
        raise InputError(f"history.toml: days = {data['days']!r}: must be a whole number >= 1")
    if "start_date" in data:
        v = data["start_date"]
        if isinstance(v, str) and _is_date(v):
            data["start_date"] = dt.date.fromisoformat(v)
        elif not isinstance(v, dt.date) or isinstance(v, dt.datetime):
            raise InputError(f"history.toml: start_date = {v!r}: must be a date (YYYY-MM-DD)")
    return data


def read_history(folder: str | Path, *, ignore_extra_columns: bool = False) -> History:
    """Read and validate a history folder (``docs/data.md``).

    Refused, each with one line naming the table, column and row: a missing table or
    required column; a column outside the schema (unless ``ignore_extra_columns``); a column
    that looks like personal data (always); an empty table; a mistyped, empty, negative,
    out-of-range or unknown value; a duplicate account; a payment, contact or outcome of an
    unknown account; a payment or contact before its account's entry day or outside the
    history window; an arrears above the balance; a payment of 0; a second outcome of an
    account.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (a history is a folder of tables, docs/data.md)")
    meta = _meta(folder)
    start = meta.get("start_date")
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for table in TABLES:
        path = _file(folder, table)
        files[table.name] = path.name if path is not None else table.name
        if path is None:
            frames[table.name] = pd.DataFrame({c.name: pd.Series(dtype=object) for c in table.columns if c.required})
            continue
        arrow = _read_table(path)
        names = list(arrow.column_names)
        personal = [n for n in names if looks_personal(n)]
        if personal:
            raise InputError(f"{path.name}: column {personal[0]!r} looks like personal data; collectsim never needs "
                             f"names, phone numbers, national IDs, e-mail or postal addresses: remove "
                             f"{'it' if len(personal) == 1 else 'them: ' + ', '.join(map(repr, personal))}")
        known = {c.name for c in table.columns}
        extra = [n for n in names if n not in known]
        if extra and not ignore_extra_columns:
            raise InputError(f"{path.name}: column {extra[0]!r} is not in the schema of {table.name} (docs/data.md: "
                             f"{', '.join(c.name for c in table.columns)}); remove it or pass --ignore-extra-columns")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InputError(f"{path.name}: column {dup!r} appears twice")
        missing = [c.name for c in table.columns if c.required and c.name not in names]
        if missing:
            raise InputError(f"{path.name}: column {missing[0]!r} is missing (required: "
                             f"{', '.join(c.name for c in table.columns if c.required)})")
        if arrow.num_rows == 0:
            raise InputError(f"{path.name}: the table is empty")
        frames[table.name] = pd.DataFrame({
            c.name: _column(f"{path.name}: column {c.name!r}", c, arrow.column(c.name), start)
            for c in table.columns if c.name in names
        })
    h = History(frames["accounts"], frames["payments"], frames["contacts"], frames["outcomes"], 0, meta)
    _cross_checks(files, h)
    return h


def _cross_checks(suffix: dict[str, str], h: History) -> None:
    """Checks across rows and tables (``suffix``: each table's file name); sets ``h.days``."""
    acc = h.accounts
    ids = acc["account"].to_numpy()
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(dup):
        i = int(order[dup[0] + 1]) + 1
        raise InputError(f"{suffix['accounts']}: column 'account': row {i} = {ids[i - 1]} repeats an account "
                         f"(each account once)")
    over = acc["arrears"].to_numpy() > acc["balance"].to_numpy() + 1e-9
    if over.any():
        i = _first(over)
        raise InputError(f"{suffix['accounts']}: column 'arrears': row {i} = {acc['arrears'].iloc[i - 1]:g} is above "
                         f"the balance {acc['balance'].iloc[i - 1]:g}")
    last = [int(acc["entry_day"].max())]
    for name in ("payments", "contacts", "outcomes"):
        df = getattr(h, name)
        if len(df):
            last.append(int(df["day"].max()))
    days = h.meta.get("days", max(last) + 1)
    sorted_ids = ids[order]
    entry_sorted = acc["entry_day"].to_numpy()[order]
    for name in ("payments", "contacts", "outcomes"):
        df = getattr(h, name)
        if not len(df):
            continue
        a = df["account"].to_numpy()
        pos = np.clip(np.searchsorted(sorted_ids, a), 0, len(sorted_ids) - 1)
        unknown = sorted_ids[pos] != a
        if unknown.any():
            i = _first(unknown)
            raise InputError(f"{suffix[name]}: column 'account': row {i} = {a[i - 1]} is not in accounts")
        d = df["day"].to_numpy()
        early = d < entry_sorted[pos]
        if early.any():
            i = _first(early)
            raise InputError(f"{suffix[name]}: column 'day': row {i} = {d[i - 1]} is before account {a[i - 1]}'s "
                             f"entry day {entry_sorted[pos][i - 1]}")
        late = d >= days
        if late.any():
            i = _first(late)
            raise InputError(f"{suffix[name]}: column 'day': row {i} = {d[i - 1]} is outside the history window "
                             f"(days 0..{days - 1}, history.toml days = {days})")
    if len(h.payments) and (h.payments["amount"].to_numpy() <= 0).any():
        i = _first(h.payments["amount"].to_numpy() <= 0)
        raise InputError(f"{suffix['payments']}: column 'amount': row {i} = 0 (a payment is > 0)")
    if len(h.outcomes):
        a = h.outcomes["account"].to_numpy()
        o = np.argsort(a, kind="stable")
        rep = np.flatnonzero(a[o][1:] == a[o][:-1])
        if len(rep):
            i = int(o[rep[0] + 1]) + 1
            raise InputError(f"{suffix['outcomes']}: column 'account': row {i} = {a[i - 1]} has a second outcome")
    h.days = int(days)
