"""Plots of an optimization study (matplotlib, PNG): history, Pareto front, importances.

The functions take plain data — the ``trials.csv`` frame written by
:func:`collectsim.experiments.optimize.trials_frame` — so a finished run folder can be
re-plotted without Optuna: ``write_optimize_plots(pd.read_csv("trials.csv"), folder, ...)``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from collectsim.experiments.folders import write_atomic  # noqa: E402
from collectsim.experiments.progress import Progress  # noqa: E402
from collectsim.reports.plots.style import kpi_axis_label, tidy  # noqa: E402
from collectsim.results.catalogue import KPIS  # noqa: E402

__all__ = [
    "plot_history", "plot_pareto_front", "plot_importances", "write_optimize_plots", "write_trial_values_plot"]


def _wrap(label: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(label, width))


def _bool(s: pd.Series) -> pd.Series:
    return s.map(lambda v: bool(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else False)


def plot_history(trials: pd.DataFrame, ax=None, champion: dict | None = None, metric: str = "objective",
                 best_trial: int | None = None, per: str = "for the whole book", search_reps: int = 0):
    """Search-phase value of every trial by trial number, the best feasible value so far, and
    the champion's value as a dashed line. Pruned trials show their partial mean (×);
    trials that break a cap are hollow; the recommended (validated) trial ``best_trial`` is a
    gold star. ``per`` and ``search_reps`` name the unit in the y label."""
    ax = ax or plt.subplots(figsize=(8, 4.2))[1]
    df = trials.sort_values("number")
    y = pd.to_numeric(df[metric], errors="coerce")
    feas = _bool(df["feasible"]) if "feasible" in df else pd.Series(True, index=df.index)
    comp = df["state"] == "COMPLETE"
    pruned = df["state"] == "PRUNED"
    cand = df["role"] != "champion"
    m = comp & feas & cand
    ax.scatter(df["number"][m], y[m], s=22, color="tab:blue", label="complete", zorder=3)
    m = comp & ~feas & cand
    if m.any():
        ax.scatter(df["number"][m], y[m], s=22, facecolors="none", edgecolors="tab:red", label="breaks a cap", zorder=3)
    if (pruned & cand).any():
        ax.scatter(df["number"][pruned & cand], y[pruned & cand], s=22, marker="x", color="grey",
                   label="pruned (partial mean)", zorder=2)
    ok = comp & feas
    best = y.where(ok).cummax().ffill()
    ax.step(df["number"], best, where="post", color="tab:green", lw=1.5, label="best so far (search)")
    if champion is not None and champion.get(metric) is not None:
        ax.axhline(float(champion[metric]), color="black", ls="--", lw=1, label="champion")
    if best_trial is not None and (df["number"] == best_trial).any():
        r = df[df["number"] == best_trial].iloc[0]
        ax.scatter([r["number"]], [r[metric]], s=120, marker="*", color="gold", edgecolors="black",
                   label="recommended (validated)", zorder=4)
    ax.set_xlabel("trial number")
    seeds = f"{search_reps} search seeds" if search_reps else "the search seeds"
    what = kpi_axis_label(metric, per) if metric in KPIS else f"{metric}, currency {per}"
    ax.set_ylabel(f"{what}\n(mean over {seeds})")
    ax.set_title("Optimization history")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    tidy(ax)
    return ax


def plot_pareto_front(trials: pd.DataFrame, ax=None, champion: dict | None = None, front: list[int] | None = None,
                      caps: dict | None = None, churn: str = "lost_clv", measure: str = "net_value",
                      complaints: str = "complaints_per_1k_accounts", best_trial: int | None = None,
                      per: str = "for the whole book"):
    """The measure (net value) against complaints for every complete trial, coloured by the
    churn measure (pruned trials in grey, at their partial means); the Pareto front joined by a
    line, the champion as a black star, the recommended trial ``best_trial`` as a gold star,
    caps as lines. ``per`` says what money is for (axis labels)."""
    ax = ax or plt.subplots(figsize=(8, 5))[1]
    if complaints not in trials.columns or measure not in trials.columns:  # a folder of an older layout
        complaints, measure = "complaints_per_1k_worked", "net_recovery"
    pr = trials[(trials["state"] == "PRUNED") & (trials["role"] != "champion")]
    if len(pr):
        ax.scatter(pd.to_numeric(pr[complaints], errors="coerce"), pd.to_numeric(pr[measure], errors="coerce"),
                   marker="x", s=14, color="lightgrey", label="pruned (partial mean)", zorder=1)
    df = trials[trials["state"] == "COMPLETE"]
    x = pd.to_numeric(df[complaints], errors="coerce")
    y = pd.to_numeric(df[measure], errors="coerce")
    c = pd.to_numeric(df[churn], errors="coerce")
    if churn in KPIS and KPIS[churn].unit == "share":  # the colour bar reads in %, as its label says
        c = 100 * c
    sc = ax.scatter(x, y, c=c, cmap="viridis_r", s=22, alpha=0.8, label="complete trials", zorder=2)
    clabel = (kpi_axis_label(churn, per) if churn in KPIS else churn) + " (lower is better)"
    cbar = plt.colorbar(sc, ax=ax, label=_wrap(clabel))
    tidy(cbar.ax)
    if front:
        f = df[df["number"].isin(front)].sort_values(complaints)
        ax.plot(f[complaints], f[measure], color="tab:red", lw=1.2, marker="o", mfc="none", label="Pareto front")
    if champion is not None:
        ax.scatter([champion[complaints]], [champion[measure]], marker="*", s=220, color="black", label="champion",
                   zorder=5)
    if best_trial is not None and (trials["number"] == best_trial).any():
        r = trials[trials["number"] == best_trial].iloc[0]
        ax.scatter([r[complaints]], [r[measure]], marker="*", s=260, color="gold", edgecolors="black",
                   label=f"recommended (trial {best_trial}, validated)", zorder=6)
    if caps and caps.get(complaints) is not None:
        ax.axvline(caps[complaints], color="crimson", ls=":", lw=1, label="complaint cap")
    ax.set_xlabel(kpi_axis_label(complaints, per, "search mean") if complaints in KPIS else complaints)
    ax.set_ylabel(_wrap(kpi_axis_label(measure, per, "search mean") if measure in KPIS else measure))
    label = KPIS[measure].label if measure in KPIS else measure
    ax.set_title(f"Trade-off: {label} vs complaints")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    tidy(ax, x=True)
    return ax


def plot_importances(importances: dict[str, float], ax=None):
    """Horizontal bars of parameter importances (Optuna's PED-ANOVA on the scalar objective)."""
    ax = ax or plt.subplots(figsize=(7, 0.4 * max(3, len(importances)) + 1))[1]
    items = sorted(importances.items(), key=lambda kv: kv[1])
    ax.barh([k for k, _ in items], [v for _, v in items], color="tab:blue")
    ax.set_xlabel("importance: share of the objective's variation over the trials (sums to 1)")
    ax.set_title("Parameter importances")
    ax.grid(alpha=0.3, axis="x")
    return ax


def write_optimize_plots(
    trials: pd.DataFrame,
    folder: Path,
    *,
    mode: str = "scalar",
    champion: dict[str, Any] | None = None,
    caps: dict[str, float] | None = None,
    importances: dict[str, float] | None = None,
    front: list[int] | None = None,
    best_trial: int | None = None,
    churn: str = "lost_clv",
    measure: str = "net_value",
    title: str = "",
    per: str = "for the whole book",
    search_reps: int = 0,
    progress=None,
) -> list[str]:
    """Write ``history.png``, ``pareto_front.png`` (every study: in scalar mode it shows the
    trade-off the weights chose on) and ``importances.png`` (when available); return names.

    ``best_trial`` (the recommended trial) is marked on the history and the trade-off plot;
    ``per`` ("for the whole book of 20,000 accounts") and ``search_reps`` name the units in the
    axis labels; ``progress`` (optional) receives a
    :class:`~collectsim.experiments.progress.Progress` per plot.
    """
    folder = Path(folder)
    written = []
    jobs: list[tuple[str, Any]] = [
        ("history.png", lambda ax: plot_history(trials, ax, champion, "objective", best_trial, per, search_reps)),
        ("pareto_front.png", lambda ax: plot_pareto_front(trials, ax, champion, front, caps, churn, measure,
                                                          best_trial=best_trial, per=per)),
    ]
    if importances:
        jobs.append(("importances.png", lambda ax: plot_importances(importances, ax)))
    for name, fn in jobs:
        h = {"history.png": 4.2, "pareto_front.png": 5.0}.get(name, 0.4 * max(3, len(importances or {})) + 1.2)
        fig, ax = plt.subplots(figsize=(8, h))
        try:
            fn(ax)
            if title:
                fig.suptitle(title, fontsize=9)
            fig.tight_layout()
            write_atomic(folder / name, lambda tmp, fig=fig: fig.savefig(tmp, dpi=110, format="png"))
            written.append(name)
        finally:
            plt.close(fig)
        if progress is not None:
            progress(Progress("plots", len(written), len(jobs), "plots"))
    return written


def write_trial_values_plot(trials: pd.DataFrame, col: str, direction: str, path: Path) -> None:
    """Every trial's value of ``col`` and the best so far (for folders without the optimizer's plots)."""
    x = trials["number"].to_numpy() if "number" in trials.columns else np.arange(len(trials))
    y = trials[col].to_numpy(float)
    best = pd.Series(y).cummin() if direction.startswith("min") else pd.Series(y).cummax()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(x, y, s=10, alpha=0.6, label="trial")
    ax.plot(x, best.to_numpy(), color="crimson", label="best so far")
    ax.set(xlabel="trial number", ylabel=f"{col} (as in trials.csv)", title="Optimization history")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    tidy(ax)
    fig.tight_layout()
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
