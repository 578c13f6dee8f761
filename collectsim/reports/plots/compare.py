"""Plots of a champion/challenger comparison (matplotlib, written as PNG files).

Every function takes the comparison's data as saved in its result folder — ``daily``
(the daily series of every replication with ``variant``, ``policy``, ``seed`` columns),
``table`` (``comparison.csv``) and ``stress`` (``stress.csv``) — so a report can be rebuilt
from the folder alone. The champion is drawn in black, challengers in the default colour
cycle, in the same colours on every plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats as _st  # noqa: E402

from collectsim.experiments.progress import Progress  # noqa: E402
from collectsim.model import CUMULATIVE_COLUMNS  # noqa: E402
from collectsim.reports.plots.run import plot_bucket_flow  # noqa: E402
from collectsim.reports.plots.style import kpi_axis_label, save, share_denominator, tidy  # noqa: E402
from collectsim.results.catalogue import KPIS  # noqa: E402
from collectsim.vocabulary.accounts import STATUS_NAMES  # noqa: E402

__all__ = [
    "policy_colors",
    "mean_daily",
    "plot_recovery_curves",
    "plot_bucket_flows",
    "plot_complaints_churn",
    "plot_tier_bars",
    "plot_stress",
    "write_compare_plots",
]


def policy_colors(policies: Sequence[str]) -> dict[str, str]:
    """Champion (first) in black, challengers in the matplotlib colour cycle."""
    return {p: ("black" if i == 0 else f"C{(i - 1) % 10}") for i, p in enumerate(policies)}


def _band(values: pd.DataFrame, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean and t half-width across columns (replications) for each row (day)."""
    n = values.shape[1]
    m = values.mean(axis=1).to_numpy(float)
    if n < 2:
        return m, np.zeros_like(m)
    hw = _st.t.ppf(0.5 + level / 2, n - 1) * values.std(axis=1, ddof=1).to_numpy(float) / np.sqrt(n)
    return m, hw


def _wide(daily: pd.DataFrame, policy: str, column: str) -> pd.DataFrame:
    """Days × seeds table of one column for one policy."""
    sub = daily[daily["policy"] == policy]
    return sub.pivot(index="day", columns="seed", values=column)


def _accounts(daily: pd.DataFrame) -> float:
    return float(daily[list(STATUS_NAMES)].iloc[0].sum())


def mean_daily(daily: pd.DataFrame, policy: str, variant: str = "base") -> pd.DataFrame:
    """The daily series of one policy and variant averaged over replications (same columns)."""
    sub = daily[(daily["variant"] == variant) & (daily["policy"] == policy)]
    num = sub.drop(columns=["variant", "policy", "seed"]).groupby("day", as_index=False).mean()
    return num


