"""Every KPI means what its name says; each is derived again here from its definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collectsim
from collectsim.model import CollectionsModel
from collectsim.policies import prepare_policy
from collectsim.results import compute_kpis
from collectsim.scenario import Scenario


def _model(policy: str, **portfolio) -> CollectionsModel:
    sc = Scenario.model_validate({"portfolio": {"accounts": 3000, "horizon_days": 90, **portfolio}})
    m = CollectionsModel(sc, prepare_policy(policy, sc), seed=5)
    m.run_for(sc.portfolio.horizon_days)
    return m


@pytest.mark.parametrize("policy", ["no-contact", "seed-champion"])
def test_overdue_recovery_rate_counts_at_most_each_accounts_entry_arrears(policy):
    m = _model(policy)
    k, _ = compute_kpis(m)
    pop = m.borrowers
    assert k["overdue_recovery_rate"] == pytest.approx(
        np.minimum(pop.collected, pop.arrears0).sum() / pop.arrears0.sum(), rel=1e-12
    )
    assert k["overdue_recovery_rate"] <= 1.0
    # the uncapped ratio keeps its own, honest name and does exceed 1 for this book
    assert k["collected_over_entry_overdue"] == pytest.approx(pop.collected.sum() / pop.arrears0.sum())
    assert k["collected_over_entry_overdue"] > k["overdue_recovery_rate"]


def test_complaints_per_1k_accounts_has_the_book_as_its_denominator():
    m = _model("max-legal")
    k, tiers = compute_kpis(m)
    pop = m.borrowers
    assert k["complaints_per_1k_accounts"] == pytest.approx(1000.0 * pop.complaints.sum() / pop.n)
    worked = (pop.last_contact_day >= 0).sum()
    assert k["complaints_per_1k_worked"] == pytest.approx(1000.0 * pop.complaints.sum() / worked)
    for t, block in tiers.items():
        sel = pop.tier == pop.tier_names.index(t)
        assert block["complaints_per_1k_accounts"] == pytest.approx(1000.0 * pop.complaints[sel].sum() / sel.sum())


def test_working_more_accounts_cannot_lower_the_fixed_denominator_rate():
    """A policy that adds harmless contacts to more accounts (a letter) lowers complaints per
    account *worked* without a single complaint fewer; per account of the book it cannot."""
    from collectsim.policies import Cell, RuleTablePolicy, RuleTableSpec

    sc = Scenario.model_validate({"portfolio": {"accounts": 10_000, "horizon_days": 60},
                                  "channels": {"letter": {"complaint_weight": 0.0, "irritation": 0.0, "effect": 0.0}}})
    calls = Cell(tiers=["high"], call_per_week=5, offer="ptp")
    narrow = RuleTablePolicy(RuleTableSpec(name="narrow", cells=[calls]))
    # the same calls, and a letter a week to every account of the other tiers (the called accounts'
    # requests are unchanged, so they draw exactly the same luck)
    wide = RuleTablePolicy(RuleTableSpec(name="wide", cells=[calls, Cell(letter_per_week=1, offer="none")]))
    a = collectsim.simulate(sc, narrow, seed=3).kpis
    b = collectsim.simulate(sc, wide, seed=3).kpis
    assert a["complaints"] > 0  # the calls draw complaints
    assert b["complaints"] == a["complaints"]  # letters here draw no complaint and change nothing
    assert b["complaints_per_1k_worked"] < a["complaints_per_1k_worked"]  # the per-worked artefact
    assert b["complaints_per_1k_accounts"] == a["complaints_per_1k_accounts"]


def test_team_utilisation_is_the_minutes_its_contacts_took_over_its_minutes():
    sc = Scenario.model_validate({"portfolio": {"accounts": 3000, "horizon_days": 40}})
    r = collectsim.simulate(sc, "seed-champion", seed=6, log_contacts=True)
    log = r.contacts
    for team in sc.teams:
        chans = [c for c, spec in sc.channels.items() if spec.team == team.name]
        sub = log[log["channel"].astype(str).isin(chans)]
        minutes = 0.0
        for c in chans:
            one = sub[sub["channel"].astype(str) == c]
            spec = sc.channels[c]
            minutes += np.where(one["reached"], spec.handle_minutes,
                                np.where(one["connected"], spec.connect_minutes, spec.attempt_minutes)).sum()
        capacity = team.resolved_headcount(3000) * team.minutes_per_day * 40
        assert r.kpis["utilisation"][team.name] == pytest.approx(minutes / capacity)
    assert r.kpis["unworked"] == sum(r.kpis["unworked_by_team"].values())


def test_the_churn_chart_shows_cumulative_churn_not_its_running_sum():
    from collectsim.reports.plots.compare import plot_complaints_churn

    rows = []
    for seed in (1, 2):
        r = collectsim.simulate(Scenario.model_validate({"portfolio": {"accounts": 2000, "horizon_days": 30}}),
                                "sms-only", seed=seed)
        d = r.daily.copy()
        d.insert(0, "seed", seed)
        d.insert(0, "policy", "sms-only")
        d.insert(0, "variant", "base")
        rows.append(d)
    daily = pd.concat(rows, ignore_index=True)
    fig = plot_complaints_churn(daily, pd.DataFrame(), ["sms-only"])
    churn_line = fig.axes[2].get_lines()[0]
    last = daily[daily["day"] == daily["day"].max()]
    assert churn_line.get_ydata()[-1] == pytest.approx(last["churned"].mean() * 1000.0 / 2000)
