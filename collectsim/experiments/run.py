"""One run of an experiment, written as the data files of a result folder.

:func:`write_run` simulates an experiment once and writes ``summary.json`` (KPIs, per-tier
KPIs, provenance, the policy table), ``daily.parquet``, ``config.toml`` (the resolved
configuration, re-runnable as an experiment file), ``reviews.csv`` when the policy keeps a
strategy review table (the adaptive policy's :attr:`reviews`) and, on request,
``contacts.parquet`` into a folder (``docs/outputs.md``). :func:`collectsim.run_experiment` wraps it: a fresh
folder that appears whole, with its plots and report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collectsim.experiments.experiment import Experiment
from collectsim.experiments.folders import write_atomic, write_json, write_toml
from collectsim.experiments.memory import check_memory
from collectsim.experiments.provenance import provenance
from collectsim.experiments.simulation import simulate
from collectsim.policies import Policy, prepare_policy
from collectsim.policies.baselines import NoContact
from collectsim.results import SimulationResult
from collectsim.scenario import config_hash

__all__ = ["RunPlan", "plan_run", "write_run", "resolved_config"]


def resolved_config(exp: Experiment, policy: str, seed: int, days: int) -> dict:
    """The configuration that fully determines a run (what config.toml holds)."""
    data = exp.scenario.resolved()
    data["portfolio"]["horizon_days"] = days
    run = exp.run.model_dump(mode="json", exclude_none=True)
    run.update({"policy": policy, "seed": seed, "name": exp.name})
    return {"run": run, **data}


class RunPlan:
    """A run checked before anything is written: the policy loads and fits, the seed is valid.

    Attributes: ``experiment``, ``policy_name`` (as given), ``policy`` (prepared), ``seed``,
    ``days``, ``log_contacts`` and ``config`` (:func:`resolved_config`).
    """

    def __init__(self, exp: Experiment, policy_name: str, policy: Policy, seed: int, days: int,
                 log_contacts: bool) -> None:
        self.experiment = exp
        self.policy_name = policy_name
        self.policy = policy
        self.seed = seed
        self.days = days
        self.log_contacts = log_contacts
        self.config = resolved_config(exp, policy_name, seed, days)


def plan_run(
    exp: Experiment,
    *,
    policy: str | None = None,
    seed: int | None = None,
    days: int | None = None,
    log_contacts: bool | None = None,
) -> RunPlan:
    """Resolve the run's settings (arguments over the file's ``[run]`` table) and check the
    policy against the scenario; raise :class:`~collectsim.errors.InputError` if it does not fit."""
    name = exp.run.policy if policy is None else policy  # an empty name is an error, not the default
    seed = exp.run.seed if seed is None else seed
    days = exp.scenario.portfolio.horizon_days if days is None else days
    log = exp.run.log_contacts if log_contacts is None else log_contacts
    pol = prepare_policy(exp.policy_ref(name), exp.scenario)
    check_memory("run", exp.scenario.portfolio.accounts, days, contact_log=log,  # (kept only for export)
                 contacts=not isinstance(pol, NoContact))
    prepare_policy(exp.scenario.valuation.runoff_policy, exp.scenario)  # the run-off's policy must load too
    return RunPlan(exp, name, pol, seed, days, log)


def write_run(
    plan: RunPlan, folder: str | Path, *, progress: Callable[[int, int], None] | None = None
) -> SimulationResult:
    """Simulate ``plan`` (audited) and write its data files into the existing ``folder``."""
    folder = Path(folder)
    exp = plan.experiment
    result = simulate(exp.scenario, plan.policy, plan.seed, days=plan.days, log_contacts=plan.log_contacts,
                      audit=True, progress=progress)
    chash = config_hash({k: v for k, v in plan.config.items() if k != "run"}
                        | {"policy": plan.policy_name, "seed": plan.seed})
    summary = {
        "kpis": result.kpis,
        "tiers": result.tiers,
        "meta": provenance(
            experiment=exp.name,
            source=exp.source,
            seed=plan.seed,
            policy=plan.policy_name,
            days=plan.days,
            accounts=exp.scenario.portfolio.accounts,
            config_hash=chash,
            wall_seconds=result.meta["wall_seconds"],
        ),
    }
    table = plan.policy.to_dict()
    if table is not None:
        summary["policy"] = table
    write_json(folder / "summary.json", summary)
    write_atomic(folder / "daily.parquet", lambda p: result.daily.to_parquet(p, index=False))
    write_toml(folder / "config.toml", plan.config)
    reviews = getattr(plan.policy, "reviews", None)
    if hasattr(reviews, "to_csv"):  # a policy that reviews its strategy during the run
        write_atomic(folder / "reviews.csv", lambda p: reviews.to_csv(p, index=False))
    if plan.log_contacts and result.contacts is not None:
        write_atomic(folder / "contacts.parquet", lambda p: result.contacts.to_parquet(p, index=False))
    return result
