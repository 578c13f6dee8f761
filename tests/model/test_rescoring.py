"""Behavioural re-scoring (``[scoring] rescore_every_days``, collectsim/model/rescoring.py)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import collectsim
from collectsim.errors import InputError
from collectsim.model import CollectionsModel
from collectsim.model.rescoring import Rescorer, behaviour_score
from collectsim.policies import get_policy
from collectsim.scenario import Scenario
from collectsim.validation.reference import ReferenceModel


def _scenario(every: int = 30, **scoring) -> Scenario:
    return Scenario.model_validate({"portfolio": {"accounts": 3000, "horizon_days": 90},
                                    "scoring": {"rescore_every_days": every, **scoring}})


def _sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_behaviour_score_by_hand():
    sc = _scenario(rescore_paid=1.0, rescore_broken_promise=0.5, rescore_answered=0.5).scoring
    # entry 0.3, no payment, 2 broken promises, 1 of 4 contacts answered:
    # logit 0.3 = ln(3/7); −1 (no payment); −0.5·2; +0.5·(2·1/4 − 1)
    want_a = _sigma(math.log(3 / 7) - 1.0 - 1.0 - 0.25)
    # entry 0.3, paid, no broken promise, never contacted: ln(3/7) + 1
    want_b = _sigma(math.log(3 / 7) + 1.0)
    # entry 0.6, paid, 1 broken, 3 of 3 answered: ln(1.5) + 1 − 0.5 + 0.5
    want_c = _sigma(math.log(1.5) + 1.0)
    got = behaviour_score(np.array([0.3, 0.3, 0.6]), np.array([False, True, True]), np.array([2, 0, 1]),
                          np.array([4, 0, 3]), np.array([1, 0, 3]), sc)
    assert got == pytest.approx([want_a, want_b, want_c], rel=1e-12)


def test_rescore_of_a_small_book_by_hand():
    """Four accounts; tiers high < 0.25 ≤ medium < 0.5 ≤ low. Day 29, every 30 days."""
    sc = _scenario().scoring
    entry = np.array([0.45, 0.30, 0.20, 0.55], dtype=np.float32)  # medium, medium, high, low
    r = Rescorer(sc, entry)
    r.count_contacts(np.array([0, 0, 1, 2, 2, 2]), np.array([False, False, True, True, True, False]))
    # slots 0..3 hold accounts 3, 2, 1, 0 (the rescorer keys by account number, the population by slot)
    pop = SimpleNamespace(
        active_idx=np.array([0, 1, 2, 3]), account_id=np.array([3, 2, 1, 0]),
        entry_day=np.array([0, 0, 0, 5], dtype=np.int16),        # account 0 entered on day 5: too recent
        last_payment_day=np.array([-1, 12, -1, -1], dtype=np.int16),
        broken_promises=np.array([0, 0, 1, 3], dtype=np.int8),
        score=entry[[3, 2, 1, 0]].copy(), tier=np.array([2, 0, 1, 1], dtype=np.int8))
    moves = r.rescore(29, pop)
    # account 3 (slot 0): ln(0.55/0.45) − 1 (not paid), never contacted → 0.3102: low → medium
    # account 2 (slot 1): ln(0.2/0.8) + 1 + 0.5·(2·2/3 − 1) = −0.2196 → 0.4453: high → medium
    # account 1 (slot 2): ln(0.3/0.7) − 1 − 0.5 + 0.5·(2·1 − 1) = −1.8473 → 0.1362: medium → high
    # account 0 (slot 3): not re-scored (in collections 25 days < 30)
    want = [_sigma(math.log(0.55 / 0.45) - 1), _sigma(math.log(0.25) + 1 + 0.5 / 3),
            _sigma(math.log(3 / 7) - 1.5 + 0.5)]
    assert pop.score[:3] == pytest.approx(want, abs=1e-6)
    assert pop.score[3] == np.float32(0.45)
    assert pop.tier.tolist() == [1, 1, 0, 1]
    expected = np.zeros((3, 3), dtype=np.int64)
    expected[2, 1] = expected[0, 1] = expected[1, 0] = 1
    assert np.array_equal(moves, expected)
    assert not r.due(28) and r.due(29) and r.due(59)


def test_accounts_that_do_not_pay_and_break_promises_move_to_the_riskier_tier():
    model = CollectionsModel(_scenario(), get_policy("seed-champion"), seed=5)
    pop = model.borrowers
    entry_tier = pop.tier.copy()  # account order on day 0
    model.run_for(30)             # the first re-score at the end of day 29
    ids = pop.account_id[pop.active_idx]
    slots = pop.active_idx
    a = model.rescorer.answered[ids]
    m = model.rescorer.made[ids]
    # never paid, at most half of the contacts answered (and any broken promises): every term points to risk
    bad = (pop.last_payment_day[slots] < 0) & (a * 2 <= m)
    broke = bad & (pop.broken_promises[slots] >= 1)
    assert bad.sum() > 300 and broke.sum() > 0
    new, old = pop.tier[slots][bad], entry_tier[ids[bad]]
    assert (new <= old).all(), "a non-payer never moves to a safer tier"
    assert (new < old).sum() > 0.5 * (old > 0).sum(), "most of those that can move riskier do"
    assert (pop.score[slots][broke] < model.rescorer.entry_score[ids[broke]]).all()
    assert np.mean(new == 0) > np.mean(old == 0) + 0.1, "the high-risk tier gains the non-payers"
    # those that paid within the period and broke no promise never move riskier when answered ≥ half
    good = (pop.last_payment_day[slots] >= 0) & (pop.broken_promises[slots] == 0) & (a * 2 >= m)
    assert good.sum() > 30
    assert (pop.tier[slots][good] >= entry_tier[ids[good]]).all()
    # the daily series' migrations are the cross-table of entry tier and tier after the re-score
    row = model.datacollector.get_model_vars_dataframe().iloc[29]
    old_all, new_all = entry_tier[ids], pop.tier[slots]
    names = pop.tier_names
    for i, x in enumerate(names):
        for j, y in enumerate(names):
            if i != j:
                assert row[f"tier_{x}_to_{y}"] == np.count_nonzero((old_all == i) & (new_all == j))
    assert row["tier_riskier"] == np.count_nonzero(new_all < old_all)
    assert row["tier_safer"] == np.count_nonzero(new_all > old_all)
    assert row["rescored"] == len(slots)  # a closed book: every active account entered on day 0


def test_rescoring_is_deterministic_and_off_by_default():
    a = collectsim.simulate(_scenario(), "seed-champion", seed=9, audit=False)
    b = collectsim.simulate(_scenario(), "seed-champion", seed=9, audit=False)
    assert a.daily.equals(b.daily)
    assert a.kpis == b.kpis
    assert a.daily["tier_riskier"].sum() > 0
    off = collectsim.simulate(_scenario(0), "seed-champion", seed=9, audit=False)
    assert "rescored" not in off.daily.columns
    # the same draws: re-scoring changes which tier a policy sees, not the book's luck on day 0..29
    assert off.daily.iloc[:29].equals(a.daily.iloc[:29][list(off.daily.columns)])


def test_the_reference_model_refuses_rescoring():
    with pytest.raises(InputError, match="scoring.rescore_every_days"):
        ReferenceModel(_scenario(), get_policy("seed-champion"), seed=1)
