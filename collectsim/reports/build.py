"""The report a manager reads: ``report.html`` (self-contained) and ``report.md`` of a result folder.

:func:`build_report` works on any result folder — a ``collectsim compare`` folder, a
``collectsim run`` folder, a ``collectsim sweep`` folder or an optimizer folder (:func:`folder_kind`) — with one page
builder per kind (:mod:`collectsim.reports.pages`). It reads only the files in the folder,
so a report can be rebuilt at any time (``collectsim report DIR``).
"""

from __future__ import annotations

import importlib
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

from collectsim.errors import InputError
from collectsim.experiments.folders import sweep_stale
from collectsim.reports.common import write_text_atomic

__all__ = ["build_report", "folder_kind"]

# ------------------------------------------------------------------ folders ---------------
def folder_kind(folder: str | Path) -> str:
    """``compare``, ``optimize``, ``sweep``, ``calibrate`` or ``run``: what kind of result folder ``folder`` is.

    A folder is recognised by files that collectsim writes, with their content checked, not
    by their names alone: ``comparison.csv`` with a ``summary.json`` of kind ``compare``; an
    optimizer's ``experiment.json`` (its study name), a ``best_policy.toml`` with a
    ``[policy]`` table, a ``validation.json`` or a ``trials.csv`` whose header has the
    optimizer's ``number`` column (next to another of these files); a ``summary.json``
    with ``kpis`` and ``meta`` tables next to ``daily.parquet``; a ``sweep.json`` with
    ``settings`` and ``shape``; a calibration's ``fit.json`` with a ``parameters`` table.

    Raises
    ------
    InputError
        When ``folder`` is not a directory or is not a collectsim result folder.
    """
    f = Path(folder)
    if not f.is_dir():
        raise InputError(f"folder = {str(folder)!r}: no such folder")
    summary = _json_object(f / "summary.json")
    if (f / "comparison.csv").is_file() and summary.get("kind") == "compare":
        return "compare"
    if _is_sweep(f / "sweep.json"):
        return "sweep"
    if isinstance(_json_object(f / "fit.json").get("parameters"), dict):
        return "calibrate"
    optimizer = [
        bool(_json_object(f / "experiment.json").get("study_name")),
        _is_policy_file(f / "best_policy.toml"),
        (f / "validation.json").is_file(),
        _csv_has(f / "trials.csv", "number"),
    ]
    if optimizer[0] or optimizer[1] or sum(optimizer) >= 2:
        return "optimize"
    if isinstance(summary.get("kpis"), dict) and isinstance(summary.get("meta"), dict) and (f / "daily.parquet").is_file():
        return "run"
    raise InputError(
        f"folder = {str(folder)!r}: not a collectsim result folder (no summary.json with kpis and meta next to "
        "daily.parquet, no comparison.csv of a comparison, no sweep.json of a sweep, no optimizer files, no fit.json of a calibration); "
        "nothing was written"
    )


def _json_object(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_policy_file(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data.get("policy"), dict)


def _is_sweep(path: Path) -> bool:
    data = _json_object(path)
    return isinstance(data.get("settings"), dict) and isinstance(data.get("shape"), list)


def _csv_has(path: Path, column: str) -> bool:
    if not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            header = fh.readline()
    except (OSError, ValueError):
        return False
    return column in [c.strip().strip('"') for c in header.rstrip("\n").split(",")]


#: The page module of a folder kind whose module is not named as the kind.
_PAGE_MODULES = {"calibrate": "calibration"}


def build_report(folder: str | Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """(Re)build ``report.html`` and ``report.md`` (and the plots) of a result folder.

    Parameters
    ----------
    folder:
        A ``collectsim run``, ``compare``, ``sweep``, optimizer or ``calibrate`` result folder.
    progress:
        Optional callback receiving a :class:`~collectsim.experiments.progress.Progress`
        message (``"plots: 2/5 plots"``) as each plot is written.

    Returns
    -------
    list of pathlib.Path
        ``report.html``, ``report.md`` and the PNG files the report shows.
    """
    f = Path(folder)
    kind = folder_kind(f)
    sweep_stale(f)  # temporaries of a killed report
    # one page builder per folder kind, imported for its kind only (a run's report needs no statistics library)
    module = _PAGE_MODULES.get(kind, kind)
    builder = getattr(importlib.import_module(f"collectsim.reports.pages.{module}"), f"{module}_page")  # lazy: start-up time
    page = builder(f, progress=progress)
    write_text_atomic(f / "report.html", page.to_html(f))
    write_text_atomic(f / "report.md", page.to_markdown())
    images = [f / b[1] for b in page.blocks if b[0] == "img"]
    return [f / "report.html", f / "report.md", *images]
