"""Result folders that appear whole or not at all.

:func:`result_folder` yields a hidden temporary folder next to the destination; the
destination appears (by one ``rename``) only when the block finishes without error. An
existing non-empty destination is never overwritten, so nothing already written is lost.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from collectsim.errors import InputError

__all__ = ["result_folder", "default_out_dir", "write_json", "write_toml", "check_out_dir", "jsonable", "write_atomic"]


def default_out_dir(kind: str, name: str, seed: int | None = None) -> Path:
    """``results/<kind>-<name>-<timestamp>[-seed<N>]`` under the current folder."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    tail = f"-seed{seed}" if seed is not None else ""
    return Path("results") / f"{kind}-{name}-{stamp}{tail}"


def check_out_dir(out: Path) -> None:
    """Raise InputError if ``out`` cannot become a new result folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"out = {str(out)!r}: already exists and is not empty; choose a new folder")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"out = {str(out)!r}: cannot create parent folder ({e.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"out = {str(out)!r}: folder {str(parent)!r} is not writable")


@contextlib.contextmanager
def result_folder(out: str | Path) -> Iterator[Path]:
    """Context manager: write into a temporary folder that becomes ``out`` on success."""
    out = Path(out)
    check_out_dir(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as e:
        raise InputError(f"out = {str(out)!r}: cannot write there ({e.strerror})") from None
    try:
        yield tmp
        if out.exists():
            out.rmdir()  # empty by check_out_dir
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (NaN and infinities as null)."""
    path.write_text(json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


def write_toml(path: Path, data: dict) -> None:
    """Write ``data`` as TOML."""
    path.write_text(tomli_w.dumps(data))


def jsonable(x: Any) -> Any:
    """Plain JSON data from ``x``: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_atomic(path: Path, write) -> None:
    """Write a file by ``write(tmp_path)`` into a temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
