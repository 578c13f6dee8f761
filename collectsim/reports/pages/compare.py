"""The page of a ``collectsim compare`` folder: headline sentences, the KPI table with
intervals, recovery curves, bucket flow, complaints and churn, per-tier figures, the stress
table and provenance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.experiments.compare import stress_table
from collectsim.reports.common import provenance_rows, read_json
from collectsim.reports.format import format_diff, format_interval, format_number, format_p, format_value
from collectsim.reports.page import Page
from collectsim.reports.plots.compare import write_compare_plots
from collectsim.results.catalogue import KPIS

__all__ = ["compare_page", "headline_sentences", "contrast_sentences"]

# ------------------------------------------------------------------ headline sentences ---
def _effect(kpi: str, d: float, per_accounts: int) -> str:
    """``d`` in words: "2.10 more complaints per 1,000 accounts worked", "churn rate 1.2 pts higher"."""
    info = KPIS[kpi]
    if info.unit == "share":
        return f"{info.label} {format_number(abs(100 * d))} pts {'higher' if d >= 0 else 'lower'}"
    if info.unit == "ratio":
        return f"{info.label} {format_number(abs(d))} {'higher' if d >= 0 else 'lower'}"
    more = "more" if d >= 0 else ("less" if info.unit == "money" else "fewer")
    per = (f" per {per_accounts:,} accounts" if per_accounts else " in total") if info.total else ""
    return f"{format_number(abs(d))} {more} {info.label}{per}"

def _main_clause(kpi: str, d: float, per_accounts: int) -> str:
    per = f" per {per_accounts:,} accounts" if per_accounts else " in total"
    more = "more" if d >= 0 else "less"
    if kpi == "net_value":
        return f"is worth {format_number(abs(d))} {more}{per} (net value: cash, cured balances and the open book, less costs)"
    if kpi == "net_recovery":
        return f"recovers {format_number(abs(d))} {more}{per} net of costs"
    if kpi in ("collected", "discounted_collected"):
        return f"collects {format_number(abs(d))} {more}{per}"
    if kpi in ("recovery_rate", "overdue_recovery_rate"):
        of = "balance" if kpi == "recovery_rate" else "overdue amount"
        return f"recovers {format_number(abs(100 * d))} pts {more} of the {of}"
    return "shows " + _effect(kpi, d, per_accounts)


def _range(kpi: str, lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "not computable"
    sc = 100.0 if KPIS[kpi].unit == "share" else 1.0
    a, b = format_number(sc * lo), format_number(sc * hi)
    unit = " pts" if sc == 100.0 else ""
    return f"{a}–{b}{unit}" if lo >= 0 else f"{a} to {b}{unit}"

def headline_sentences(table: pd.DataFrame, summary: dict) -> list[str]:
    """One sentence per challenger on the headline KPI and its side effects, best first.

    Parameters
    ----------
    table:
        The comparison table (``Comparison.table`` or ``comparison.csv``).
    summary:
        ``Comparison.summary()`` (or ``summary.json``): champion, challengers, headline,
        headline_also, per_accounts, level.

    Returns
    -------
    list of str
        E.g. "Challenger max-legal recovers 1,234 more per 1,000 accounts net of costs (95%
        CI 1,010–1,460) than seed-champion, with 48.9 more complaints per 1,000 accounts
        worked and churn rate 23.5 pts higher; better in 10 of 10 paired replications,
        Holm-adjusted p < 0.001."
    """
    head, also = summary["headline"], [k for k in summary.get("headline_also", []) if k != summary["headline"]]
    per = int(summary.get("per_accounts", 0) or 0)
    level = int(round(100 * float(summary.get("level", 0.95))))
    t = table[(table["variant"] == "base") & (table["scope"] == "all") & (table["role"] == "challenger")]
    rows = t[t["kpi"] == head].copy()
    better = KPIS[head].higher_is_better
    rows["_key"] = -rows["diff"] if better is not False else rows["diff"]
    corr = "Holm-adjusted " if summary.get("correction", "holm") == "holm" and len(rows) > 1 else ""
    out = []
    for _, r in rows.sort_values("_key").iterrows():
        pol = r["policy"]
        side = []
        for k in also:
            s = t[(t["kpi"] == k) & (t["policy"] == pol)]
            if len(s) and np.isfinite(s["diff"].iloc[0]):
                side.append(_effect(k, float(s["diff"].iloc[0]), per))
        with_ = f", with {' and '.join(side)}" if side else ""
        wins_s = _wins_text(r)
        p = r["p_adjusted"]
        p_s = f"{corr}p {format_p(p)}" if format_p(p).startswith("<") else f"{corr}p = {format_p(p)}"
        clear = ""
        if np.isfinite(r["diff_ci_low"]) and r["diff_ci_low"] <= 0 <= r["diff_ci_high"]:
            clear = f" The interval includes zero: no clear difference at {level}% confidence."
        out.append(
            f"Challenger {pol} {_main_clause(head, float(r['diff']), per)} "
            f"({level}% CI {_range(head, r['diff_ci_low'], r['diff_ci_high'])}) than {summary['champion']}"
            f"{with_}; {wins_s}, {p_s}.{clear}"
        )
    return out

def contrast_sentences(contrasts: pd.DataFrame, summary: dict, variants: Sequence[str] | None = None) -> list[str]:
    """One sentence per policy and ``also_against`` reference on the headline KPI and its
    side effects (portfolio-wide), per variant (``variants``: default all, ``base`` first).

    Parameters
    ----------
    contrasts:
        ``Comparison.contrasts`` (or ``contrasts.csv``).
    summary:
        ``Comparison.summary()`` (or ``summary.json``).
    variants:
        Which variants to describe (default: every variant in ``contrasts``).

    Returns
    -------
    list of str
        E.g. "Against hindsight-best (base): adaptive is worth 812 less per 1,000 accounts
        (net value: ...) (95% CI 1,310 to 314 less), with ...; better in 2 of 16 paired
        replications, p = 0.003 (not adjusted)."
    """
    if contrasts is None or not len(contrasts):
        return []
    head, also = summary["headline"], [k for k in summary.get("headline_also", []) if k != summary["headline"]]
    per = int(summary.get("per_accounts", 0) or 0)
    level = int(round(100 * float(summary.get("level", 0.95))))
    t = contrasts[contrasts["scope"] == "all"]
    out = []
    for variant in variants or list(dict.fromkeys(t["variant"])):
        tv = t[t["variant"] == variant]
        for _, r in tv[tv["kpi"] == head].iterrows():
            pol, ref = r["policy"], r["reference"]
            side = []
            for k in also:
                x = tv[(tv["kpi"] == k) & (tv["policy"] == pol) & (tv["reference"] == ref)]
                if len(x) and np.isfinite(x["diff"].iloc[0]):
                    side.append(_effect(k, float(x["diff"].iloc[0]), per))
            with_ = f", with {' and '.join(side)}" if side else ""
            p = r["p_value"]
            p_s = f"p {format_p(p)}" if format_p(p).startswith("<") else f"p = {format_p(p)}"
            clear = ""
            if np.isfinite(r["diff_ci_low"]) and r["diff_ci_low"] <= 0 <= r["diff_ci_high"]:
                clear = f" The interval includes zero: no clear difference at {level}% confidence."
            out.append(
                f"Against {ref} ({variant}): {pol} {_main_clause(head, float(r['diff']), per)} "
                f"({level}% CI {_range(head, r['diff_ci_low'], r['diff_ci_high'])}){with_}; "
                f"{_wins_text(r)}, {p_s} (not adjusted).{clear}"
            )
    return out


def _wins_text(r: pd.Series) -> str:
    """How the paired replications went: "better in 7 of 10", "tied in all 10", "better in 4, tied in 2 of 10"."""
    n = int(r["n"])
    better, tied = r.get("n_better"), r.get("n_tied")
    if better is None or not np.isfinite(better):
        return f"{n} paired replications"
    better, tied = int(better), int(tied or 0)
    if tied == n:
        return f"identical in all {n} paired replications"
    if tied:
        return f"better in {better}, identical in {tied} of {n} paired replications"
    return f"better in {better} of {n} paired replications"


# ------------------------------------------------------------------ compare page ----------
def sig_class(kpi: str, lo: float, hi: float) -> str:
    better = KPIS[kpi].higher_is_better
    if better is None or not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 <= hi:
        return ""
    up = lo > 0
    return "good" if up == better else "bad"

def compare_page(folder: Path, progress=None) -> Page:
    """The page of a comparison folder (``progress``: optional callback told of each plot written)."""
    summary = read_json(folder / "summary.json")
    for key in ("champion", "challengers", "headline"):
        if key not in summary:
            raise InputError(f"{folder / 'summary.json'}: missing {key!r}; not a comparison summary")
    table = pd.read_csv(folder / "comparison.csv")
    daily = pd.read_parquet(folder / "daily.parquet")
    meta = summary.get("meta", {})
    champion = summary["champion"]
    policies = [champion, *summary["challengers"]]
    head = summary["headline"]
    also = [k for k in summary.get("headline_also", []) if k != head]
    per = int(summary.get("per_accounts", 0) or 0)
    level = float(summary.get("level", 0.95))
    lv = int(round(100 * level))
    stress = stress_table(table, head, also)
    images = write_compare_plots(
        folder, daily, table, stress, policies, head, [head, *also], level=level, per_accounts=per, progress=progress
    )

    n = int(summary.get("stopping", {}).get("reps", len(summary.get("seeds", []))))
    variants = summary.get("variants", [{"name": "base"}])
    page = Page(
        title=f"Champion versus challengers: {meta.get('experiment', folder.name)}",
        subtitle=(
            f"{int(meta.get('accounts', 0)):,} accounts × {meta.get('days', '?')} days; {n} paired replications "
            f"per policy (same seeds for every policy); {len(variants)} scenario(s). Champion: {champion}. "
            + (f"Money and counts are per {per:,} accounts." if per else "Money and counts are portfolio totals.")
        ),
    )
    page.add("lead", headline_sentences(table, summary))
    stop = summary.get("stopping", {})
    page.add("p", _stopping_text(stop, head))
    base = table[(table["variant"] == "base") & (table["scope"] == "all")]
    hb = base[(base["kpi"] == head) & (base["role"] == "challenger")]
    ratio = (hb["unpaired_ci_halfwidth"] / hb["diff_ci_halfwidth"]).replace([np.inf, -np.inf], np.nan).dropna()
    if len(ratio):
        r = float(ratio.median())
        gain = (
            f"Pairing made the {KPIS[head].label} intervals {r:.1f}× narrower (median over challengers) than an "
            "unpaired comparison of the same runs would give."
            if r >= 1.0
            else f"Here the paired intervals are not narrower than unpaired ones would be (ratio {r:.2f}): with "
            f"{n} replications the estimated spreads are themselves noisy; add replications (--reps, --target-ci)."
        )
        page.add(
            "p",
            f"Common random numbers: every policy met the same simulated borrowers and the same luck on the same "
            f"seeds, so each challenger's result pairs with the champion's. {gain}",
        )

    page.add("h2", "KPIs (base scenario, all accounts)")
    page.add(
        "p",
        f"Mean over replications with its {lv}% t interval; Δ is challenger − {champion} on the same seeds, "
        "with a paired "
        f"{lv}% interval; p is a paired {'t' if summary.get('test', 't') == 't' else 'Wilcoxon signed-rank'} test"
        f"{', Holm-adjusted across challengers' if summary.get('correction', 'holm') == 'holm' else ''}; "
        "P(better) is the share of replications in which the challenger did better. "
        "Green: clearly better, red: clearly worse.",
    )
    page.add("table", *_kpi_table(base, summary["kpis"], policies))
    contrasts_file = folder / "contrasts.csv"
    if contrasts_file.exists():
        contrasts = pd.read_csv(contrasts_file)
        refs = ", ".join(dict.fromkeys(contrasts["reference"]))
        page.add("h2", f"Against {refs}")
        page.add(
            "p",
            f"Paired differences policy − reference on the same seeds ([compare] also_against), with {lv}% t "
            "intervals and paired p-values not adjusted for multiplicity; every variant.",
        )
        for line in contrast_sentences(contrasts, summary):
            page.add("p", line)
        page.add("table", *_contrast_table(contrasts, [head, *also]))
    page.add("h2", "Recovery curves")
    page.add(
        "img",
        "recovery_curves.png",
        "Cumulative recovery of every policy (left) and its paired difference to the champion (right)",
    )
    page.add("h2", "DPD-bucket flow")
    page.add("img", "bucket_flow.png", "Accounts by DPD bucket and by resolution, mean over replications")
    page.add("h2", "Complaints and churn")
    page.add("img", "complaints_churn.png", "Cumulative complaints and opt-outs per 1,000 accounts; churn")
    page.add("h2", "By risk tier")
    page.add("img", "tiers.png", "Per-tier means with 95% intervals")
    page.add("table", *_tier_table(table, [head, *also], policies))
    if len(variants) > 1 and len(stress):
        page.add("h2", "What-if stress")
        desc = "; ".join(
            f"{v['name']}: {v.get('description') or _overrides_text(v.get('overrides', {}))}" for v in variants[1:]
        )
        page.add("p", f"Every policy ran every variant on the same seeds. Variants — {desc}.")
        for v in dict.fromkeys(stress["variant"]):
            page.add("p", _ranking_text(stress, v, head))
        page.add(
            "p",
            "Ranks order the means; a rank change between policies whose intervals overlap is within the noise. "
            "The Δ column (paired against the champion) says whether a gap is clear.",
        )
        page.add("table", *_stress_table(stress, head, also, policies))
        if "stress.png" in images:
            page.add("img", "stress.png", f"{KPIS[head].label} under every variant")
    page.add("h2", "Policies")
    rows = []
    for p in policies:
        src = "rule table (policies/ in this folder)" if p in summary.get("policy_tables", {}) else "built-in"
        rows.append([(p, "l"), "champion" if p == champion else "challenger", (src, "l")])
    page.add("table", ["policy", "role", "source"], rows)
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], provenance_rows(meta))
    page.add(
        "p",
        "Files: comparison.csv (every figure above, also per tier and variant), stress.csv, replications.parquet "
        "(one row per variant × policy × seed), daily.parquet, summary.json, config.toml (re-runnable), PNG plots.",
    )
    return page

def _stopping_text(stop: dict, head: str) -> str:
    reason = stop.get("reason", "fixed")
    n, hw, unit = stop.get("reps"), stop.get("achieved_halfwidth"), stop.get("unit", "")
    hw_s = format_diff(head, hw).lstrip("+") if hw is not None else "–"
    if reason == "fixed":
        return f"Replications: {n}, fixed in advance (largest {KPIS[head].label} difference half-width {hw_s}, {unit})."
    tgt = format_diff(head, stop.get("target_ci")).lstrip("+")
    if reason == "target reached":
        return (
            f"Replications: {n}, added until every headline difference was known to ±{tgt} ({unit}); "
            f"target reached (half-width {hw_s})."
        )
    if reason == "cap reached":
        return (
            f"Replications: {n}, the cap, reached before the target ±{tgt} ({unit}): the half-width is still {hw_s}. "
            "Read the headline with that precision in mind, or raise --max-reps."
        )
    return f"Replications: {n}; the headline half-width could not be computed ({reason})."

def _kpi_table(base: pd.DataFrame, kpis: Sequence[str], policies: Sequence[str]):
    cols = ["KPI", "policy", "mean [95% CI]", "Δ vs champion [95% CI]", "p (adj.)", "P(better)"]
    rows = []
    for kpi in kpis:
        sub = base[base["kpi"] == kpi].set_index("policy")
        first = True
        for p in policies:
            if p not in sub.index:
                continue
            r = sub.loc[p]
            unit = "" if str(r["unit"]) in KPIS[kpi].label else f" ({r['unit']})"
            label = (f"{KPIS[kpi].label}{unit}", "l kpi") if first else ""
            first = False
            mean = (
                f"{format_value(kpi, r['mean'])} {format_interval(kpi, r['ci_low'], r['ci_high'])}"
                if np.isfinite(r["mean"])
                else "–"
            )
            if r["role"] == "champion":
                rows.append([label, (p, "l champ"), mean, "", "", ""])
                continue
            cls = sig_class(kpi, r["diff_ci_low"], r["diff_ci_high"])
            pb = f"{100 * r['p_better']:.0f}%" if np.isfinite(r["p_better"]) else "–"
            diff = _diff_text(kpi, r)
            rows.append([label, (p, "l"), mean, (diff, cls), format_p(r["p_adjusted"]), pb])
    return cols, rows

def _contrast_table(contrasts: pd.DataFrame, kpis: Sequence[str]):
    """Variant × pair rows, portfolio-wide: Δ [95% CI] per KPI, the headline's p and wins."""
    t = contrasts[contrasts["scope"] == "all"]
    cols = ["variant", "policy − reference", *[f"Δ {KPIS[k].label} [95% CI]" for k in kpis], "p", "better in"]
    rows = []
    for (variant, pol, ref), g in t.groupby(["variant", "policy", "reference"], sort=False):
        row: list[Any] = [(variant, "l"), (f"{pol} − {ref}", "l")]
        for k in kpis:
            x = g[g["kpi"] == k]
            row.append((_diff_text(k, x.iloc[0]), sig_class(k, x["diff_ci_low"].iloc[0], x["diff_ci_high"].iloc[0]))
                       if len(x) else "–")
        h = g[g["kpi"] == kpis[0]]
        row += [format_p(h["p_value"].iloc[0]) if len(h) else "–",
                f"{int(h['n_better'].iloc[0])} of {int(h['n'].iloc[0])}" if len(h) and np.isfinite(h["n_better"].iloc[0])
                else "–"]
        rows.append(row)
    return cols, rows


