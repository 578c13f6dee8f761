"""The page of an optimizer folder: whichever of ``validation.json``, ``trials.csv``,
``best_policy.toml`` and the plots it holds."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.reports.common import provenance_rows, read_json
from collectsim.reports.format import format_number, format_value
from collectsim.reports.page import Page
from collectsim.reports.pages.run import kpi_value_table
from collectsim.reports.plots.optimize import write_optimize_plots, write_trial_values_plot
from collectsim.results.catalogue import KPIS

__all__ = ["optimize_page"]

# ------------------------------------------------------------------ optimize page ---------
#: Plots an optimizer folder may hold (written by the optimizer), in report order.
_OPTIMIZE_PLOTS = {
    "history.png": "Optimization history",
    "pareto_front.png": "Trade-off between the objectives",
    "importances.png": "Parameter importances",
}

def optimize_page(folder: Path, progress=None) -> Page:
    """An optimizer folder: whichever of validation.json, trials.csv, best_policy.toml, plots it holds
    (``progress``: optional callback told of each plot written)."""
    page = Page(title=f"Optimization: {folder.name}", subtitle="Optimizer result folder.")
    docs: dict[str, dict] = {}
    for name in ("validation.json", "summary.json"):
        if (folder / name).is_file():
            try:
                docs[name] = read_json(folder / name)
            except InputError as e:
                page.add("p", f"{name} could not be read: {e}")
    validation, summary = docs.get("validation.json", {}), docs.get("summary.json", {})
    meta = next((d["meta"] for d in (validation, summary) if isinstance(d.get("meta"), dict)), {})
    if meta.get("experiment"):
        page.title = f"Optimization: {meta['experiment']}"
    best = validation.get("best") if isinstance(validation.get("best"), dict) else None
    if best:
        note = [str(best["note"])] if best.get("note") and best.get("role") != "champion" else []
        page.add("lead", [_optimize_sentence(best, validation), *note])
    if validation:
        page.add("h2", "Validation")
        shown = {k: validation[k] for k in ("objective", "best", "replications", "search") if k in validation}
        if not shown:  # an unknown layout: show it all, flattened
            shown = {k: v for k, v in validation.items() if k != "meta"}
        flat = _flatten(shown)
        rows = [[(key, "l"), (_fmt_any(key, v), "l")] for key, v in list(flat.items())[:200]]
        page.add("table", ["field", "value"], rows)
        if isinstance(validation.get("candidates"), list):
            page.add("p", f"{len(validation['candidates'])} validated candidate(s); details in validation.json.")
    trials = None
    if (folder / "trials.csv").is_file():
        try:
            trials = pd.read_csv(folder / "trials.csv")
        except (OSError, ValueError) as e:
            page.add("p", f"trials.csv could not be read: {e}")
    if trials is not None and validation.get("objective"):
        _write_plots(folder, trials, validation, meta, progress)
    plots = [n for n in _OPTIMIZE_PLOTS if (folder / n).is_file()]
    if trials is not None or plots:
        page.add("h2", "Trials")
    if trials is not None:
        direction = str(validation.get("direction") or summary.get("direction") or "maximize")
        value_col = next((c for c in ("objective", "value", "values_0") if c in trials.columns), None)
        ok = value_col is not None and trials[value_col].notna().any()
        page.add("p", f"{len(trials):,} trials" + (f"; objective column '{value_col}'." if ok else "."))
        if ok and not plots:
            write_trial_values_plot(trials, value_col, direction, folder / "optimize_trials.png")
            plots = ["optimize_trials.png"]
        if ok:
            top = trials.sort_values(value_col, ascending=direction.startswith("min")).head(10)
            cols = [c for c in top.columns if not c.startswith(("datetime", "duration", "system_attrs"))][:10]
            rows = [[_fmt_any(c, v) for c, v in zip(cols, r, strict=True)] for r in top[cols].itertuples(index=False)]
            page.add("table", cols, rows)
    for name in plots:
        page.add("img", name, _OPTIMIZE_PLOTS.get(name, "Objective of every trial and the best so far"))
    if (folder / "best_policy.toml").is_file():
        page.add("h2", "Best policy")
        text = (folder / "best_policy.toml").read_text(errors="replace")
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            page.add("p", f"best_policy.toml does not parse: {e}")
        page.add("pre", text)
    if summary.get("kpis"):
        page.add("h2", "KPIs")
        page.add("table", *kpi_value_table(summary["kpis"]))
    if meta:
        page.add("h2", "Provenance")
        page.add("table", ["item", "value"], provenance_rows(meta))
    if len(page.blocks) == 0:
        page.add("p", "The folder holds no readable optimizer files yet.")
    return page

def _optimize_sentence(best: dict, validation: dict) -> str:
    name = best.get("name") or "the best policy"
    trial = f" (trial {best['trial']})" if best.get("trial") is not None else ""
    n = validation.get("replications")
    reps = f" on {n} validation replications" if n else " on the validation seeds"
    if best.get("role") == "champion":
        return f"No candidate beat the champion{reps}; the champion {name} is retained."
    ci = best.get("ci95")
    ci_s = (
        f" (95% CI {format_number(ci[0])} to {format_number(ci[1])})" if isinstance(ci, list) and len(ci) == 2 and None not in ci else ""
    )
    imp = best.get("improvement")
    imp_s = f" improves the objective by {format_number(float(imp), signed=True)}{ci_s}" if isinstance(imp, (int, float)) else ""
    verdict = " and beats the champion" if best.get("beats_champion") else ""
    return f"Recommended policy {name}{trial}{imp_s}{reps}{verdict}."

def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and len(d) <= 20 and all(isinstance(x, (dict, list)) for x in d):
        for i, v in enumerate(d):
            out.update(_flatten(v, f"{prefix}{i}."))
    else:
        out[prefix.rstrip(".")] = d
    return out

def _fmt_any(key: str, v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        last = str(key).rsplit(".", 1)[-1]
        return format_value(last, float(v)) if last in KPIS else format_number(float(v))
    if isinstance(v, list):
        return ", ".join(map(str, v))[:200]
    return str(v)[:200]

def _write_plots(folder: Path, trials: pd.DataFrame, validation: dict, meta: dict, progress=None) -> None:
    """The optimizer's plots, from the folder's trials.csv, validation.json and pareto.csv."""
    objective = validation["objective"]
    mode = objective.get("mode", "scalar")
    roles = trials["role"] if "role" in trials.columns else pd.Series([], dtype=object)
    champion = trials[roles == "champion"].iloc[0].to_dict() if (roles == "champion").any() else None
    caps = {k.removeprefix("max_"): float(v) for k, v in (objective.get("caps") or {}).items()}
    front: list[int] = []
    if (folder / "pareto.csv").is_file():
        front = [int(n) for n in pd.read_csv(folder / "pareto.csv")["number"]]
    best = validation.get("best") or {}
    names = list(objective.get("objectives") or {})
    write_optimize_plots(
        trials,
        folder,
        mode=mode,
        champion=champion,
        caps=caps,
        importances=validation.get("importances") or {},
        front=front,
        best_trial=best.get("trial") if best.get("role") != "champion" else None,
        churn=names[2] if len(names) > 2 else "lost_clv",
        measure=objective.get("measure", "net_recovery"),
        title=f"{meta.get('experiment', folder.name)} · {mode}",
        progress=progress,
    )
