"""The page of a ``collectsim run`` folder: KPIs, per-tier table, contacts, rules, plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from collectsim.reports.common import provenance_rows, read_json, toml_text
from collectsim.reports.format import format_number, format_value
from collectsim.reports.page import Page
from collectsim.reports.plots.run import plot_review_shares, write_run_plots
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
    if (folder / "reviews.csv").is_file():
        _add_reviews(page, folder, summary.get("policy") or {}, f"{meta.get('experiment', '')} · {pol}")
    if summary.get("policy"):
        page.add("h2", "Policy")
        page.add("pre", toml_text({"policy": summary["policy"]}))
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], provenance_rows(meta))
    return page

def _add_reviews(page: Page, folder: Path, policy: dict, title: str) -> None:
    """The strategy reviews of a policy that evaluates and adjusts during the run (reviews.csv):
    a traffic plot and, per tier, each review's period KPIs, what changed and why."""
    rv = pd.read_csv(folder / "reviews.csv")
    if rv.empty:
        return
    per_balance = policy.get("per") == "balance"
    col, unit = (("value_per_100_balance", "per 100 of balance") if per_balance
                 else ("value_per_account_day", "per account-day"))
    arms = [a for a in dict.fromkeys(rv["arm"]) if a != "holdout"]
    days = sorted(rv["day"].unique())
    page.add("h2", "Strategy reviews")
    page.add("p", (
        f"The policy reviewed its strategy {len(days)} times (days {days[0]}–{days[-1]}), each "
        f"{'tier × DPD bucket' if policy.get('by') == 'tier_bucket' else 'tier'} on its own: it "
        f"valued each arm's accounts of the period before (cash less contact cost"
        f"{' and ' + format_number(policy['complaint_cost']) + ' per complaint' if policy.get('complaint_cost') else ''}"
        f"{', plus the books’ value of cures and charge-offs' if policy.get('reward') == 'value' else ''} within the "
        f"attribution window, {unit}) and moved the tier's traffic by Thompson sampling. The holdout stays on the "
        "champion arm and is not learnt from. Every row and column: reviews.csv in this folder."
    ))
    if not (folder / "reviews.png").is_file():
        plot_review_shares(rv, folder / "reviews.png", title=title)
    page.add("img", "reviews.png", "Traffic per arm after each review, by tier")
    rv["bucket"] = rv["bucket"].fillna("*") if "bucket" in rv else "*"
    for tier, bucket in dict.fromkeys(zip(rv["tier"], rv["bucket"], strict=True)):
        mine = rv[(rv["tier"] == tier) & (rv["bucket"] == bucket)]
        if bucket != "*" and mine["accounts"].sum() == 0:
            continue  # a tier × bucket that never held an account
        rows = []
        for day, g in mine.groupby("day", sort=True):
            by = g.set_index("arm")
            learnt = by.loc[arms]
            if learnt["accounts"].sum() == 0:
                change = "none: no period had matured"
                why = "shares from the prior"
            else:
                moved = (learnt["share_after"] - learnt["share_before"]).abs().idxmax()
                change = (f"{moved} {100 * learnt.loc[moved, 'share_before']:.0f} → "
                          f"{100 * learnt.loc[moved, 'share_after']:.0f} %")
                lead = learnt["p_best"].idxmax()
                why = (f"{lead} best with P = {learnt.loc[lead, 'p_best']:.2f} "
                       f"({format_number(learnt.loc[lead, 'posterior_mean'])} ± "
                       f"{format_number(learnt.loc[lead, 'posterior_sd'])})")
            period = ("–" if pd.isna(g["period_start"].iloc[0])
                      else f"{int(g['period_start'].iloc[0])}–{int(g['period_end'].iloc[0]) - 1}")
            rows.append([
                str(day), period, f"{int(g['accounts'].sum()):,}", format_number(g["cash"].sum()),
                format_number(g["contact_cost"].sum()), format_number(g["resolution_value"].sum()),
                f"{int(g['complaints'].sum()):,}" if "complaints" in g else "–",
                *[format_number(by.loc[a, col]) if pd.notna(by.loc[a, col]) else "–" for a in arms],
                *[f"{100 * by.loc[a, 'share_after']:.0f} %" for a in arms],
                (change, "l"), (why, "l"),
            ])
        page.add("h3", f"{tier} risk" + ("" if bucket == "*" else f", {bucket}"))
        page.add("table", ["day", "period", "accounts", "cash", "contact cost", "resolution value", "complaints",
                           *[f"{a}: value {unit}" for a in arms], *[f"{a}: share after" for a in arms],
                           "largest change", "why"], rows)


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