def _diff_text(kpi: str, r: pd.Series) -> str:
    if not np.isfinite(r["diff"]):
        return "–"
    return f"{format_diff(kpi, r['diff'])} {format_interval(kpi, r['diff_ci_low'], r['diff_ci_high'], diff=True)}"

def _tier_table(table: pd.DataFrame, kpis: Sequence[str], policies: Sequence[str]):
    """Tier × policy rows; per KPI one cell: the mean, and for challengers Δ [95% CI] below it."""
    t = table[(table["variant"] == "base") & (table["scope"] != "all")]
    cols = ["tier", "policy", *[f"{KPIS[k].label}: mean / Δ [95% CI]" for k in kpis]]
    rows = []
    for tier in dict.fromkeys(t["scope"]):
        for p in policies:
            row: list[Any] = [(f"{tier} risk", "l"), (p, "l champ" if p == policies[0] else "l")]
            for k in kpis:
                s = t[(t["scope"] == tier) & (t["policy"] == p) & (t["kpi"] == k)]
                if s.empty:
                    row.append("–")
                    continue
                r = s.iloc[0]
                if p == policies[0]:
                    row.append(format_value(k, r["mean"]))
                else:
                    cls = sig_class(k, r["diff_ci_low"], r["diff_ci_high"])
                    row.append((f"{format_value(k, r['mean'])}\n{_diff_text(k, r)}", cls))
            rows.append(row)
    return cols, rows

