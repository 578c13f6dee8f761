"""What every page kind shares: reading the folder's files, provenance, small formats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import tomli_w

from collectsim.errors import InputError
from collectsim.experiments.folders import write_text_atomic as write_text

__all__ = ["read_json", "write_text_atomic", "provenance_rows", "seeds_text", "toml_text"]

def read_json(path: Path) -> dict:
    """A JSON object from ``path``, or a one-line InputError."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read JSON ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data

def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a unique temporary name, then rename it into place; a destination
    that is a symbolic link is refused (:func:`collectsim.experiments.folders.write_atomic`)."""
    write_text(path, text)

def provenance_rows(meta: dict) -> list[list[str]]:
    """The provenance table's rows (version, commit, hash, seeds, sizes, time, command, libraries)."""
    keys = [
        ("collectsim_version", "collectsim version"),
        ("git_commit", "git commit"),
        ("config_hash", "configuration hash"),
        ("seeds", "seeds"),
        ("seed", "seed"),
        ("experiment", "experiment"),
        ("source", "experiment file"),
        ("accounts", "accounts"),
        ("days", "days"),
        ("simulations", "simulations"),
        ("jobs", "jobs"),
        ("wall_seconds", "wall time (s)"),
        ("created_utc", "created (UTC)"),
        ("command", "command"),
        ("python", "Python"),
        ("mesa", "Mesa"),
        ("numpy", "NumPy"),
        ("pandas", "pandas"),
        ("optuna", "Optuna"),
    ]
    rows = []
    for k, label in keys:
        if k not in meta or meta[k] in (None, ""):
            continue
        v = meta[k]
        if k == "seeds" and isinstance(v, list):
            v = seeds_text(v)
        elif k == "wall_seconds":
            v = f"{float(v):.1f}"
        elif isinstance(v, int) and not isinstance(v, bool):
            v = f"{v:,}" if k in ("accounts", "simulations") else str(v)
        rows.append([(label, "l"), (str(v), "l")])
    return rows

def seeds_text(seeds: Sequence[int]) -> str:
    """Seeds as text: a run as "a–b (n seeds)", else a list."""
    s = list(seeds)
    if s and s == list(range(s[0], s[0] + len(s))):
        return f"{s[0]}–{s[-1]} ({len(s)} seeds)" if len(s) > 1 else str(s[0])
    return ", ".join(map(str, s))

def toml_text(data: dict) -> str:
    """``data`` as TOML text (JSON when it does not fit TOML)."""
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):
        return json.dumps(data, indent=2)