def plot_recovery_curves(daily: pd.DataFrame, policies: Sequence[str], variant: str = "base", level: float = 0.95):
    """Recovery curves of all policies (left) and their paired difference to the champion (right).

    Bands are pointwise ``level`` t intervals over replications.
    """
    d = daily[daily["variant"] == variant]
    colors = policy_colors(policies)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    champ = _wide(d, policies[0], "recovery_rate")
    for p in policies:
        w = _wide(d, p, "recovery_rate")
        m, hw = _band(w, level)
        days = w.index.to_numpy() + 1
        ax.plot(days, 100 * m, color=colors[p], label=p, lw=1.6 if p == policies[0] else 1.3)
        ax.fill_between(days, 100 * (m - hw), 100 * (m + hw), color=colors[p], alpha=0.15, lw=0)
        if p != policies[0]:
            m2, hw2 = _band(w - champ, level)  # same seeds: paired by column
            bx.plot(days, 100 * m2, color=colors[p], label=p, lw=1.3)
            bx.fill_between(days, 100 * (m2 - hw2), 100 * (m2 + hw2), color=colors[p], alpha=0.2, lw=0)
    ax.set(xlabel="day", ylabel="cash recovered, % of the balance at entry", title="Recovery curves (mean, 95% band)")
    bx.axhline(0, color="black", lw=0.8)
    bx.set(xlabel="day", ylabel="difference, percentage points of the balance at entry",
           title=f"Difference to {policies[0]} (paired, 95% band)")
    for a in (ax, bx):
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
        tidy(a)
    fig.suptitle(f"scenario: {variant}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_bucket_flows(daily: pd.DataFrame, policies: Sequence[str], variant: str = "base"):
    """DPD-bucket flow (mean over replications) of each policy, one panel per policy."""
    k = len(policies)
    cols = min(k, 2)
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 3.3 * rows), squeeze=False, sharey=True)
    for i, p in enumerate(policies):
        ax = axes[i // cols][i % cols]
        plot_bucket_flow(mean_daily(daily, p, variant), ax=ax)
        ax.set_title(p, fontsize=10)
        leg = ax.get_legend()
        if leg is not None and i != k - 1:
            leg.remove()
    for j in range(k, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"DPD-bucket flow and resolutions (mean accounts), scenario: {variant}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_complaints_churn(
    daily: pd.DataFrame, table: pd.DataFrame, policies: Sequence[str], variant: str = "base", level: float = 0.95
):
    """Complaints and churn: cumulative complaints and opt-outs per 1,000 accounts by day,
    and churn (cumulative by day when the daily series holds ``churned``, else the churn
    rate at the horizon with its interval)."""
    d = daily[daily["variant"] == variant]
    colors = policy_colors(policies)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    per = 1000.0 / _accounts(d)
    has_churn = "churned" in d.columns
    series = [
        ("complaints", "complaints per 1,000 accounts (cumulative)"),
        ("optouts", "opt-outs per 1,000 accounts (cumulative)"),
    ]
    if has_churn:
        series.append(("churned", "customers lost per 1,000 accounts (cumulative)"))
    for ax, (col, title) in zip(axes, series, strict=False):
        for p in policies:
            w = _wide(d, p, col)
            if col not in CUMULATIVE_COLUMNS:  # daily figures: accumulate; cumulative ones as they are
                w = w.cumsum()
            w = w * per
            m, hw = _band(w, level)
            days = w.index.to_numpy() + 1
            ax.plot(days, m, color=colors[p], label=p, lw=1.3)
            ax.fill_between(days, m - hw, m + hw, color=colors[p], alpha=0.15, lw=0)
        ax.set(xlabel="day", ylabel="per 1,000 accounts of the book, cumulative", title=title)
        ax.grid(alpha=0.3)
        tidy(ax)
    axes[0].legend(fontsize=8)
    if not has_churn:
        ax = axes[2]
        t = table[(table["variant"] == variant) & (table["scope"] == "all") & (table["kpi"] == "churn_rate")]
        t = t.set_index("policy").reindex(list(policies))
        y = 100 * t["mean"].to_numpy(float)
        err = 100 * t["ci_halfwidth"].to_numpy(float)
        ax.bar(
            range(len(policies)), y, yerr=np.nan_to_num(err), color=[colors[p] for p in policies], alpha=0.8, capsize=4
        )
        ax.set_xticks(range(len(policies)), list(policies), rotation=20, ha="right", fontsize=8)
        ax.set(ylabel=f"churn rate, % of {share_denominator('churn_rate')}", title="Churn at the horizon (mean, 95% CI)")
        ax.grid(alpha=0.3, axis="y")
        tidy(ax)
    fig.suptitle(f"Complaints and churn, scenario: {variant}", fontsize=10)
    fig.tight_layout()
    return fig


def _scale(kpi: str) -> tuple[float, str]:
    return (100.0, " (%)") if KPIS[kpi].unit == "share" else (1.0, "")


def plot_tier_bars(table: pd.DataFrame, policies: Sequence[str], kpis: Sequence[str], variant: str = "base"):
    """Per-tier means with 95% CIs, one panel per KPI, policies side by side."""
    t = table[(table["variant"] == variant) & (table["scope"] != "all")]
    tiers = list(dict.fromkeys(t["scope"]))
    colors = policy_colors(policies)
    kpis = [k for k in kpis if k in set(t["kpi"])]
    fig, axes = plt.subplots(1, max(1, len(kpis)), figsize=(5.2 * max(1, len(kpis)), 4.0), squeeze=False)
    width = 0.8 / max(1, len(policies))
    x = np.arange(len(tiers))
    for ax, kpi in zip(axes[0], kpis, strict=False):
        sc, suffix = _scale(kpi)
        sub = t[t["kpi"] == kpi]
        for i, p in enumerate(policies):
            s = sub[sub["policy"] == p].set_index("scope").reindex(tiers)
            ax.bar(
                x + (i - (len(policies) - 1) / 2) * width,
                sc * s["mean"].to_numpy(float),
                width,
                yerr=np.nan_to_num(sc * s["ci_halfwidth"].to_numpy(float)),
                color=colors[p],
                alpha=0.85,
                capsize=2,
                label=p,
            )
        unit = f"\n{sub['unit'].iloc[0]}" if len(sub) and KPIS[kpi].total else ""
        per = f"{sub['unit'].iloc[0]} of the tier" if len(sub) and KPIS[kpi].total else ""
        ax.set_xticks(x, [f"{tr} risk" for tr in tiers])
        ax.set_title(f"{KPIS[kpi].label}{suffix}{unit}", fontsize=9)
        ax.set_ylabel(_tier_label(kpi, per), fontsize=8)
        ax.axhline(0, color="black", lw=0.6)
        ax.grid(alpha=0.3, axis="y")
        tidy(ax)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"By risk tier (mean, 95% CI), scenario: {variant}", fontsize=10)
    fig.tight_layout()
    return fig