def _overrides_text(ov: dict, prefix: str = "") -> str:
    parts = []
    for k, v in ov.items():
        if isinstance(v, dict):
            parts.append(_overrides_text(v, f"{prefix}{k}."))
        elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            for i in v:
                name = i.get("name", "?")
                parts.append(_overrides_text({kk: vv for kk, vv in i.items() if kk != "name"}, f"{prefix}{k}[{name}]."))
        else:
            parts.append(f"{prefix}{k} = {v}")
    return ", ".join(p for p in parts if p)

def _ranking_text(stress: pd.DataFrame, variant: str, head: str) -> str:
    s = stress[stress["variant"] == variant].sort_values("rank")
    order = " > ".join(f"{p} ({format_value(head, m)})" for p, m in zip(s["policy"], s["mean"], strict=False))
    changed = s[s["rank_changed"]]
    if variant == "base":
        return f"Ranking on {KPIS[head].label}, base scenario: {order}."
    if changed.empty:
        return f"Under {variant}: {order} — same ranking as the base scenario."
    moves = ", ".join(
        f"{p} #{int(b)}→#{int(r)}" for p, b, r in zip(changed["policy"], changed["base_rank"], changed["rank"], strict=False)
    )
    return f"Under {variant}: {order} — the ranking changes ({moves})."

