"""Plots of one simulation's daily series (matplotlib, written as PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from collectsim.experiments.progress import Progress  # noqa: E402
from collectsim.reports.plots.style import save, tidy  # noqa: E402
from collectsim.vocabulary.accounts import BUCKETS, STATUS_NAMES  # noqa: E402
from collectsim.vocabulary.channels import CHANNELS  # noqa: E402

__all__ = ["plot_recovery", "plot_bucket_flow", "plot_contacts", "plot_review_shares", "write_run_plots", "book_size"]


def book_size(daily: pd.DataFrame) -> int:
    """Accounts in the book on the first day (all statuses)."""
    return int(round(float(daily[list(STATUS_NAMES)].iloc[0].sum()))) if len(daily) else 0


def plot_recovery(daily: pd.DataFrame, ax=None, label: str | None = None):
    """Cumulative recovery rate (cash collected / balance at entry) by day."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    ax.plot(daily["day"] + 1, 100 * daily["recovery_rate"], label=label)
    ax.set_xlabel("day")
    ax.set_ylabel("cash recovered, % of the balance at entry")
    ax.set_title("Recovery curve")
    ax.grid(alpha=0.3)
    tidy(ax)
    return ax


def plot_bucket_flow(daily: pd.DataFrame, ax=None):
    """Accounts by DPD bucket (M1–M6) and by resolution (cured, paid, settled, charged off)."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    cols = list(BUCKETS) + [s for s in STATUS_NAMES if s != "active"]
    ax.stackplot(daily["day"] + 1, *[daily[c] for c in cols], labels=cols, alpha=0.85)
    ax.set_xlabel("day")
    n = book_size(daily)
    ax.set_ylabel(f"accounts (of the {n:,} in the book)" if n else "accounts")
    ax.set_title("DPD-bucket flow")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax.set_xlim(1, max(2, len(daily)))
    tidy(ax)
    return ax


def plot_contacts(daily: pd.DataFrame, ax=None):
    """Executed contacts by channel per day on a log scale (so that tens of visits stay
    readable beside thousands of SMS), with complaints per day as bars on a second axis."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    n = book_size(daily)
    shown = False
    for c in CHANNELS:
        col = f"contacts_{c}"
        if daily[col].sum() > 0:
            y = daily[col].astype(float).where(daily[col] > 0)  # a day without any is a gap, not −∞
            ax.plot(daily["day"] + 1, y, label=c, lw=1)
            shown = True
    if shown:
        ax.set_yscale("log")
    ax.set_xlabel("day")
    book = f"book of {n:,} accounts" if n else "whole book"
    ax.set_ylabel(f"contacts executed per day, {book}\n(log scale)")
    ax.set_title("Contacts by channel and complaints, by day")
    ax.grid(alpha=0.3, which="major")
    tidy(ax)
    ax2 = ax.twinx()
    ax2.bar(daily["day"] + 1, daily["complaints"], color="crimson", alpha=0.35, label="complaints")
    ax2.set_ylabel(f"complaints per day, {book}", color="crimson")
    tidy(ax2)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper right")
    return ax


def write_run_plots(daily: pd.DataFrame, folder: Path, title: str = "", progress=None) -> list[str]:
    """Write recovery.png, bucket_flow.png and contacts.png into ``folder``; return the names.

    ``progress`` (optional) receives a :class:`~collectsim.experiments.progress.Progress` per plot.
    """
    out = []
    jobs = (("recovery.png", plot_recovery), ("bucket_flow.png", plot_bucket_flow), ("contacts.png", plot_contacts))
    for name, fn in jobs:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        fn(daily, ax=ax)
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        save(fig, Path(folder) / name)
        out.append(name)
        if progress is not None:
            progress(Progress("plots", len(out), len(jobs), "plots"))
    return out


def plot_review_shares(reviews: pd.DataFrame, path: Path, title: str = "") -> None:
    """The adaptive policy's traffic: each arm's share of all the group's accounts after every
    review (the holdout's fixed share at the bottom), one panel per tier (a row of panels per
    tier, one per DPD bucket, when the policy keeps shares per tier × bucket); to ``path``."""
    rv = reviews.assign(bucket=reviews["bucket"].fillna("*") if "bucket" in reviews else "*")
    arms = rv[rv["arm"] != "holdout"]
    names = list(dict.fromkeys(arms["arm"]))
    tiers = list(dict.fromkeys(arms["tier"]))
    buckets = [b for b in dict.fromkeys(arms["bucket"]) if (arms[arms["bucket"] == b]["accounts"] > 0).any()] or ["*"]
    nr, nc = (1, len(tiers)) if buckets == ["*"] else (len(tiers), len(buckets))
    fig, axes = plt.subplots(nr, max(nc, 1), figsize=(2.6 * max(nc, 1) + 2.2, 2.6 * nr + 1.0), sharey=True,
                             squeeze=False)
    for r in range(nr):
        for col in range(nc):
            tier, bucket = (tiers[col], "*") if nr == 1 else (tiers[r], buckets[col])
            ax = axes[r][col]
            mine = rv[(rv["tier"] == tier) & (rv["bucket"] == bucket)]
            wide = mine.pivot_table(index="day", columns="arm", values="share_after", aggfunc="first").sort_index()
            cols = [c for c in ["holdout", *names] if c in wide]
            days = wide.index.to_numpy()
            ax.stackplot(days, *[100 * wide[c].to_numpy() for c in cols], labels=cols, alpha=0.85, step="post")
            ax.set_title(f"{tier} risk" + ("" if bucket == "*" else f", {bucket}"), fontsize=9)
            ax.set_xlim(days.min(), days.max())
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
            tidy(ax)
            if r == nr - 1:
                ax.set_xlabel("review day")
        axes[r][0].set_ylabel("% of accounts on each arm")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(title or "Traffic after each strategy review", fontsize=9)
    fig.tight_layout()
    save(fig, Path(path))
