"""What every figure shares: tick labels as a manager reads numbers, axis labels with unit and denominator.

* :class:`GroupedFormatter` — tick labels with thousands separators and a true minus,
  never a ``1e6`` offset or scientific notation (money axes read ``7,100,000``).
* :func:`tidy` — puts it on an axes' numeric axes.
* :func:`kpi_axis_label` — the label of a KPI's axis from the catalogue: what it is, its unit
  and what it is per ("net value, currency per 1,000 accounts", "churn rate, % of resolved
  customers").
* :func:`save` — writes a figure atomically (a temporary name, then renamed).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

from collectsim.experiments.folders import write_atomic  # noqa: E402
from collectsim.results.catalogue import KPIS  # noqa: E402

__all__ = ["GroupedFormatter", "tidy", "kpi_axis_label", "share_denominator", "save"]

MINUS = "\u2212"


class GroupedFormatter(ticker.Formatter):
    """Tick labels with thousands separators, a true minus and as many decimals as the tick
    spacing needs (0.5 steps: one decimal; 250,000 steps: none). No offset, no ``1e6``."""

    _ticks: tuple[float, ...] = ()

    def set_locs(self, locs) -> None:
        """Remember the tick locations (their spacing sets the decimals)."""
        super().set_locs(locs)
        self._ticks = tuple(float(v) for v in locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        """The label of the tick at ``x``."""
        locs = sorted(v for v in self._ticks if math.isfinite(v))
        steps = [b - a for a, b in zip(locs, locs[1:], strict=False) if b > a]
        step = min(steps) if steps else abs(x)
        decimals = 0 if step <= 0 or step >= 1 else min(6, math.ceil(-math.log10(step) - 1e-9))
        text = f"{abs(x):,.{decimals}f}"
        if float(text.replace(",", "")) == 0:
            return "0" if decimals == 0 else text
        return (MINUS if x < 0 else "") + text


def tidy(ax, x: bool = False) -> None:
    """Grouped tick labels on the y axis (and the x axis with ``x=True``) of ``ax``.

    On a log axis only the major ticks (1, 10, 100, 1,000, ...) are labelled.
    """
    axes = [ax.yaxis] + ([ax.xaxis] if x else [])
    for axis in axes:
        axis.set_major_formatter(GroupedFormatter())
        if axis.get_scale() == "log":
            axis.set_minor_formatter(ticker.NullFormatter())


def share_denominator(kpi: str) -> str:
    """What a share KPI is a share of, from its catalogue definition ("collected / balance at
    entry" → "balance at entry")."""
    d = KPIS[kpi].definition.rsplit(" / ", 1)[-1]
    return re.split(r" \(|:", d)[0].strip()


def kpi_axis_label(kpi: str, per: str = "", what: str = "") -> str:
    """The axis label of a KPI: its label, unit and denominator.

    Parameters
    ----------
    kpi:
        A name in :data:`~collectsim.results.catalogue.KPIS`.
    per:
        What money and counts are per, e.g. ``"per 1,000 accounts"`` or ``"book of 20,000
        accounts"`` (default: "whole book").
    what:
        Appended in parentheses, e.g. ``"search mean"``.

    Examples
    --------
    ``net value, currency per 1,000 accounts``; ``churn rate, % of resolved customers``;
    ``complaints per 1,000 accounts``.
    """
    info = KPIS[kpi]
    if info.unit == "share":
        text = f"{info.label}, % of {share_denominator(kpi)}"
    elif info.unit == "money":
        text = f"{info.label}, currency {per or 'for the whole book'}".rstrip()
    elif info.unit == "count":
        text = f"{info.label} {per or 'in the whole book'}".rstrip()
    else:  # per_1k, per_1k_worked: the label says the denominator; ratio: a plain ratio
        text = info.label
    return f"{text} ({what})" if what else text


def save(fig, path: Path, dpi: int = 110) -> None:
    """Write ``fig`` as a PNG to ``path`` through a unique temporary file in its folder (never
    through a link: :func:`collectsim.experiments.folders.write_atomic`), and close it."""
    try:
        write_atomic(Path(path), lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    finally:
        plt.close(fig)
