"""Bankruptcy notices and the fading of a contact's effect with days past due (docs/model.md
§3.4 and §5.2), in the engine and in the per-agent reference.

* A bankruptcy notice charges an account off with the daily probability 1 − e^{−h/365} of its
  regime's hazard ``h``, whatever its DPD: in a book that never pays (λ∞ = 0, no contact) the
  share charged off by day ``t`` is 1 − e^{−h t/365}, checked within 4 binomial standard errors
  in both implementations; a hazard only in the hardship regime charges off no stable account.
* The effort jump of a right-party contact at DPD ``d`` is × 2^{−(d−1)/h}: the jumps of the same
  call to accounts at DPD 1, 1 + h, 1 + 2h, … halve exactly (engine kernel, one call each), and
  are equal with a half-life of 0 (no fading).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from collectsim.model import CollectionsModel
from collectsim.policies import prepare_policy
from collectsim.scenario import Scenario
from collectsim.validation.reference import CHARGED_OFF as REF_CHARGED_OFF
from collectsim.validation.reference import ReferenceModel
from collectsim.vocabulary.accounts import CHARGED_OFF
from collectsim.vocabulary.channels import CHANNELS

DAYS = 60


def _never_paying(accounts: int, hazard: list[float], regime_shares: list[float]) -> Scenario:
    seg = Scenario().segments[0].model_dump() | {
        "share": 1.0, "lambda_inf_per_year": 0.0, "regime_shares": regime_shares,
    }
    return Scenario.model_validate({
        "segments": [seg],
        "portfolio": {"accounts": accounts, "horizon_days": DAYS, "entry_buckets": {"M1": 1.0}},
        "regimes": {"ability": [1.0, 0.5, 0.1], "bankruptcy_per_year": hazard,
                    "monthly_transitions": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]},
        "rules": {"preset": "none"},
    })


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "reference"])
def test_bankruptcy_notices_charge_off_at_the_hazard_rate(engine):
    h, n = 2.0, 20_000 if engine else 2_000
    sc = _never_paying(n, [h, h, h], [0.5, 0.3, 0.2])
    model = (CollectionsModel if engine else ReferenceModel)(sc, prepare_policy("no-contact", sc), seed=5)
    for _ in range(DAYS):
        model.step()
    if engine:
        pop = model.borrowers
        co = pop.status == CHARGED_OFF
        assert (pop.dpd[co] < pop.chargeoff_dpd).all()  # all outside the buckets (at most 90 DPD)
        assert (pop.charged_off[co] == pop.balance0[co]).all() and (pop.balance[co] == 0).all()
        share = co.mean()
    else:
        share = np.mean([b.status == REF_CHARGED_OFF for b in model.borrowers])
    p = -math.expm1(-h * DAYS / 365)
    se = math.sqrt(p * (1 - p) / n)
    assert abs(share - p) < 4 * se, (share, p, se)


def test_a_hardship_hazard_spares_stable_accounts():
    sc = _never_paying(5_000, [0.0, 0.0, 5.0], [1.0, 0.0, 0.0])
    model = CollectionsModel(sc, prepare_policy("no-contact", sc), seed=1)
    for _ in range(DAYS):
        model.step()
    assert not (model.borrowers.status == CHARGED_OFF).any()
    sc = _never_paying(5_000, [0.0, 0.0, 5.0], [0.0, 0.0, 1.0])
    model = CollectionsModel(sc, prepare_policy("no-contact", sc), seed=1)
    for _ in range(DAYS):
        model.step()
    assert (model.borrowers.status == CHARGED_OFF).mean() > 0.5


@pytest.mark.parametrize("hl", [20.0, 0.0], ids=["half-life 20", "0: no fading"])
def test_the_effect_of_a_contact_halves_every_half_life_in_days_past_due(hl):
    step = 20
    sc = Scenario.model_validate({
        "portfolio": {"accounts": 4, "horizon_days": 10, "entry_dpd": 1},
        "behaviour": {"effect_half_life_dpd": hl},
        "rules": {"preset": "none"},
    })
    model = CollectionsModel(sc, prepare_policy("no-contact", sc), seed=0)
    pop = model.borrowers
    pop.dpd[:] = [1, 1 + step, 1 + 2 * step, 1 + 3 * step]
    pop.regime[:] = 0
    before = pop.lam.copy()
    k = np.arange(4, dtype=np.int64)
    yes = np.ones(4, dtype=bool)
    pop.absorb_contacts(0, k, np.full(4, CHANNELS.index("call"), dtype=np.int8), np.full(4, 12, dtype=np.int8),
                        yes, yes, np.zeros(4, dtype=bool), k, np.ones(4), model.channels, np.zeros(4), yes)
    per_unit = (pop.lam - before) / pop.willingness  # δ2 · effect · skill · 2^{−(d−1)/h}, same segment
    seg_d2 = pop.d2_by_segment[pop.segment]
    np.testing.assert_allclose(per_unit / seg_d2, model.channels.effect[CHANNELS.index("call")] * (0.5 ** np.arange(4) if hl else 1.0),
                               rtol=1e-6)
