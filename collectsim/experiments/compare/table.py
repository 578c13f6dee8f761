"""The comparison figures: per KPI, each policy's mean and interval and its paired difference
against the champion (:func:`comparison_table`), and the ranking under stress (:func:`stress_table`).

Money and count KPIs are reported per ``per_accounts`` accounts (default 1,000), so the
figures do not depend on the simulated portfolio size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from collectsim.experiments.compare import stats
from collectsim.results.catalogue import KPIS

__all__ = ["TABLE_COLUMNS", "CONTRAST_COLUMNS", "unit_of", "normalised", "comparison_table", "contrast_table",
           "stress_table"]

#: Columns of :attr:`Comparison.table` (and of ``comparison.csv``).
TABLE_COLUMNS: tuple[str, ...] = (
    "variant",
    "scope",
    "policy",
    "role",
    "kpi",
    "unit",
    "higher_is_better",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "ci_halfwidth",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "diff_ci_halfwidth",
    "unpaired_ci_halfwidth",
    "p_value",
    "p_adjusted",
    "p_better",
    "n_better",
    "n_tied",
)

#: Columns of :attr:`Comparison.contrasts` (and of ``contrasts.csv``).
CONTRAST_COLUMNS: tuple[str, ...] = (
    "variant",
    "scope",
    "policy",
    "reference",
    "kpi",
    "unit",
    "higher_is_better",
    "n",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "diff_ci_halfwidth",
    "p_value",
    "p_better",
    "n_better",
    "n_tied",
)


def unit_of(kpi: str, per_accounts: int) -> str:
    """The unit a KPI is reported in (``per 1,000 accounts``, ``share``, ...)."""
    info = KPIS[kpi]
    if info.total:
        return f"per {per_accounts:,} accounts" if per_accounts else "portfolio total"
    return {"share": "share", "per_1k": "per 1,000 accounts", "per_1k_worked": "per 1,000 accounts worked",
            "ratio": "ratio"}[info.unit]


def normalised(replications: pd.DataFrame, kpi: str, scope: str = "all", per_accounts: int = 1000) -> pd.Series:
    """Per-replication values of ``kpi`` in its reported unit (totals per ``per_accounts``).

    Parameters
    ----------
    replications:
        :attr:`Comparison.replications` (flat KPI columns, ``tier.<name>.<kpi>`` per tier).
    kpi:
        A name in :data:`~collectsim.results.catalogue.KPIS`.
    scope:
        ``all`` or a risk tier name.
    per_accounts:
        Divide portfolio totals by the accounts (of the scope) and multiply by this; 0 keeps totals.
    """
    prefix = "" if scope == "all" else f"tier.{scope}."
    col = prefix + kpi
    if col not in replications:
        return pd.Series(np.nan, index=replications.index)
    v = replications[col].astype(float)
    if per_accounts and KPIS[kpi].total:
        acc = replications[prefix + "accounts"].astype(float).replace(0.0, np.nan)
        v = v / acc * per_accounts
    return v


def comparison_table(
    replications: pd.DataFrame,
    policies: Sequence[str],
    kpis: Sequence[str],
    *,
    per_accounts: int = 1000,
    level: float = 0.95,
    test: str = "t",
    correction: str = "holm",
    scopes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The comparison figures: one row per variant × scope × policy × KPI.

    Parameters
    ----------
    replications:
        One row per (variant, policy, seed) with flat KPI columns.
    policies:
        Policy labels, the champion first.
    kpis:
        KPI names to compare.
    per_accounts, level, test, correction:
        As in :class:`~collectsim.experiments.compare.settings.CompareSettings`.
    scopes:
        ``all`` and/or tier names (default: ``all`` and every tier found).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`. Champion rows carry its mean and interval, with a
        difference of 0; challenger rows the paired difference ``challenger − champion``
        over the seeds both ran, its interval, the Welch half-width the same data would
        give *unpaired*, the p-value, the adjusted p-value, the share of wins (ties count one
        half), and the counts of replications it did better in (``n_better``) and tied
        (``n_tied``: an identical result).
    """
    if scopes is None:
        tiers = dict.fromkeys(
            c.split(".")[1] for c in replications.columns if c.startswith("tier.") and c.endswith(".accounts")
        )
        scopes = ["all", *tiers]
    champion = policies[0]
    rows: list[dict] = []
    for variant, sub in replications.groupby("variant", sort=False):
        for scope in scopes:
            for kpi in kpis:
                info = KPIS[kpi]
                wide = pd.DataFrame(
                    {"seed": sub["seed"], "policy": sub["policy"], "v": normalised(sub, kpi, scope, per_accounts)}
                )
                wide = wide.pivot(index="seed", columns="policy", values="v")
                if champion not in wide or wide.isna().all().all():
                    continue
                x = wide[champion].to_numpy(float)
                family: list[int] = []
                for pol in policies:
                    if pol not in wide:
                        continue
                    y = wide[pol].to_numpy(float)
                    ci = stats.t_interval(y, level)
                    row = {
                        "variant": variant,
                        "scope": scope,
                        "policy": pol,
                        "role": "champion" if pol == champion else "challenger",
                        "kpi": kpi,
                        "unit": unit_of(kpi, per_accounts),
                        "higher_is_better": info.higher_is_better,
                        "n": ci.n,
                        "mean": ci.estimate,
                        "ci_low": ci.low,
                        "ci_high": ci.high,
                        "ci_halfwidth": ci.halfwidth,
                    }
                    if pol == champion:
                        row.update(diff=0.0, diff_ci_low=0.0, diff_ci_high=0.0, diff_ci_halfwidth=0.0)
                    else:
                        paired = stats.paired_difference(
                            x, y, level=level, test=test, higher_is_better=info.higher_is_better
                        )
                        ok = np.isfinite(x) & np.isfinite(y)
                        un = stats.unpaired_difference(x[ok], y[ok], level)
                        d = y[ok] - x[ok]
                        up = info.higher_is_better
                        n_better = int(((d > 0) if up else (d < 0)).sum()) if up is not None else None
                        row.update(
                            diff=paired.interval.estimate,
                            diff_ci_low=paired.interval.low,
                            diff_ci_high=paired.interval.high,
                            diff_ci_halfwidth=paired.interval.halfwidth,
                            unpaired_ci_halfwidth=un.halfwidth,
                            p_value=paired.p_value,
                            p_better=paired.p_better,
                            n_better=n_better,
                            n_tied=int((d == 0).sum()),
                            n=paired.interval.n,
                        )
                        family.append(len(rows))
                    rows.append(row)
                raw = [rows[i]["p_value"] for i in family]
                adj = stats.holm(raw) if correction == "holm" else np.asarray(raw, dtype=float)
                for i, p in zip(family, adj, strict=False):
                    rows[i]["p_adjusted"] = float(p)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def contrast_table(
    replications: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    kpis: Sequence[str],
    *,
    per_accounts: int = 1000,
    level: float = 0.95,
    test: str = "t",
    scopes: Sequence[str] = ("all",),
) -> pd.DataFrame:
    """Paired differences ``policy − reference`` for given pairs of policies (besides the
    champion's column of :func:`comparison_table`): one row per variant × scope × pair × KPI.

    Parameters
    ----------
    replications:
        One row per (variant, policy, seed) with flat KPI columns.
    pairs:
        ``(policy, reference)`` label pairs.
    kpis, per_accounts, level, test, scopes:
        As in :func:`comparison_table`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CONTRAST_COLUMNS`: the mean paired difference over the seeds both
        ran, its t interval, the paired test's p-value (not adjusted for multiplicity), the
        share of pairs the policy did better in (ties one half), the counts better and tied.
    """
    rows: list[dict] = []
    for variant, sub in replications.groupby("variant", sort=False):
        for scope in scopes:
            for kpi in kpis:
                info = KPIS[kpi]
                wide = pd.DataFrame(
                    {"seed": sub["seed"], "policy": sub["policy"], "v": normalised(sub, kpi, scope, per_accounts)}
                ).pivot(index="seed", columns="policy", values="v")
                for pol, ref in pairs:
                    if pol not in wide or ref not in wide or wide[[pol, ref]].isna().all().all():
                        continue
                    x, y = wide[ref].to_numpy(float), wide[pol].to_numpy(float)
                    paired = stats.paired_difference(x, y, level=level, test=test,
                                                     higher_is_better=info.higher_is_better)
                    ok = np.isfinite(x) & np.isfinite(y)
                    d = y[ok] - x[ok]
                    up = info.higher_is_better
                    rows.append({
                        "variant": variant, "scope": scope, "policy": pol, "reference": ref, "kpi": kpi,
                        "unit": unit_of(kpi, per_accounts), "higher_is_better": up, "n": paired.interval.n,
                        "diff": paired.interval.estimate, "diff_ci_low": paired.interval.low,
                        "diff_ci_high": paired.interval.high, "diff_ci_halfwidth": paired.interval.halfwidth,
                        "p_value": paired.p_value, "p_better": paired.p_better,
                        "n_better": int(((d > 0) if up else (d < 0)).sum()) if up is not None else None,
                        "n_tied": int((d == 0).sum()),
                    })
    return pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))


