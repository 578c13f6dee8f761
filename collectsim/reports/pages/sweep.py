"""The page of a ``collectsim sweep`` folder: where the best dose lies, the response of every
KPI with 95 % bands, the paired difference of every point from the best."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from collectsim.reports.common import provenance_rows, read_json, seeds_text
from collectsim.reports.format import format_interval, format_value
from collectsim.reports.page import Page
from collectsim.reports.plots.sweep import write_sweep_plots
from collectsim.results.catalogue import KPIS

__all__ = ["sweep_page", "shape_sentences"]


def _point(levers: list[str], row) -> str:
    return ", ".join(f"{lv} = {row[lv]:g}" for lv in levers)


def shape_sentences(info: dict) -> list[str]:
    """One sentence per line of the first lever's response: where the best value is and how it is reached."""
    settings, kpi = info["settings"], info["kpi"]
    levers = list(settings["levers"])
    first, rest = levers[0], levers[1:]
    label = KPIS[kpi].label if kpi in KPIS else kpi
    out = []
    for sh in info["shape"]:
        at = f" with {rest[0]} = {sh[rest[0]]:g}" if rest else ""
        if sh["interior"] and sh.get("beats_ends"):
            where = "an interior optimum (better than both ends of the grid, paired 95 % intervals)"
        elif sh["interior"]:
            where = "the best value inside the grid, but not clearly better than both ends"
        else:
            where = "the best value at an end of the grid"
        gains = "each extra contact adds less than the one before (diminishing returns)" if sh["diminishing"] else \
            "the gains do not diminish steadily over the grid"
        out.append(f"{label.capitalize()}{at}: {where}, at {first} = {sh['best']:g} "
                   f"({format_value(kpi, sh['best_mean'])}); {gains}.")
    return out


def sweep_page(folder: Path, progress=None) -> Page:
    """The page of a sweep folder (``progress``: optional callback told of each plot drawn)."""
    info = read_json(folder / "sweep.json")
    settings, meta, kpi = info["settings"], info.get("meta", {}), info["kpi"]
    levers = list(settings["levers"])
    summary = pd.read_csv(folder / "sweep_summary.csv")
    versus = pd.read_csv(folder / "sweep_versus_best.csv")
    paired = pd.read_csv(folder / "sweep_paired.csv")
    whose = f"the {settings['tier']} risk tier's" if settings.get("scope", "tier") == "tier" else "the whole book's"
    page = Page(
        title=f"Dose-response: {meta.get('experiment', folder.name)} · {settings['tier']} risk tier",
        subtitle=(f"{int(meta.get('accounts', 0)):,} accounts × {meta.get('days', '?')} days; KPIs are {whose}; base policy "
                  f"{meta.get('base_policy', '?')}; {settings['reps']} replications per point on seeds "
                  f"{seeds_text(meta.get('seeds', []))} (the same seeds at every point: differences are paired)."),
    )
    page.add("lead", shape_sentences(info))
    pngs = [f"sweep_{k}.png" for k in settings["kpis"]]
    if not all((folder / p).is_file() for p in pngs):
        write_sweep_plots(summary, paired, settings["kpis"], levers, folder, tier=settings["tier"], progress=progress)
    page.add("h2", "Response")
    for k, p in zip(settings["kpis"], pngs, strict=True):
        page.add("img", p, f"{KPIS[k].label if k in KPIS else k} against {levers[0]}: mean, and paired change with "
                 "its 95 % band")
    page.add("h2", f"Every point: {KPIS[kpi].label if kpi in KPIS else kpi}, and its paired difference from the best")
    s = summary[summary["kpi"] == kpi].merge(versus, on=levers)
    rows = []
    for _, r in s.iterrows():
        rows.append([(_point(levers, r), "l"), format_value(kpi, r["mean"]), format_interval(kpi, r["lo_x"], r["hi_x"]),
                     format_interval(kpi, r["lo_y"], r["hi_y"], diff=True)])
    page.add("table", ["point", "mean", "95 % interval", "difference from the best, 95 %"], rows)
    others = [k for k in settings["kpis"] if k != kpi]
    if others:
        page.add("h2", "The other KPIs at every point")
        wide = summary[summary["kpi"].isin(others)]
        rows = []
        for point, g in wide.groupby(levers, sort=True):
            point = point if isinstance(point, tuple) else (point,)
            cells = [(", ".join(f"{lv} = {v:g}" for lv, v in zip(levers, point, strict=True)), "l")]
            for k in others:
                r = g[g["kpi"] == k].iloc[0]
                cells.append(f"{format_value(k, r['mean'])} {format_interval(k, r['lo'], r['hi'])}")
            rows.append(cells)
        page.add("table", ["point", *[KPIS[k].label if k in KPIS else k for k in others]], rows)
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], provenance_rows(meta))
    return page
