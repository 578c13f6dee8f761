"""Dense slots: moving the active accounts to the front changes no result, to the bit.

The engine permutes every per-account array when the active accounts become sparse
(:meth:`BorrowerPopulation.repack`) and puts each account back into the slot of its number
when the horizon ends. These tests run the same replication with repacking switched off,
at the default threshold and on every day, and require identical outputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collectsim
from collectsim.agents import borrowers
from collectsim.model import CollectionsModel
from collectsim.policies import get_policy
from collectsim.scenario import Scenario
from collectsim.validation.audit import audit


def _scenario(preset: str = "us-reg-f", accounts: int = 2500, days: int = 90, **portfolio) -> Scenario:
    return Scenario.model_validate(
        {"portfolio": {"accounts": accounts, "horizon_days": days, **portfolio}, "rules": {"preset": preset}}
    )


def _run(sc: Scenario, policy: str, below: float, monkeypatch) -> collectsim.SimulationResult:
    monkeypatch.setattr(borrowers, "REPACK_BELOW", below)
    return collectsim.simulate(sc, policy, seed=13, audit=False, log_contacts=True)  # contacts compared, audited


@pytest.mark.parametrize(
    ("policy", "preset", "product"),
    [("seed-champion", "us-reg-f", "card"), ("max-legal", "cn-gbt-45251", "card"),
     ("sms-only", "us-ma", "instalment"), ("max-legal", "us-reg-f", "recovery")],
)
def test_repacking_changes_no_output(policy, preset, product, monkeypatch):
    sc = _scenario(preset, product=product)
    never = _run(sc, policy, 0.0, monkeypatch)
    default = _run(sc, policy, borrowers.REPACK_BELOW, monkeypatch)
    daily = _run(sc, policy, 1.0, monkeypatch)  # whenever an account left
    for other in (default, daily):
        assert other.kpis == never.kpis
        assert other.tiers == never.tiers
        pd.testing.assert_frame_equal(other.daily, never.daily)
        pd.testing.assert_frame_equal(other.contacts, never.contacts)
    found = audit(never.contacts, sc.rules)
    assert not any(found.values()), found


def test_slots_move_during_the_run_and_return_to_account_order(monkeypatch):
    monkeypatch.setattr(borrowers, "REPACK_BELOW", 0.9)
    sc = _scenario(days=60)
    model = CollectionsModel(sc, get_policy("seed-champion"), seed=2)
    fresh = CollectionsModel(sc, get_policy("seed-champion"), seed=2).borrowers
    pop = model.borrowers
    moved = False
    for _ in range(59):
        model.step()
        n_active = len(pop.active_idx)
        assert np.array_equal(pop.active_idx, np.flatnonzero(pop.is_active))
        assert not pop.is_active[pop.live :].any()
        assert np.array_equal(np.sort(pop.account_id), np.arange(pop.n)), "slots hold each account once"
        # latent draws travel with their account
        assert np.array_equal(pop.balance0, fresh.balance0[pop.account_id])
        moved |= n_active > 0 and pop.live == n_active and pop.live < pop.n
    assert moved, "the book should have been repacked at least once"
    model.step()  # the last day of the horizon
    assert np.array_equal(pop.account_id, np.arange(pop.n))
    assert np.array_equal(pop.balance0, fresh.balance0) and np.array_equal(pop.tier, fresh.tier)
    log = model.contact_log()
    assert log["account"].between(0, pop.n - 1).all()


def test_every_per_account_array_is_permuted():
    """Every array of the population with one entry per account is in PER_ACCOUNT."""
    n = 1237  # no other dimension (segments, tiers, channels, regimes) has this length
    model = CollectionsModel(_scenario(accounts=n, days=5), get_policy("no-contact"))
    pop = model.borrowers
    per_account = {k for k, v in vars(pop).items() if isinstance(v, np.ndarray) and v.shape == (n,)}
    per_account -= {"active_idx"}  # the index itself is rebuilt, not permuted
    assert per_account == set(borrowers.PER_ACCOUNT)
    assert model.rule_engine.rings.shape[1] == n and model.rule_engine.last_days.shape[1] == n
