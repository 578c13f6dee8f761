"""The report a manager reads: ``report.html`` (self-contained) and ``report.md`` of a result folder.

:func:`build_report` works on any result folder — a ``collectsim compare`` folder, a
``collectsim run`` folder or an optimizer folder (:func:`folder_kind`) — with one page
builder per kind (:mod:`collectsim.reports.pages`). It reads only the files in the folder,
so a report can be rebuilt at any time (``collectsim report DIR``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collectsim.errors import InputError
from collectsim.reports.common import write_text_atomic
from collectsim.reports.pages.compare import compare_page
from collectsim.reports.pages.optimize import optimize_page
from collectsim.reports.pages.run import run_page

__all__ = ["build_report", "folder_kind"]

# ------------------------------------------------------------------ folders ---------------
def folder_kind(folder: str | Path) -> str:
    """``compare``, ``optimize`` or ``run``: what kind of result folder ``folder`` is.

    Raises
    ------
    InputError
        When ``folder`` is not a directory or holds none of the expected files.
    """
    f = Path(folder)
    if not f.is_dir():
        raise InputError(f"folder = {str(folder)!r}: no such folder")
    if (f / "comparison.csv").is_file():
        return "compare"
    if any((f / n).is_file() for n in ("best_policy.toml", "trials.csv", "validation.json")):
        return "optimize"
    if (f / "summary.json").is_file():
        return "run"
    raise InputError(
        f"folder = {str(folder)!r}: not a collectsim result folder (no summary.json, comparison.csv, "
        "trials.csv, best_policy.toml or validation.json)"
    )

def build_report(folder: str | Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """(Re)build ``report.html`` and ``report.md`` (and the plots) of a result folder.

    Parameters
    ----------
    folder:
        A ``collectsim run``, ``compare`` or optimizer result folder.
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
    page = {"compare": compare_page, "optimize": optimize_page, "run": run_page}[kind](f, progress=progress)
    write_text_atomic(f / "report.html", page.to_html(f))
    write_text_atomic(f / "report.md", page.to_markdown())
    images = [f / b[1] for b in page.blocks if b[0] == "img"]
    return [f / "report.html", f / "report.md", *images]
