"""The page of a ``collectsim calibrate`` folder: the fitted parameters, the data against
histories simulated from the fit (every statistic with its band), and the backtest.

It reads only the folder's files: ``fit.json`` (the parameters), the comparison tables
``fit_check_<name>.csv`` and ``backtest.csv`` that
:func:`collectsim.experiments.calibrate.statistics.write_fit_checks` writes,
``observed_policy.toml`` and the provenance in ``fit.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.experiments.calibrate.backtest import HELDOUT_KPIS
from collectsim.experiments.calibrate.statistics import STATISTICS, read_fit_checks
from collectsim.reports.common import provenance_rows, read_json
from collectsim.reports.format import format_number
from collectsim.reports.page import Page
from collectsim.reports.plots.calibration import CALIBRATION_PLOTS, write_calibration_plots

__all__ = ["calibration_page", "SHARE_MEASURES", "STATISTIC_TITLES", "RECOVERY_ROWS"]

#: Measures shown in % (shares of a count); the others (per 1,000 contacts) as they are.
SHARE_MEASURES: frozenset[str] = frozenset({
    "recovery_rate", "contact_rate", "rpc_rate", "promise_rate", "plan_rate", "settlement_rate", "kept_rate", "share",
    "roll_rate",
})
#: The heading of each statistic's section.
STATISTIC_TITLES: dict[str, str] = {
    "recovery_curve": "Recovery curve",
    "contact_rates": "Contact and RPC rates by channel and hour",
    "channel_rates": "Contact and RPC rates by channel",
    "conversations": "Promises, plans and settlements per right-party contact",
    "promises_kept": "Promises kept",
    "complaints": "Complaints and opt-outs per 1,000 contacts",
    "outcomes": "How accounts left collections",
    "roll_rates": "Roll rates by DPD bucket",
}
#: How many days of the recovery curve its table shows (evenly spaced, the last day always).
RECOVERY_ROWS = 10


def _value(measure: str, x) -> str:
    """A measure's value: shares in %, others as numbers; "–" when missing."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if measure in SHARE_MEASURES or measure.endswith("_rate"):
        return format_number(100 * float(x)) + " %"
    return format_number(float(x))


def _flag(inside) -> tuple[str, str]:
    ok = str(inside).strip().lower() in ("true", "1")
    return ("inside", "good") if ok else ("outside", "bad")