def stress_table(table: pd.DataFrame, headline: str, also: Sequence[str] = ()) -> pd.DataFrame:
    """Policies × variants on the headline KPI, with ranks and where the ranking changes.

    Parameters
    ----------
    table:
        :attr:`Comparison.table` (or ``comparison.csv`` read back).
    headline:
        KPI that ranks the policies (rank 1 = best in its better direction).
    also:
        Further KPIs whose means are shown (columns named after them).

    Returns
    -------
    pandas.DataFrame
        One row per variant × policy: ``mean``, ``ci_halfwidth``, ``diff`` and its
        interval against the champion, ``p_adjusted``, ``rank``, ``base_rank`` and
        ``rank_changed`` (the policy's rank differs from the base scenario's).
    """
    t = table[table["scope"] == "all"]
    head = t[t["kpi"] == headline].copy()
    if head.empty:
        return pd.DataFrame()
    better = KPIS[headline].higher_is_better
    asc = better is False
    head["rank"] = head.groupby("variant", sort=False)["mean"].rank(ascending=asc, method="min").astype("Int64")
    base = head[head["variant"] == "base"].set_index("policy")["rank"]
    head["base_rank"] = head["policy"].map(base).astype("Int64")
    head["rank_changed"] = (head["rank"] != head["base_rank"]).fillna(False).astype(bool)
    cols = [
        "variant",
        "policy",
        "role",
        "mean",
        "ci_halfwidth",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "p_adjusted",
        "rank",
        "base_rank",
        "rank_changed",
    ]
    out = head[cols].reset_index(drop=True)
    for k in also:
        if k == headline:
            continue
        m = t[t["kpi"] == k].set_index(["variant", "policy"])["mean"]
        out[k] = [m.get((v, p), np.nan) for v, p in zip(out["variant"], out["policy"], strict=False)]
    return out
