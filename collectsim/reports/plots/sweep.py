"""Plots of a dose-response sweep (matplotlib, PNG): each KPI against the first lever, one
line per value of the second lever. The left panel is the mean level, the right one the
paired change from the line's first point with its 95 % band (the same seeds at every
point, so the band is that of the difference, not of two noisy levels).

The functions take plain data — the ``sweep_summary.csv`` and ``sweep_paired.csv`` frames of
:class:`collectsim.experiments.sweep.SweepResult` — so a sweep folder can be re-plotted.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from collectsim.experiments.progress import Progress  # noqa: E402
from collectsim.results.catalogue import KPIS  # noqa: E402

__all__ = ["plot_dose_response", "write_sweep_plots"]


#: how each lever is named on an axis
LEVER_LABELS = {"sms_per_week": "SMS per week", "email_per_week": "e-mails per week",
                "ivr_per_week": "automated calls per week", "call_per_week": "agent calls per week",
                "visit_per_week": "field visits per week", "letter_per_week": "letters per week"}


def _lines(frame: pd.DataFrame, kpi: str, levers: list[str]):
    s = frame[frame["kpi"] == kpi]
    first, rest = levers[0], levers[1:]
    for key, g in (s.groupby(rest, sort=True) if rest else [(None, s)]):
        key = key[0] if isinstance(key, tuple) else key
        yield (None if key is None else f"{LEVER_LABELS.get(rest[0], rest[0])} = {key:g}"), g.sort_values(first)


def plot_dose_response(summary: pd.DataFrame, paired: pd.DataFrame, kpi: str, levers: list[str], axes=None,
                       tier: str = ""):
    """Mean ``kpi`` against the first lever (left) and its paired change from the line's first
    point with the 95 % band (right), one line per value of the second lever."""
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(11, 4.2))[1]
    left, right = axes
    info = KPIS.get(kpi)
    scale = 100.0 if info is not None and info.unit == "share" else 1.0
    name = info.label if info else kpi
    first = levers[0]
    for label, g in _lines(summary, kpi, levers):
        left.plot(g[first], scale * g["mean"], marker="o", ms=3, label=label)
    for label, g in _lines(paired, kpi, levers):
        line = right.plot(g[first], scale * g["diff"], marker="o", ms=3, label=label)[0]
        right.fill_between(g[first], scale * g["lo"], scale * g["hi"], color=line.get_color(), alpha=0.18, lw=0)
    right.axhline(0, color="grey", lw=0.8)
    unit = " (% points)" if scale == 100.0 else ""
    xlabel = LEVER_LABELS.get(first, first) + (f", {tier} risk tier" if tier else "")
    for ax in (left, right):
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    left.set_ylabel(name + (" (%)" if scale == 100.0 else ""))
    left.set_title(f"{name}: mean")
    right.set_ylabel(f"change{unit}")
    low = paired[first].min()
    right.set_title(f"change from {LEVER_LABELS.get(first, first)} = {low:g} (paired, 95 % band)")
    if len(levers) > 1:
        left.legend(fontsize=8)
    return axes


def write_sweep_plots(summary: pd.DataFrame, paired: pd.DataFrame, kpis: list[str], levers: list[str],
                      folder: Path, tier: str = "", title: str = "", progress=None) -> list[str]:
    """Write ``sweep_<kpi>.png`` for every KPI into ``folder``; return the file names.

    ``progress`` (optional) receives a :class:`~collectsim.experiments.progress.Progress` per plot.
    """
    out = []
    for kpi in kpis:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
        plot_dose_response(summary, paired, kpi, levers, axes=axes, tier=tier)
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        name = f"sweep_{kpi}.png"
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        out.append(name)
        if progress is not None:
            progress(Progress("plots", len(out), len(kpis), "plots"))
    return out