def _cell(x) -> str:
    """A parameter field as text (a number formatted, a table as key = value, none as "–")."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, float)):
        return format_number(float(x))
    if isinstance(x, dict):
        return ", ".join(f"{k} = {_cell(v)}" for k, v in x.items())
    if isinstance(x, list):
        return "[" + ", ".join(_cell(v) for v in x) + "]"
    return str(x)


def _parameter_rows(params: dict) -> list[list]:
    rows = []
    for name, p in params.items():
        p = p if isinstance(p, dict) else {"estimate": p}
        ci = p.get("ci95")
        ci_text = f"[{_cell(ci[0])}, {_cell(ci[1])}]" if isinstance(ci, list) and len(ci) == 2 else _cell(ci)
        identified = p.get("identified")
        rows.append([(name, "l"), _cell(p.get("estimate")), _cell(p.get("se")), ci_text, (_cell(p.get("prior")), "l"),
                     (_cell(p.get("method")), "l"),
                     ("yes", "good") if identified is True else (("no: keeps its prior", "bad") if identified is False
                                                                  else _cell(identified))])
    return rows


def _shown_rows(name: str, df: pd.DataFrame) -> pd.DataFrame:
    if name != "recovery_curve" or len(df) <= RECOVERY_ROWS:
        return df
    days = np.unique(df["day"].to_numpy())
    keep = set(days[np.linspace(0, len(days) - 1, RECOVERY_ROWS).round().astype(int)])
    return df[df["day"].isin(keep)]


def _statistic_table(name: str, df: pd.DataFrame):
    keys = [c for c in df.columns if c not in ("measure", "observed", "n", "simulated_mean", "sd", "lo", "hi",
                                                "q_lo", "q_hi", "replications", "inside")]
    cols = [*keys, "measure", "data", "n", "simulated mean", "sd", "band", "replications", "data in band"]
    rows = []
    for _, r in _shown_rows(name, df).iterrows():
        m = str(r["measure"])
        n = r.get("n")
        rows.append([
            *[(str(r[k]) if k != "day" else str(int(r[k])), "l") for k in keys], (m, "l"), _value(m, r["observed"]),
            format_number(float(n)) if n is not None and np.isfinite(float(n)) else "–",
            _value(m, r["simulated_mean"]), _value(m, r["sd"]),
            f"[{_value(m, r['lo'])}, {_value(m, r['hi'])}]", str(int(r["replications"])), _flag(r["inside"]),
        ])
    return cols, rows


def _backtest_table(bt: pd.DataFrame):
    cols = ["held-out KPI", "data", "simulated mean", "sd", "band", "replications", "data in band"]
    rows = []
    for _, r in bt.iterrows():
        rows.append([(str(r["kpi"]), "l"), format_number(r["observed"]), format_number(r["simulated_mean"]),
                     format_number(r["sd"]), f"[{format_number(r['lo'])}, {format_number(r['hi'])}]",
                     str(int(r["replications"])), _flag(r["inside"])])
    return cols, rows


def _definition(kpi: str) -> str:
    base = kpi.split(".", 1)[0] + (".<channel>" if "." in kpi else "")
    return HELDOUT_KPIS.get(base, "")


def calibration_page(folder: Path, progress=None) -> Page:
    """The page of a calibration folder (``progress``: optional callback told of each plot drawn)."""
    fit = read_json(folder / "fit.json")
    params = fit.get("parameters", {})
    meta = fit.get("provenance", fit.get("meta", {})) or {}
    comparison, bt = read_fit_checks(folder)
    page = Page(title=f"Calibration: {meta.get('data', meta.get('experiment', folder.name))}",
                subtitle="The simulator fitted to a collections history: the parameters, the data against histories "
                         "simulated from the fit, and a backtest.")
    n_id = sum(1 for p in params.values() if isinstance(p, dict) and p.get("identified") is True)
    checks = pd.concat([df[["inside"]] for df in comparison.values()], ignore_index=True) if comparison else None
    lead = [f"{n_id} of {len(params)} parameters identified by the data; the others keep their prior."]
    if checks is not None and len(checks):
        inside = int(checks["inside"].astype(str).str.lower().isin(["true", "1"]).sum())
        lead.append(f"{inside} of {len(checks)} observed statistics lie inside the band of the simulated histories.")
    if bt is not None and len(bt):
        inside = int(bt["inside"].astype(str).str.lower().isin(["true", "1"]).sum())
        lead.append(f"Backtest: {inside} of {len(bt)} held-out KPIs lie inside their band.")
    page.add("lead", lead)
    page.add("h2", "Fitted parameters")
    page.add("p", "Each parameter by its dotted name in the experiment file: the estimate, its standard error and 95 % "
                  "interval, the prior it starts from, how it was fitted, and whether the data identify it.")
    page.add("table", ["parameter", "estimate", "se", "95 % interval", "prior", "method", "identified"],
             _parameter_rows(params))
    pngs = {name: stat for name, (stat, _) in CALIBRATION_PLOTS.items() if stat in comparison and len(comparison[stat])}
    if pngs and not all((folder / p).is_file() for p in pngs):
        write_calibration_plots(comparison, folder, progress=progress)
    if comparison:
        page.add("h2", "The data against histories simulated from the fit")
        checks = fit.get("checks", {})
        scale = float(checks.get("scale", 1.0))
        size = (f" The simulated books are a smaller copy of the fitted one ({checks.get('check_accounts', 0):,} "
                f"accounts at most; the history's book is {scale:.3g} times larger): the sd is rescaled to the "
                "history's size." if scale > 1 else "")
        page.add("p", "For every statistic: the data's value, n (what it is a share of), the mean and sd over the "
                      "simulated replications, and the prediction band of one more history of the data's size "
                      "(mean ± t · sd · √(1 + scale/replications), never below 0; scale = the history's book over "
                      "the simulated one)." + size + " Definitions: docs/data.md, Judging a fit.")
        for name, df in comparison.items():
            page.add("h2", STATISTIC_TITLES.get(name, name.replace("_", " ")))
            if name in STATISTICS:
                page.add("p", STATISTICS[name].definition + ".")
            if name == "recovery_curve" and len(df) > RECOVERY_ROWS:
                page.add("p", f"{RECOVERY_ROWS} days of the curve (evenly spaced); the plot shows every day.")
            for png, (stat, caption) in CALIBRATION_PLOTS.items():
                if stat == name and (folder / png).is_file():
                    page.add("img", png, caption)
            page.add("table", *_statistic_table(name, df))
    if bt is not None and len(bt):
        page.add("h2", "Backtest: fitted on the first part, the held-out days simulated")
        page.add("p", "Each held-out KPI of the data beside the simulated replications, with the prediction band of "
                      "one more history made by the fitted model (mean ± t · sd · √(1 + scale/replications), never below 0; "
                      "counts at the fitted book's size).")
        page.add("table", *_backtest_table(bt))
        defs = list(dict.fromkeys((k.split(".", 1)[0] + (".<channel>" if "." in k else ""), _definition(k))
                                  for k in bt["kpi"]))
        page.add("table", ["held-out KPI", "definition"], [[(k, "l"), (d, "l")] for k, d in defs if d])
    if (folder / "observed_policy.toml").is_file():
        page.add("h2", "The observed policy")
        page.add("p", "The strategy the lender ran, estimated from the contact history (observed_policy.toml).")
        page.add("pre", (folder / "observed_policy.toml").read_text(encoding="utf-8"))
    if (folder / "experiment.toml").is_file():
        page.add("p", "experiment.toml holds the fitted experiment: `collectsim run experiment.toml` runs it.")
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], provenance_rows(meta) or [[("fit.json", "l"), (json.dumps(
        {k: v for k, v in fit.items() if k != "parameters"})[:200] or "–", "l")]])
    return page
