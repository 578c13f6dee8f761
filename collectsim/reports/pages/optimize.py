"""The page of an optimizer folder, as a decision: what to adopt, what it gains and trades,
what changes from the champion, and the pilot that would confirm it.

It reads whichever of ``validation.json``, ``trials.csv``, ``best_policy.toml``,
``champion_policy.toml`` and the plots the folder holds (the computations are in
:mod:`collectsim.reports.pages.decision`); numbers are formatted as in the compare report.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.policies.rule_table import RuleTableSpec
from collectsim.reports.common import provenance_rows, read_json, seeds_text
from collectsim.reports.format import format_diff, format_interval, format_number, format_value
from collectsim.reports.page import Page
from collectsim.reports.pages.compare import sig_class
from collectsim.reports.pages.decision import paired_sd, pilot_size, policy_changes
from collectsim.reports.pages.run import kpi_value_table
from collectsim.reports.plots.optimize import write_optimize_plots, write_trial_values_plot
from collectsim.reports.plots.style import kpi_axis_label
from collectsim.results.catalogue import KPIS

__all__ = ["optimize_page", "decision_sentences", "TRADE_OFF_KPIS"]

# ------------------------------------------------------------------ optimize page ---------
#: Plots an optimizer folder may hold (written by the optimizer), in report order.
_OPTIMIZE_PLOTS = {
    "history.png": "Optimization history: the objective of every trial (mean over the search seeds, currency for "
    "the whole book); the recommended trial is the gold star",
    "pareto_front.png": "Trade-off between the objectives: every complete trial's search means; the recommended "
    "trial is the gold star, the champion the black one",
    "importances.png": "Parameter importances: share of the objective's variation over the trials explained by "
    "each parameter",
}
#: The side effects the decision weighs, in the trade-off table's order (the measure comes first).
TRADE_OFF_KPIS = (
    "net_recovery",
    "complaints_per_1k_accounts",
    "complaints_per_1k_worked",
    "churn_rate",
    "lost_clv",
    "treatment_cost",
    "discounts_given",
    "unworked",
)
#: The side effects named in the decision's second sentence.
_TRADE_SENTENCE = ("complaints_per_1k_accounts", "churn_rate", "treatment_cost", "unworked")


def optimize_page(folder: Path, progress=None) -> Page:
    """An optimizer folder's page (``progress``: optional callback told of each plot written).

    With a ``validation.json`` of the optimizer, the page opens with the decision (see
    :func:`decision_sentences`), then what changes from the champion per tier × bucket, the
    trade-off table, the pilot size, the validated candidates (those that break a cap last)
    and the trials; a folder with only some of the files shows what it holds.
    """
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
    decided = bool(best) and isinstance(validation.get("champion"), dict)
    if decided:
        page.subtitle = _subtitle(validation, meta)
        _decision_blocks(page, folder, validation, meta)
    elif best:
        note = [str(best["note"])] if best.get("note") and best.get("role") != "champion" else []
        page.add("lead", [_optimize_sentence(best, validation), *note])
    if validation and not decided:
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
        if ok and not plots:
            write_trial_values_plot(trials, value_col, direction, folder / "optimize_trials.png")
            plots = ["optimize_trials.png"]
        if ok and decided:
            _trials_blocks(page, trials, validation, meta)
        elif ok:
            page.add("p", f"{len(trials):,} trials; objective column '{value_col}'.")
            top = trials.sort_values(value_col, ascending=direction.startswith("min")).head(10)
            cols = [c for c in top.columns if not c.startswith(("datetime", "duration", "system_attrs"))][:10]
            rows = [[_fmt_any(c, v) for c, v in zip(cols, r, strict=True)] for r in top[cols].itertuples(index=False)]
            page.add("table", cols, rows)
        else:
            page.add("p", f"{len(trials):,} trials.")
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
    if isinstance(validation.get("search"), dict) and decided:
        page.add("h2", "The search")
        page.add("table", ["item", "value"], _search_rows(validation))
    if meta:
        page.add("h2", "Provenance")
        page.add("table", ["item", "value"], provenance_rows(meta))
    if len(page.blocks) == 0:
        page.add("p", "The folder holds no readable optimizer files yet.")
    return page


# ------------------------------------------------------------------ the decision ----------
def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _book(meta: dict) -> str:
    n = int(meta.get("accounts") or 0)
    return f"for the whole book of {n:,} accounts" if n else "for the whole book"


def _subtitle(validation: dict, meta: dict) -> str:
    n = int(meta.get("accounts") or 0)
    days = meta.get("days")
    size = f"{n:,} accounts × {days} days; " if n and days else ""
    search = len(validation.get("search_seeds") or [])
    val = int(validation.get("replications") or len(validation.get("validation_seeds") or []))
    return (
        f"{size}search on {search} seeds, validation on {val} held-out seeds (never seen by the search; the same "
        f"seeds for every validated policy, so differences are paired). Money is currency {_book(meta)}."
    )


def _objective_words(objective: dict) -> str:
    formula = str(objective.get("scalar") or "the objective")
    return formula.replace(" - ", " − ").replace(" * ", " × ")


def _recommended(validation: dict) -> dict | None:
    """The validated candidate the folder recommends (None when the champion is retained)."""
    best = validation.get("best") or {}
    if best.get("role") == "champion":
        return None
    for c in validation.get("candidates") or []:
        if c.get("trial") == best.get("trial"):
            return c
    return None


def _objective_diff(cand: dict) -> tuple[float, float, float]:
    d = (cand.get("vs_champion") or {}).get("objective") or {}
    ci = d.get("ci") or [float("nan"), float("nan")]
    return _num(d.get("mean_diff")), _num(ci[0]), _num(ci[1])


def _ci_words(kpi: str, lo: float, hi: float) -> str:
    return f"95 % CI {format_interval(kpi, lo, hi, diff=True)}"


def _pilot(validation: dict, cand: dict) -> dict | None:
    """The pilot size of the recommended candidate from the per-seed objectives in validation.json."""
    a = ((cand.get("validation") or {}).get("per_seed_objective")) or []
    b = ((validation["champion"].get("validation") or {}).get("per_seed_objective")) or []
    if len(a) != len(b) or len(a) < 2:
        return None
    gain = float(np.mean(np.asarray(a, float) - np.asarray(b, float)))
    out = pilot_size(gain, paired_sd(a, b))
    if out is not None:
        out["replications"] = len(a)
    return out


def decision_sentences(validation: dict, meta: dict | None = None) -> list[str]:
    """The decision of an optimizer folder in sentences: what to adopt and what it gains, what
    it trades, and the next step.

    Parameters
    ----------
    validation:
        The folder's ``validation.json`` (with ``best``, ``champion`` and ``candidates``).
    meta:
        Its provenance (``accounts``, ``days``), for the units.

    Returns
    -------
    list of str
        First: "Adopt trial N (best_policy.toml): on K held-out validation seeds it raises the
        objective (FORMULA) by +X (+r %; 95 % CI [lo, hi]) over the champion NAME, currency for
        the whole book of A accounts." (or why the champion is kept, or why the gain is not yet
        established); then the trade-off; then the pilot that would confirm the gain.
    """
    meta = meta or {}
    best = validation.get("best") or {}
    champ = validation.get("champion") or {}
    champ_name = champ.get("name") or "the champion"
    n = int(validation.get("replications") or len(validation.get("validation_seeds") or []))
    formula = _objective_words(validation.get("objective") or {})
    cand = _recommended(validation)
    k = len(validation.get("candidates") or [])
    if cand is None:
        tried = max(validation.get("candidates") or [{}], key=lambda c: _num((c.get("validation") or {})
                                                                            .get("objective", {}).get("mean")))
        extra = ""
        if tried.get("trial") is not None:
            d, lo, hi = _objective_diff(tried)
            broken = "" if tried.get("feasible_on_validation", True) else ", but breaks a cap"
            extra = (f" The best of them, trial {tried['trial']}, changes the objective by "
                     f"{format_number(d, signed=True)} ({_ci_words('objective', lo, hi)}){broken}.")
        if not champ.get("feasible_on_validation", True):
            extra += " The champion itself breaks a cap on these seeds (see the candidates table)."
        return [
            f"Keep the champion {champ_name}: none of the {k} validated candidate(s) beat it on the {n} held-out "
            f"validation seeds (objective: {formula}, currency {_book(meta)}).{extra}",
            "Next step: none — there is no gain to confirm; widen the search space or run more trials.",
        ]
    d, lo, hi = _objective_diff(cand)
    rel = (cand.get("vs_champion") or {}).get("objective", {}).get("relative")
    rel_s = f"{100 * rel:+.1f} %; ".replace("-", "−") if isinstance(rel, (int, float)) else ""
    trial = cand.get("trial")
    file = best.get("policy_file") or "best_policy.toml"
    gain = (f"the objective ({formula}) by {format_number(d, signed=True)} ({rel_s}{_ci_words('objective', lo, hi)}) "
            f"over the champion {champ_name}, currency {_book(meta)}")
    if best.get("beats_champion"):
        first = f"Adopt trial {trial} ({file}): on {n} held-out validation seeds it raises {gain}."
    else:
        first = (f"Trial {trial} ({file}) is the best candidate, but its gain is not established: on {n} held-out "
                 f"validation seeds it changes {gain}; the interval includes 0, so pilot it before adopting.")
    out = [first]
    vs = cand.get("vs_champion") or {}
    parts = []
    for kpi in _TRADE_SENTENCE:
        if kpi in vs:
            dd = vs[kpi]
            ci = dd.get("ci") or [float("nan"), float("nan")]
            parts.append(f"{KPIS[kpi].label} {format_diff(kpi, _num(dd.get('mean_diff')))} "
                         f"({_ci_words(kpi, _num(ci[0]), _num(ci[1]))})")
    if parts:
        out.append("What it trades (recommended − champion, same seeds): " + "; ".join(parts) + ".")
    pilot = _pilot(validation, cand)
    if pilot is not None:
        acc = int(meta.get("accounts") or 0)
        books = f"{pilot['n']:,} book(s) of {acc:,} accounts per arm" if acc else f"{pilot['n']:,} replications per arm"
        out.append(
            f"Next step: a live champion/challenger pilot of {books} would confirm the gain of "
            f"{format_number(pilot['gain'], signed=True)} at 80 % power (two-sided test at 5 %)."
        )
    return out


def _decision_blocks(page: Page, folder: Path, validation: dict, meta: dict) -> None:
    best = validation.get("best") or {}
    page.add("lead", [*decision_sentences(validation, meta), *([str(best["note"])] if best.get("note") else [])])
    cand = _recommended(validation)
    if cand is not None:
        page.add("h2", "What changes from the champion")
        _changes_blocks(page, folder, validation, cand)
        page.add("h2", "The trade-off")
        page.add(
            "p",
            f"Means over the {validation.get('replications')} validation seeds; Δ is recommended − champion on the "
            "same seeds with a paired 95 % t interval. Green: clearly better, red: clearly worse; the cap column "
            "shows the objective's hard limits.",
        )
        page.add("table", *_trade_off_table(validation, cand, meta))
        pilot = _pilot(validation, cand)
        if pilot is not None:
            page.add("h2", "Next step: a live pilot")
            _pilot_blocks(page, pilot, meta)
    page.add("h2", "Validated candidates")
    page.add(
        "p",
        "Every candidate and the champion re-run on the held-out validation seeds; candidates whose validation "
        "means break a cap are marked and listed last. The selection-adjusted interval (Bonferroni over the "
        "candidates) allows for the recommended policy having been chosen on these same seeds.",
    )
    page.add("table", *_candidates_table(validation))


def _changes_blocks(page: Page, folder: Path, validation: dict, cand: dict) -> None:
    specs = {}
    for name in ("champion_policy.toml", "best_policy.toml"):
        try:
            specs[name] = RuleTableSpec.model_validate(tomllib.loads((folder / name).read_text())["policy"])
        except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError):
            specs[name] = None
    tiers = validation.get("tier_names") or []
    if specs["champion_policy.toml"] is not None and specs["best_policy.toml"] is not None and tiers:
        try:
            rows = policy_changes(specs["champion_policy.toml"], specs["best_policy.toml"], tiers)
        except InputError as e:
            rows = None
            page.add("p", f"The rule tables could not be compared: {e}")
        if rows is not None:
            page.add("p", "Cell by cell (risk tier × DPD bucket, first matching cell of each rule table): champion → "
                          "recommended. Pairs that do not change are left out.")
            body = [[(r["tier"], "l"), (r["buckets"], "l"), ("\n".join(r["changes"]), "l")] for r in rows]
            page.add("table", ["risk tier", "DPD buckets", "what changes (champion → recommended)"],
                     body or [[("–", "l"), ("–", "l"), ("nothing: the tables act alike", "l")]])
            return
    old, new = validation["champion"].get("params") or {}, cand.get("params") or {}
    rows = [[(k, "l"), (_param_word(old.get(k)), "l"), (_param_word(v), "l")] for k, v in new.items()
            if old.get(k) != v]
    page.add("p", "The searched parameters that differ (champion_policy.toml or the tier names are not in the "
                  "folder, so the cells cannot be compared one by one).")
    page.add("table", ["parameter", "champion", "recommended"], rows or [["–", "–", "–"]])


def _param_word(v: Any) -> str:
    if v is None:
        return "– (outside the search space)"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return format_number(float(v))
    return str(v)


def _cap_of(validation: dict, kpi: str) -> float | None:
    caps = (validation.get("objective") or {}).get("caps") or {}
    v = caps.get(f"max_{kpi}")
    return None if v is None else float(v)


def _trade_off_table(validation: dict, cand: dict, meta: dict):
    measure = (validation.get("objective") or {}).get("measure") or "net_value"
    champ_mean = (validation["champion"].get("validation") or {}).get("mean") or {}
    cand_mean = (cand.get("validation") or {}).get("mean") or {}
    vs = cand.get("vs_champion") or {}
    per = _book(meta)
    rows = []
    for kpi in dict.fromkeys([measure, *TRADE_OFF_KPIS]):
        if kpi not in KPIS or (kpi not in cand_mean and kpi not in vs):
            continue
        d = vs.get(kpi) or {}
        ci = d.get("ci") or [float("nan"), float("nan")]
        diff = _num(d.get("mean_diff")) if d else _num(cand_mean.get(kpi)) - _num(champ_mean.get(kpi))
        lo, hi = _num(ci[0]), _num(ci[1])
        cap = _cap_of(validation, kpi)
        rows.append([
            (kpi_axis_label(kpi, per), "l"),
            format_value(kpi, _num(champ_mean.get(kpi))),
            format_value(kpi, _num(cand_mean.get(kpi))),
            (f"{format_diff(kpi, diff)} {format_interval(kpi, lo, hi, diff=True)}", sig_class(kpi, lo, hi)),
            "–" if cap is None else f"≤ {format_value(kpi, cap)}",
        ])
    return ["KPI (unit)", "champion", "recommended", "Δ [95% CI]", "cap"], rows


def _pilot_blocks(page: Page, pilot: dict, meta: dict) -> None:
    acc, days = int(meta.get("accounts") or 0), meta.get("days")
    unit = f"book(s) of {acc:,} accounts followed {days} days" if acc and days else "replications"
    page.add(
        "p",
        f"n = ((z_0.975 + z_0.8) · sd_diff / gain)² = (({pilot['z_alpha']:.3f} + {pilot['z_power']:.3f}) × "
        f"{format_number(pilot['sd_diff'])} / {format_number(pilot['gain'])})² = {pilot['n_exact']:,.2f}, rounded "
        f"up: {pilot['n']:,} {unit} per arm"
        + (f" (about {pilot['n'] * acc:,} accounts per arm)" if acc else "")
        + ". gain is the mean and sd_diff the standard deviation of the "
        f"{pilot['replications']} paired per-seed differences in the objective (recommended − champion) on the "
        "validation seeds; 80 % power, two-sided test at 5 %. The pairing of common seeds removes noise a live test "
        "with separate books keeps, so read n as a lower bound.",
    )
    page.add("table", ["input", "value"], [
        [("gain: mean paired difference of the objective", "l"), format_number(pilot["gain"], signed=True)],
        [("sd_diff: sd of the paired differences", "l"), format_number(pilot["sd_diff"])],
        [("validation replications (paired seeds)", "l"), f"{pilot['replications']:,}"],
        [("z_0.975 (two-sided 5 %)", "l"), f"{pilot['z_alpha']:.3f}"],
        [("z_0.8 (80 % power)", "l"), f"{pilot['z_power']:.3f}"],
        [("n per arm (rounded up)", "l"), f"{pilot['n']:,}"],
    ])


def _broken_caps(validation: dict, mean: dict) -> list[str]:
    out = []
    for key, cap in ((validation.get("objective") or {}).get("caps") or {}).items():
        kpi = key.removeprefix("max_")
        v = _num(mean.get(kpi))
        if math.isfinite(v) and v > float(cap) and kpi in KPIS:
            out.append(f"{KPIS[kpi].label} {format_value(kpi, v)} > {format_value(kpi, float(cap))}")
    return out


def _candidates_table(validation: dict):
    champ = validation["champion"]
    best = validation.get("best") or {}
    measure = (validation.get("objective") or {}).get("measure") or "net_value"
    cols = ["policy", "status", "objective (mean)", "Δ objective [95% CI]", "selection-adjusted CI",
            KPIS[measure].label, "complaints per 1,000 accounts", "churn rate"]

    def row(c: dict, status: str) -> list:
        v = c.get("validation") or {}
        mean = v.get("mean") or {}
        vs = c.get("vs_champion") or {}
        d = vs.get("objective") or {}
        ci = d.get("ci") or [float("nan")] * 2
        adj = (vs.get("objective_selection_adjusted") or {}).get("ci") or [float("nan")] * 2
        name = "champion " + str(c.get("name")) if c.get("role") == "champion" else f"trial {c.get('trial')}"
        return [
            (name, "l"), (status, "l"),
            format_number(_num((v.get("objective") or {}).get("mean"))),
            ((f"{format_number(_num(d.get('mean_diff')), signed=True)} "
              f"{format_interval('objective', _num(ci[0]), _num(ci[1]), diff=True)}") if d else "–",
             ("good" if _num(ci[0]) > 0 else "bad" if _num(ci[1]) < 0 else "") if d else ""),
            format_interval("objective", _num(adj[0]), _num(adj[1]), diff=True) if d else "–",
            format_value(measure, _num(mean.get(measure))),
            format_value("complaints_per_1k_accounts", _num(mean.get("complaints_per_1k_accounts"))),
            format_value("churn_rate", _num(mean.get("churn_rate"))),
        ]

    cands = sorted(validation.get("candidates") or [],
                   key=lambda c: -_num((c.get("validation") or {}).get("objective", {}).get("mean")))
    ok = [c for c in cands if c.get("feasible_on_validation", True)]
    bad = [c for c in cands if not c.get("feasible_on_validation", True)]
    rows = [row(champ, "champion" + ("" if champ.get("feasible_on_validation", True) else
                                     " — breaks a cap: " + "; ".join(_broken_caps(validation, (champ.get(
                                         "validation") or {}).get("mean") or {}))))]
    for c in ok:
        rows.append(row(c, "★ recommended" if best.get("role") != "champion" and c.get("trial") == best.get("trial")
                        else "feasible"))
    for c in bad:
        why = "; ".join(_broken_caps(validation, (c.get("validation") or {}).get("mean") or {}))
        rows.append(row(c, "breaks a cap" + (f": {why}" if why else "")))
    return cols, rows


def _trials_blocks(page: Page, trials: pd.DataFrame, validation: dict, meta: dict) -> None:
    best = validation.get("best") or {}
    rec = best.get("trial") if best.get("role") != "champion" else None
    measure = (validation.get("objective") or {}).get("measure") or "net_value"
    df = trials.copy()
    df["objective"] = pd.to_numeric(df["objective"], errors="coerce")
    feas = df["feasible"].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0")) if "feasible" in df else True
    complete = df["state"] == "COMPLETE" if "state" in df else pd.Series(True, index=df.index)
    ok = df[complete & feas].sort_values("objective", ascending=False)
    bad = df[complete & ~feas].sort_values("objective", ascending=False)
    other = df[~complete]
    states = ", ".join(f"{v:,} {str(k).lower()}" for k, v in df["state"].value_counts().items()) if "state" in df else ""
    n_search = len(validation.get("search_seeds") or [])
    page.add(
        "p",
        f"{len(df):,} trials ({states}); {len(bad):,} break a cap (listed last, marked). Values are means over the "
        f"{n_search} search seeds — optimistic for the trials the search picked, which is why the decision above "
        "uses the held-out validation seeds only. The best 10 feasible trials:",
    )
    params = [c for c in df.columns if c.startswith("param.")]
    kpis = [k for k in (measure, "complaints_per_1k_accounts", "churn_rate") if k in df.columns]
    cols = ["trial", "status", "objective", *[KPIS[k].label for k in kpis], *[c.removeprefix("param.") for c in params]]

    def status(r) -> str:
        if r["number"] == rec:
            return "★ recommended"
        if r.get("role") == "champion":
            return "champion"
        return "feasible" if r.name in ok.index else ("breaks a cap: " + _trial_caps(r) if r.name in bad.index
                                                      else str(r.get("state", "")).lower())

    def row(r) -> list:
        return [f"{int(r['number'])}", (status(r), "l"), format_number(_num(r["objective"])),
                *[format_value(k, _num(r[k])) for k in kpis], *[_param_word(_cell(r[c])) for c in params]]

    shown = pd.concat([ok.head(10), df[(df["number"] == rec) & ~df.index.isin(ok.head(10).index)]])
    rows = [row(r) for _, r in shown.iterrows()]
    rows += [row(r) for _, r in bad.head(10).iterrows()]
    page.add("table", cols, rows)
    if len(bad) > 10 or len(other):
        page.add("p", f"Not shown: {max(0, len(bad) - 10):,} more that break a cap, {len(other):,} not complete "
                      "(pruned or failed); all in trials.csv.")


def _trial_caps(r) -> str:
    out = []
    for c in r.index:
        if c.startswith("constraint.") and _num(r[c]) > 0:
            kpi = c.removeprefix("constraint.").removeprefix("max_")
            if kpi in KPIS:
                out.append(f"{KPIS[kpi].label} {format_value(kpi, _num(r.get(kpi)))}")
    return "; ".join(out) or "a cap"


def _cell(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _search_rows(validation: dict) -> list[list]:
    s = validation["search"]
    rows = [
        [("trials", "l"), f"{int(s.get('trials') or 0):,}"],
        [("by state", "l"), (", ".join(f"{v:,} {k.lower()}" for k, v in (s.get("states") or {}).items()), "l")],
        [("feasible (meet every cap on the search seeds)", "l"), f"{int(s.get('feasible') or 0):,}"],
        [("simulations", "l"), f"{int(s.get('simulations') or 0):,}"],
        [("wall time", "l"), f"{_num(s.get('wall_seconds')):,.0f} s"],
        [("search seeds", "l"), (seeds_text(validation.get("search_seeds") or []), "l")],
        [("validation seeds", "l"), (seeds_text(validation.get("validation_seeds") or []), "l")],
    ]
    return rows


def _optimize_sentence(best: dict, validation: dict) -> str:
    """The one-line summary of a validation.json without the champion's figures (older layouts)."""
    name = best.get("name") or "the best policy"
    trial = f" (trial {best['trial']})" if best.get("trial") is not None else ""
    n = validation.get("replications")
    reps = f" on {n} validation replications" if n else " on the validation seeds"
    if best.get("role") == "champion":
        return f"No candidate beat the champion{reps}; the champion {name} is retained."
    ci = best.get("ci95")
    ci_s = (
        f" (95 % CI {format_interval('objective', _num(ci[0]), _num(ci[1]), diff=True)})"
        if isinstance(ci, list) and len(ci) == 2 and None not in ci else ""
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
        return ", ".join(_fmt_any(key, x) if isinstance(x, (int, float)) else str(x) for x in v)[:200]
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
        per=_book(meta),
        search_reps=len(validation.get("search_seeds") or []),
        progress=progress,
    )