def _tier_label(kpi: str, per: str) -> str:
    label = kpi_axis_label(kpi, per)
    if KPIS[kpi].unit in ("per_1k", "per_1k_worked"):
        label += " of the tier"
    return label


def plot_stress(stress: pd.DataFrame, policies: Sequence[str], headline: str, per_accounts: int = 1000):
    """The headline KPI of every policy under every variant: means with 95% CIs and ranks.

    A dot plot (no zero baseline, so differences stay visible); a rank printed in red
    differs from the policy's rank in the base scenario. Money and counts are per
    ``per_accounts`` accounts (0: portfolio totals), as in the stress table.
    """
    variants = list(dict.fromkeys(stress["variant"]))
    colors = policy_colors(policies)
    sc, suffix = _scale(headline)
    fig, ax = plt.subplots(figsize=(max(7.0, 2.4 * len(variants) + 2), 4.4))
    step = 0.7 / max(1, len(policies))
    x = np.arange(len(variants))
    for i, p in enumerate(policies):
        s = stress[stress["policy"] == p].set_index("variant").reindex(variants)
        xs = x + (i - (len(policies) - 1) / 2) * step
        ys = sc * s["mean"].to_numpy(float)
        hw = np.nan_to_num(sc * s["ci_halfwidth"].to_numpy(float))
        ax.errorbar(xs, ys, yerr=hw, fmt="o", color=colors[p], capsize=3, ms=6, label=p)
        for xx, yy, h, r, ch in zip(xs, ys, hw, s["rank"], s["rank_changed"], strict=False):
            if pd.notna(r) and np.isfinite(yy):
                ax.annotate(
                    f"#{int(r)}",
                    (xx, yy + h),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    fontweight="bold" if bool(ch) else "normal",
                    color="crimson" if bool(ch) else "dimgray",
                )
    ax.set_xticks(x, variants)
    ax.set_xlim(-0.6, len(variants) - 0.4)
    ax.margins(y=0.15)
    ax.set_title(
        f"{KPIS[headline].label}{suffix} by scenario (mean, 95% CI; rank in red where it changes)", fontsize=10
    )
    per = f"per {per_accounts:,} accounts" if per_accounts else "for the whole book"
    ax.set_ylabel(kpi_axis_label(headline, per))
    ax.grid(alpha=0.3, axis="y")
    tidy(ax)
    ax.legend(fontsize=8, ncols=min(4, len(policies)), loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()
    return fig


def write_compare_plots(
    folder: Path,
    daily: pd.DataFrame,
    table: pd.DataFrame,
    stress: pd.DataFrame,
    policies: Sequence[str],
    headline: str,
    tier_kpis: Sequence[str],
    level: float = 0.95,
    per_accounts: int = 1000,
    progress=None,
) -> list[str]:
    """Write every comparison plot as a PNG into ``folder``; return the file names in report order.

    ``per_accounts`` is the comparison's normalisation (for the stress chart's axis);
    ``progress`` (optional) receives a :class:`~collectsim.experiments.progress.Progress` per plot.
    """
    figs = [
        ("recovery_curves.png", lambda: plot_recovery_curves(daily, policies, level=level)),
        ("bucket_flow.png", lambda: plot_bucket_flows(daily, policies)),
        ("complaints_churn.png", lambda: plot_complaints_churn(daily, table, policies, level=level)),
        ("tiers.png", lambda: plot_tier_bars(table, policies, tier_kpis)),
    ]
    if stress is not None and len(stress) and stress["variant"].nunique() > 1:
        figs.append(("stress.png", lambda: plot_stress(stress, policies, headline, per_accounts)))
    out = []
    if progress is not None:
        progress(Progress("plots", 0, len(figs), "plots"))
    for name, make in figs:
        save(make(), Path(folder) / name, dpi=100)
        out.append(name)
        if progress is not None:
            progress(Progress("plots", len(out), len(figs), "plots"))
    return out