def _stress_table(stress: pd.DataFrame, head: str, also: Sequence[str], policies: Sequence[str]):
    cols = [
        "scenario",
        "policy",
        f"{KPIS[head].label} [95% CI]",
        "rank",
        "Δ vs champion [95% CI]",
        *[KPIS[k].label for k in also],
    ]
    rows = []
    for v in dict.fromkeys(stress["variant"]):
        first = True
        for p in policies:
            s = stress[(stress["variant"] == v) & (stress["policy"] == p)]
            if s.empty:
                continue
            r = s.iloc[0]
            row: list[Any] = [(v, "l") if first else "", (p, "l champ" if p == policies[0] else "l")]
            first = False
            row.append(f"{format_value(head, r['mean'])} ±{format_diff(head, r['ci_halfwidth']).lstrip('+')}")
            rank = f"#{int(r['rank'])}" if pd.notna(r["rank"]) else "–"
            if bool(r["rank_changed"]):
                rank += f" (base #{int(r['base_rank'])})"
            row.append((rank, "changed" if bool(r["rank_changed"]) else ""))
            if p == policies[0]:
                row.append("")
            else:
                cls = sig_class(head, r["diff_ci_low"], r["diff_ci_high"])
                row.append((_diff_text(head, r), cls))
            row += [format_value(k, r[k]) if k in r else "–" for k in also]
            rows.append(row)
    return cols, rows
