"""Plots of a calibration's fit checks (matplotlib, PNG): the data against the band of
histories simulated from the fit.

The functions take the comparison tables a calibration folder holds
(``fit_check_<name>.csv``: key columns, ``measure``, ``observed``, ``simulated_mean``, ``lo``,
``hi``; :func:`collectsim.experiments.calibrate.statistics.compare_statistics`), so a folder
can be re-plotted at any time.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from collectsim.experiments.progress import Progress  # noqa: E402
from collectsim.reports.plots.style import save, tidy  # noqa: E402

__all__ = ["plot_recovery_band", "plot_rates_by_hour", "plot_roll_rates", "write_calibration_plots",
           "CALIBRATION_PLOTS"]

#: The plots of a calibration page: file name → (the comparison it draws, caption).
CALIBRATION_PLOTS: dict[str, tuple[str, str]] = {
    "fit_recovery.png": ("recovery_curve", "Recovery curve: the data and the band of histories simulated from the fit"),
    "fit_contact_rates.png": ("contact_rates", "Contact and right-party-contact rates by channel and hour: the data "
                                               "(dots) and the simulated band"),
    "fit_roll_rates.png": ("roll_rates", "Roll rates by DPD bucket: the data (dots) and the simulated band"),
}


def plot_recovery_band(comp: pd.DataFrame, ax=None):
    """The observed recovery curve with the simulated mean and band (``recovery_curve``)."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    d = comp[comp["measure"] == "recovery_rate"].sort_values("day")
    x = d["day"] + 1
    ax.fill_between(x, 100 * d["lo"], 100 * d["hi"], color="tab:blue", alpha=0.2, lw=0, label="simulated band")
    ax.plot(x, 100 * d["simulated_mean"], color="tab:blue", ls="--", lw=1, label="simulated mean")
    ax.plot(x, 100 * d["observed"], color="black", lw=1.5, label="data")
    ax.set_xlabel("day")
    ax.set_ylabel("cash recovered, % of the balance at entry")
    ax.set_title("Recovery curve")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    tidy(ax)
    return ax


def _dots_and_bands(ax, x, d: pd.DataFrame, color, label: str) -> None:
    ax.errorbar(x, 100 * d["simulated_mean"], yerr=[100 * (d["simulated_mean"] - d["lo"]),
                                                   100 * (d["hi"] - d["simulated_mean"])],
                fmt="_", color=color, alpha=0.6, capsize=3, lw=1.2)
    ax.plot(x, 100 * d["observed"], "o", color=color, ms=4, label=label)


def plot_rates_by_hour(comp: pd.DataFrame, axes=None):
    """Contact rate (left) and RPC rate (right) by hour, one colour per channel: the data as
    dots, the simulated mean and band as bars (``contact_rates``)."""
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(11, 4.2))[1]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    channels = list(dict.fromkeys(comp["channel"].astype(str)))
    for ax, measure, title in zip(axes, ("contact_rate", "rpc_rate"),
                                  ("contact rate: connects / attempts", "RPC rate: right-party contacts / attempts"),
                                  strict=True):
        for i, ch in enumerate(channels):
            d = comp[(comp["measure"] == measure) & (comp["channel"].astype(str) == ch)].sort_values("hour")
            offset = (i - (len(channels) - 1) / 2) * 0.12  # channels at one hour side by side
            _dots_and_bands(ax, d["hour"].to_numpy(np.float64) + offset, d, colors[i % len(colors)], ch)
        ax.set_xlabel("hour of the day")
        ax.set_ylabel("% of attempts (dots: data; bars: simulated\nmean and band)")
        ax.set_title(title)
        ax.set_xlim(-0.5, 23.5)
        ax.grid(alpha=0.3)
        tidy(ax)
    axes[0].legend(fontsize=8)
    return axes


def plot_roll_rates(comp: pd.DataFrame, ax=None):
    """Each roll rate of the comparison (one point per row and measure, labelled by its key
    columns): the data as dots, the simulated band as bars (``roll_rates``)."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    keys = [c for c in comp.columns if c not in ("measure", "observed", "n", "simulated_mean", "sd", "lo", "hi",
                                                  "replications", "inside")]
    labels = [" ".join(str(r[k]) for k in keys) + ("" if comp["measure"].nunique() == 1 else f" {r['measure']}")
              for _, r in comp.iterrows()]
    x = np.arange(len(comp), dtype=np.float64)
    _dots_and_bands(ax, x, comp, "tab:blue", "data")
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("% of the accounts in the bucket\n(dots: data; bars: simulated mean and band)")
    ax.set_title("Roll rates by bucket")
    ax.grid(alpha=0.3)
    tidy(ax)
    return ax


def write_calibration_plots(comparison: dict[str, pd.DataFrame], folder: Path, title: str = "",
                            progress=None) -> list[str]:
    """Write the :data:`CALIBRATION_PLOTS` whose comparison is in ``comparison`` into
    ``folder``; return the file names. ``progress`` (optional) receives a
    :class:`~collectsim.experiments.progress.Progress` per plot."""
    jobs = [(name, stat) for name, (stat, _) in CALIBRATION_PLOTS.items()
            if stat in comparison and len(comparison[stat])]
    out = []
    for name, stat in jobs:
        if stat == "contact_rates":
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
            plot_rates_by_hour(comparison[stat], axes=axes)
        else:
            fig, ax = plt.subplots(figsize=(8, 4.2))
            (plot_recovery_band if stat == "recovery_curve" else plot_roll_rates)(comparison[stat], ax=ax)
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        save(fig, Path(folder) / name)
        out.append(name)
        if progress is not None:
            progress(Progress("plots", len(out), len(jobs), "plots"))
    return out
