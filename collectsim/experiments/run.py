"""``run_experiment``: simulate an experiment once and write its result folder.

The folder (``docs/outputs.md``) holds ``summary.json`` (KPIs, per-tier KPIs, provenance),
``daily.parquet``, ``config.toml`` (the resolved configuration, re-runnable as an
experiment file), PNG plots and, on request, ``contacts.parquet``. It is written to a
temporary folder and renamed into place only when complete.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collectsim.experiments.config import Experiment
from collectsim.experiments.output import default_out_dir, result_folder, write_json, write_toml
from collectsim.experiments.provenance import provenance
from collectsim.experiments.simulate import SimulationResult, prepare_policy, simulate
from collectsim.sim.scenario import config_hash

__all__ = ["run_experiment", "resolved_config"]


def resolved_config(exp: Experiment, policy: str, seed: int, days: int) -> dict:
    """The configuration that fully determines a run (what config.toml holds)."""
    data = exp.scenario.resolved()
    data["portfolio"]["horizon_days"] = days
    run = exp.run.model_dump(mode="json", exclude_none=True)
    run.update({"policy": policy, "seed": seed, "name": exp.name})
    return {"run": run, **data}


def run_experiment(
    exp: Experiment,
    *,
    policy: str | None = None,
    seed: int | None = None,
    days: int | None = None,
    out: str | Path | None = None,
    log_contacts: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, SimulationResult]:
    """Run ``exp`` once and write its result folder; return (folder, result)."""
    pol_name = policy or exp.run.policy
    seed = exp.run.seed if seed is None else seed
    days = exp.scenario.portfolio.horizon_days if days is None else days
    log = exp.run.log_contacts if log_contacts is None else log_contacts
    pol_ref = exp.resolve_path(pol_name) if pol_name.endswith(".toml") else pol_name
    pol = prepare_policy(pol_ref, exp.scenario)  # bad policy: error before anything is written
    out_dir = Path(out) if out is not None else default_out_dir("run", exp.name, seed)
    config = resolved_config(exp, pol_name, seed, days)
    chash = config_hash({k: v for k, v in config.items() if k != "run"} | {"policy": pol_name, "seed": seed})
    with result_folder(out_dir) as tmp:
        result = simulate(exp.scenario, pol, seed, days=days, log_contacts=log, audit=True, progress=progress)
        from collectsim.reports.plots import write_run_plots

        summary = {
            "kpis": result.kpis,
            "segments": result.segments,
            "meta": provenance(
                experiment=exp.name,
                source=exp.source,
                seed=seed,
                policy=pol_name,
                days=days,
                accounts=exp.scenario.portfolio.accounts,
                config_hash=chash,
                wall_seconds=result.meta["wall_seconds"],
            ),
        }
        if hasattr(pol, "to_dict"):
            summary["policy"] = pol.to_dict()
        write_json(tmp / "summary.json", summary)
        result.daily.to_parquet(tmp / "daily.parquet", index=False)
        write_toml(tmp / "config.toml", config)
        write_run_plots(result.daily, tmp, title=f"{exp.name} · {pol_name} · seed {seed}")
        if log and result.contacts is not None:
            result.contacts.to_parquet(tmp / "contacts.parquet", index=False)
    return out_dir, result
