"""``simulate``: one replication of a scenario under a policy — the core of every experiment.

:func:`simulate` is a pure function of its arguments: no global state, every random draw
derives from ``seed`` (one stream per source, see :mod:`collectsim.streams`), and the
result holds plain data only, so it is picklable and safe to run in worker processes.
Two policies simulated with the same scenario and seed meet the same borrowers and the
same luck (common random numbers).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from collectsim.errors import InputError
from collectsim.model import CollectionsModel
from collectsim.model.contact_log import ContactLog
from collectsim.policies import Policy, prepare_policy
from collectsim.results import SimulationResult, book_at_horizon, compute_kpis, compute_value
from collectsim.results.steady_state import steady_state
from collectsim.scenario import Scenario
from collectsim.validation.audit import StreamingAudit

__all__ = ["simulate"]


def simulate(
    scenario: Scenario,
    policy: str | Policy = "seed-champion",
    seed: int = 0,
    *,
    days: int | None = None,
    log_contacts: bool = False,
    audit: bool = True,
    value: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate one replication and return its KPIs, per-tier KPIs and daily series.

    Parameters
    ----------
    scenario:
        A validated :class:`~collectsim.scenario.Scenario`.
    policy:
        A built-in policy name (``no-contact``, ``sms-only``, ``max-legal``,
        ``seed-champion``), a policy file path, or a policy object.
    seed:
        Non-negative integer seed.
    days:
        Days to simulate (default: ``scenario.portfolio.horizon_days``).
    log_contacts:
        Return the contact log in ``result.contacts``.
    audit:
        Re-check every executed contact against the law (``kpis["violations"]``: violations
        per check, found by the independent audit,
        :class:`collectsim.validation.audit.StreamingAudit`, which reads the scenario's rule
        set, never the engine's rules, and is fed each day's contacts as they are logged, so
        no contact log is kept for it).
    value:
        Value the result (``kpis["net_value"]`` and its parts): the accounts still open at
        the horizon are run off under ``scenario.valuation.runoff_policy``.
    progress:
        Optional callback ``progress(day_done, days)``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed = {seed!r}: must be a non-negative integer")
    horizon = scenario.portfolio.horizon_days if days is None else days
    if not isinstance(horizon, int) or horizon < 1 or horizon > 3650:
        raise InputError(f"days = {horizon!r}: must be an integer in 1..3650")
    if scenario.portfolio.inflow and horizon != scenario.portfolio.horizon_days:
        raise InputError(f"days = {horizon!r}: an open book (with inflow) runs its whole horizon "
                         f"({scenario.portfolio.horizon_days} days); change portfolio.horizon_days instead")
    pol = prepare_policy(policy, scenario)
    runoff = prepare_policy(scenario.valuation.runoff_policy, scenario) if value else None
    t0 = time.perf_counter()
    auditor = StreamingAudit(scenario.rules, ContactLog.CHANNEL_NAMES) if audit else None
    model = CollectionsModel(scenario, pol, seed=seed, log_contacts=log_contacts,
                             on_contacts=auditor.add_day if auditor is not None else None)
    for d in range(horizon):
        model.step()
        if progress is not None:
            progress(d + 1, horizon)
    overall, tiers = compute_kpis(model)
    contacts = model.contact_log() if log_contacts else None
    if auditor is not None:  # the audit read every executed contact as it was logged: no log is kept for it
        overall["violations"] = auditor.violations()
        overall["violations_total"] = int(sum(overall["violations"].values()))
    daily = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    if scenario.portfolio.steady_state_from_day is not None:
        phone = model.teams["phone"].headcount if "phone" in model.teams else 0
        overall["steady_state"] = steady_state(daily, scenario.portfolio.steady_state_from_day, phone)
    if runoff is not None:
        at_horizon = book_at_horizon(model)
        days_run = model.run_off(runoff, scenario.valuation.runoff_max_days)
        value_all, value_tiers = compute_value(model, at_horizon, days_run, runoff.name)
        overall.update(value_all)
        for name, block in value_tiers.items():
            tiers[name].update(block)
    wall = time.perf_counter() - t0
    meta = {
        "seed": seed,
        "policy": pol.name,
        "days": horizon,
        "accounts": scenario.portfolio.accounts,
        "wall_seconds": wall,
        "borrower_days_per_second": scenario.portfolio.accounts * horizon / wall if wall > 0 else None,
    }
    model.remove_all_agents()
    return SimulationResult(
        kpis=overall,
        tiers=tiers,
        daily=daily,
        contacts=contacts if log_contacts else None,
        meta=meta,
    )
