"""The page of a ``collectsim run`` folder: KPIs, per-tier table, contacts, rules, plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from collectsim.reports.common import provenance_rows, read_json, toml_text
from collectsim.reports.format import format_number, format_value
from collectsim.reports.page import Page
from collectsim.reports.plots.run import write_run_plots
from collectsim.results.catalogue import COMPARE_DEFAULT, KPIS

__all__ = ["run_page", "kpi_value_table"]

# ------------------------------------------------------------------ run page --------------
def run_page(folder: Path, progress=None) -> Page:
    """The page of a run folder (``progress``: optional callback told of each plot redrawn)."""
    summary = read_json(folder / "summary.json")
    k, tiers, meta = summary.get("kpis", {}), summary.get("tiers", {}), summary.get("meta", {})
    pol = meta.get("policy", "?")
    page = Page(
        title=f"Run: {meta.get('experiment', folder.name)} · {pol} · seed {meta.get('seed', '?')}",
        subtitle=f"{int(meta.get('accounts', k.get('accounts', 0)) or 0):,} accounts × {meta.get('days', '?')} days, "
        "one replication.",
    )
    if k:
        page.add(
            "lead",
            [
                _run_sentence(k, pol, meta),
                "One replication carries no interval: use `collectsim compare` for paired intervals "
                "against a champion.",
            ],
        )
        page.add("h2", "KPIs")
        page.add("table", *kpi_value_table(k))
    if tiers:
        page.add("h2", "By risk tier")
        page.add("table", *_tier_table(tiers))
    if k.get("contacts"):
        page.add("h2", "Contacts")
        chans = list(k["contacts"])
        page.add(
            "table",
            ["", *chans],
            [
                [("executed", "l"), *[f"{k['contacts'][c]:,}" for c in chans]],
                [("reached", "l"), *[f"{k.get('reached', {}).get(c, 0):,}" for c in chans]],
            ],
        )
    if k.get("blocked") or k.get("violations") is not None:
        rows = [[(f"blocked by {r}", "l"), f"{v:,}"] for r, v in (k.get("blocked") or {}).items()]
        if k.get("violations_total") is not None:
            rows.append([("violations found by the audit", "l"), str(k["violations_total"])])
        page.add("h2", "Contact rules")
        page.add("table", ["", "count"], rows)
    pngs = ["recovery.png", "bucket_flow.png", "contacts.png"]
    if not all((folder / p).is_file() for p in pngs) and (folder / "daily.parquet").is_file():
        write_run_plots(
            pd.read_parquet(folder / "daily.parquet"), folder, title=f"{meta.get('experiment', '')} · {pol}",
            progress=progress,
        )
    captions = {
        "recovery.png": "Recovery curve",
        "bucket_flow.png": "DPD-bucket flow",
        "contacts.png": "Contacts and complaints by day",
    }
    shown = [p for p in pngs if (folder / p).is_file()]
    if shown:
        page.add("h2", "Plots")
        for p in shown:
            page.add("img", p, captions[p])
    if summary.get("policy"):
        page.add("h2", "Policy")
        page.add("pre", toml_text({"policy": summary["policy"]}))
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], provenance_rows(meta))
    return page

def _run_sentence(k: dict, pol: str, meta: dict) -> str:
    acc = k.get("accounts") or meta.get("accounts") or 0
    nr = k.get("net_recovery")
    per = f" (net recovery {format_number(1000 * nr / acc)} per 1,000 accounts)" if acc and nr is not None else ""
    parts = [
        f"Policy {pol} recovered {format_value('recovery_rate', k.get('recovery_rate'))} of the balance at entry{per}"
    ]
    if k.get("complaints_per_1k_worked") is not None:
        parts.append(f"with {format_number(k['complaints_per_1k_worked'])} complaints per 1,000 accounts worked")
    if k.get("churn_rate") is not None:
        parts.append(f"and a churn rate of {format_value('churn_rate', k['churn_rate'])}")
    return " ".join(parts) + f" over {meta.get('days', '?')} days."

def kpi_value_table(k: dict):
    """Every KPI of ``k`` with its label and formatted value (catalogue order first)."""
    names = [n for n in COMPARE_DEFAULT if n in k] + [n for n in KPIS if n in k and n not in COMPARE_DEFAULT]
    names += [n for n, v in k.items() if n not in names and isinstance(v, (int, float)) and not isinstance(v, bool)]
    rows = []
    for n in names:
        label = KPIS[n].label if n in KPIS else n.replace("_", " ")
        rows.append([(label, "l"), (n, "l dim"), format_value(n, k[n]) if k[n] is not None else "–"])
    return ["KPI", "name", "value"], rows

def _tier_table(by_tier: dict):
    tiers = list(by_tier)
    rows = [[("accounts", "l"), *[f"{int(by_tier[t].get('accounts', 0)):,}" for t in tiers]]]
    for n in COMPARE_DEFAULT:
        if all(n in by_tier[t] for t in tiers):
            rows.append(
                [
                    (KPIS[n].label, "l"),
                    *[format_value(n, by_tier[t][n]) if by_tier[t][n] is not None else "–" for t in tiers],
                ]
            )
    return ["KPI", *[f"{t} risk" for t in tiers]], rows
