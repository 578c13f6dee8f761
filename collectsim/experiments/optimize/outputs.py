"""The optimizer's files: ``trials.csv``, ``pareto.csv``, ``best_policy.toml``,
``champion_policy.toml`` (a rule-table champion), the validated candidates' tables and ``validation.json`` (the report and its plots are built from them by
:mod:`collectsim.reports`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from collectsim.experiments.folders import write_atomic, write_json, write_toml
from collectsim.experiments.optimize.plan import StudyPlan
from collectsim.experiments.optimize.validation import ValidatedPolicy
from collectsim.policies import CGWThresholdPolicy, RuleTablePolicy
from collectsim.results.catalogue import OPTIMIZE_RECORDED

__all__ = ["trials_frame", "importances", "write_outputs"]


def trials_frame(study: optuna.Study, plan: StudyPlan) -> pd.DataFrame:
    """One row per trial: number, role, state, objective(s), feasibility, constraint values,
    mean search KPIs, replications run and parameter values (``param.NAME``)."""
    rows = []
    names = plan.objective.names
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        row: dict[str, Any] = {
            "number": t.number,
            "role": ua.get("role", "candidate"),
            "state": t.state.name,
            "objective": ua.get("objective"),
        }
        if plan.objective.mode == "pareto":
            for i, nm in enumerate(names):
                row[f"value.{nm}"] = t.values[i] if t.values else None
        row["feasible"] = ua.get("feasible")
        row["reps"] = len(ua.get("seeds", []))
        for ck, cv in t.constraints.items():
            row[f"constraint.{ck}"] = cv
        for kk in OPTIMIZE_RECORDED:
            row[kk] = (ua.get("kpis") or {}).get(kk)
        clean = plan.space.clean(t.params)
        for p in plan.space.searched:
            row[f"param.{p.name}"] = clean.get(p.name)
        row["datetime_start"] = t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None
        row["duration_s"] = t.duration.total_seconds() if t.duration else None
        rows.append(row)
    return pd.DataFrame(rows)


def importances(study: optuna.Study, plan: StudyPlan) -> dict[str, float]:
    """Optuna's parameter importances for the scalar objective (empty with fewer than 4 trials)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.params]
    if len(done) < 4 or len(plan.space.searched) < 1:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(
                optuna.importance.get_param_importances(
                    study, target=lambda t: t.user_attrs.get("objective", float("nan"))
                )
            )
    except Exception:
        return {}


def write_outputs(
    out: Path, study: optuna.Study, plan: StudyPlan, champ: ValidatedPolicy, cands: list[ValidatedPolicy],
    extra: dict, meta: dict,
) -> dict:
    """Write the study's files into ``out``; return the content of ``validation.json``."""
    obj = plan.objective
    best: ValidatedPolicy = extra["best"]
    df = trials_frame(study, plan)
    write_atomic(out / "trials.csv", lambda p: df.to_csv(p, index=False))
    front_numbers: list[int] = []
    if obj.mode == "pareto":
        front = study.best_trials
        front_numbers = [t.number for t in front]
        fdf = df[df["number"].isin(front_numbers)].copy()
        val = {c.trial: c for c in cands}
        fdf["validated"] = fdf["number"].map(lambda n: n in val)
        for kk in ("objective", obj.measure, "complaints_per_1k_accounts", "lost_clv", "churn_rate"):
            fdf[f"validation.{kk}"] = fdf["number"].map(
                lambda n, kk=kk: (val[n].validation["objective"]["mean"] if kk == "objective" else val[n].validation["mean"][kk])
                if n in val else None
            )
        write_atomic(out / "pareto.csv", lambda p: fdf.to_csv(p, index=False))
    # policies
    best_spec = best.policy.table if isinstance(best.policy, RuleTablePolicy) else None
    if best_spec is not None:
        spec = best_spec.model_copy(update={"name": f"{plan.experiment.name}-best" if best.role != "champion" else best_spec.name})
        write_atomic(out / "best_policy.toml", lambda p: write_toml(p, {"policy": spec.model_dump(mode="json")}))
    elif isinstance(best.policy, CGWThresholdPolicy):  # a parametric policy: its file form
        data = dict(best.policy.to_dict(), name=f"{plan.experiment.name}-best" if best.role != "champion" else best.policy.name)
        write_atomic(out / "best_policy.toml", lambda p: write_toml(p, {"policy": data}))
    if isinstance(plan.champion, RuleTablePolicy):  # the report says what changes from it, cell by cell
        champ_spec = plan.champion.table
        write_atomic(out / "champion_policy.toml", lambda p: write_toml(p, {"policy": champ_spec.model_dump(mode="json")}))
    cdir = out / "candidates"
    cdir.mkdir(exist_ok=True)
    for old in cdir.glob("trial-*.toml"):  # from an earlier validation of a resumed study
        old.unlink()
    for c in cands:
        write_atomic(cdir / f"trial-{c.trial}.toml", lambda p, c=c: write_toml(p, {"policy": _file_form(c.policy)}))
    # validation.json
    imp = importances(study, plan)
    states = df["state"].value_counts().to_dict() if len(df) else {}
    best_vs = best.vs_champion.get("objective", {}) if best.role != "champion" else {}
    validation = {
        "objective": obj.describe(),
        "validation_seeds": plan.validation_seeds,
        "search_seeds": plan.search_seeds,
        "replications": len(plan.validation_seeds),
        "tier_names": list(plan.space.tier_names),
        "best": {
            "role": best.role,
            "trial": best.trial,
            "name": best.name,
            "policy_file": "best_policy.toml" if best_spec is not None else None,
            "objective_mean": best.validation["objective"]["mean"],
            "champion_objective_mean": champ.validation["objective"]["mean"],
            "improvement": best_vs.get("mean_diff", 0.0),
            "improvement_relative": best_vs.get("relative", 0.0),
            "ci95": best_vs.get("ci", [0.0, 0.0]),
            "ci95_excludes_zero": bool(best_vs.get("ci_excludes_zero", False)),
            "selection_adjusted_ci": (best.vs_champion.get("objective_selection_adjusted", {}) or {}).get("ci"),
            "beats_champion": bool(best.role != "champion" and best_vs.get("mean_diff", 0) > 0 and best_vs.get("ci_excludes_zero")),
            "note": (
                "The recommended policy was chosen among the validated candidates on these same validation "
                "seeds; the selection-adjusted interval (Bonferroni over the candidates) allows for that."
                if best.role != "champion"
                else "No validated candidate beat the champion on the validation bank: the champion is retained."
            ),
        },
        "champion": champ.to_dict(),
        "candidates": [c.to_dict() for c in cands],
        "search": {
            "trials": int(len(df)),
            "states": {str(k): int(v) for k, v in states.items()},
            "feasible": int(df["feasible"].fillna(False).astype(bool).sum()) if len(df) else 0,
            "simulations": meta.get("simulations"),
            "wall_seconds": meta.get("wall_seconds"),
            "pruning_stages": plan.stages(),
        },
        "importances": imp,
        "meta": meta,
    }
    write_atomic(out / "validation.json", lambda p: write_json(p, validation))
    return validation


def _file_form(policy) -> dict:
    """A candidate's policy file ``[policy]`` table (a rule table, or a parametric policy's spec)."""
    if isinstance(policy, RuleTablePolicy):
        return policy.table.model_dump(mode="json")
    return policy.to_dict()
