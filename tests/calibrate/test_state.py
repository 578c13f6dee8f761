"""The state replayed from a history is the engine's own: DPD at every contact and day, roll rates.

A history is synthesised from the engine with a watcher that records each morning's
:class:`~collectsim.Observation` (the DPD the day's contacts see); the replay, which reads only
the history's tables, must give the same DPD at every contact row and at the end of the
roll-rate cycles, the same account-days in collections, and the same roll-rate counts as
the engine's ``close_day`` on the same seed (common random numbers: the same run).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import collectsim
from collectsim.experiments.calibrate import state
from collectsim.experiments.synth import synthesize
from collectsim.history import read_history
from collectsim.model import CollectionsModel
from collectsim.policies import prepare_policy
from collectsim.vocabulary.accounts import BUCKETS

ROOT = Path(__file__).resolve().parents[2]
CHALLENGER = str(ROOT / "experiments" / "policies" / "challenger.toml")
ACCOUNTS, DAYS, SEED = 3000, 90, 4


def _experiment(tmp: Path, product: str = "card", accept: float | None = None, accounts: int = ACCOUNTS):
    """The quickstart book (``accept``: promise and plan acceptance raised, for more plans)."""
    text = (ROOT / "experiments" / "quickstart.toml").read_text().replace('product = "card"', f'product = "{product}"')
    if accept is not None:
        text += f"\n[behaviour]\nplan_accept = {accept}\nptp_accept = {accept}\n"
    path = tmp / f"book-{product}-{accept}.toml"
    path.write_text(text)
    return collectsim.load_experiment(path, accounts=accounts, days=DAYS)


def _synth(tmp: Path, exp, policy: str):
    """A history of ``exp`` under ``policy`` and the engine's DPD of every account each morning
    (-1: not in collections), plus whether it was in a plan."""
    n = exp.scenario.portfolio.accounts
    dpd = np.full((n, DAYS), -1, dtype=np.int64)
    plan = np.zeros((n, DAYS), dtype=bool)

    def watch(obs):
        idx = obs.active_index
        dpd[obs.account_id[idx], obs.day] = obs.dpd[idx]
        plan[obs.account_id[idx], obs.day] = obs.in_plan[idx]

    folder = tmp / "h"
    folder.mkdir()
    synthesize(exp, folder, policy=policy, seed=SEED, watch=watch)
    return read_history(folder), dpd, plan


@pytest.mark.parametrize("policy, accept", [("seed-champion", None), (CHALLENGER, 1.0)])
def test_replayed_dpd_is_the_engines(tmp_path, policy, accept):
    h, dpd, plan = _synth(tmp_path, _experiment(tmp_path, accept=accept), policy)
    r = state.replay(h)
    c = h.contacts
    acc, day = c["account"].to_numpy(), c["day"].to_numpy()
    true = dpd[acc, day]
    assert (true >= 0).all()  # (every contact is of an account in collections)
    in_plan = plan.any(axis=1)[acc]
    assert in_plan.sum() > 50  # plans are exercised
    np.testing.assert_array_equal(r.contact_dpd, true)  # every contact, plan accounts included
    assert np.array_equal(state.contact_dpd(h), true)
    # the end of each roll-rate cycle: DPD after the day's payments = next morning's DPD less
    # that morning's ageing (none in a plan); not in collections then: -1
    ends = [d for d in r.sample_days if d + 1 < DAYS]
    assert ends == [29, 59]
    daily = state.daily_dpd(h, days=ends)
    for d in ends:
        morning = dpd[:, d + 1]
        expected = np.where(morning >= 0, morning - ~plan[:, d + 1], -1)
        np.testing.assert_array_equal(daily[d].to_numpy(), expected)
    # account-days in collections by bucket
    assert r.days_in_bucket.sum() == (dpd >= 0).sum()
    for b in range(len(BUCKETS)):
        assert r.days_in_bucket[:, b].sum() == ((dpd >= 0) & (np.clip((dpd - 1) // 30, 0, 5) == b)).sum()
    assert r.mismatched_exits == 0
    exited = h.outcomes.set_index("account")["day"]
    np.testing.assert_array_equal(r.exit_day[np.searchsorted(r.account, exited.index)], exited.to_numpy())


def test_plan_length_and_settlement_discount_are_read_from_the_payments(tmp_path):
    h, _, _ = _synth(tmp_path, _experiment(tmp_path, accept=1.0, accounts=10_000), CHALLENGER)
    r = state.replay(h)
    out = h.contacts["outcome"].astype(str).to_numpy()
    k = r.plan_months[out == "plan"]
    assert (k > 0).sum() >= 20 and set(np.unique(k[k > 0])) == {6}  # the challenger's 6-month plans
    settled = h.contacts[out == "settlement"][["account", "day"]]
    disc = r.settlement_discount[out == "settlement"]
    assert len(disc) >= 5
    # the engine pays rint(B·(1 − 0.25)) cents, so 1 − paid/B is within half a cent of the
    # balance B > paid of the discount
    paid = settled.merge(h.payments, on=["account", "day"], how="left")["amount"].to_numpy()
    assert (np.abs(disc - 0.25) <= 0.005 / paid).all()


def test_recovery_book_has_no_cure_and_no_roll_back(tmp_path):
    h, dpd, _ = _synth(tmp_path, _experiment(tmp_path, product="recovery", accept=1.0), CHALLENGER)
    c = h.contacts
    np.testing.assert_array_equal(state.contact_dpd(h), dpd[c["account"].to_numpy(), c["day"].to_numpy()])


def test_roll_rates_are_the_engines(tmp_path):
    exp = _experiment(tmp_path)
    h, _, _ = _synth(tmp_path, exp, "seed-champion")
    model = CollectionsModel(exp.scenario, prepare_policy("seed-champion", exp.scenario), seed=SEED, log_contacts=False)
    model.run_for(DAYS)
    names = list(exp.scenario.scoring.tier_names)
    rr = state.roll_rates(h, tier_names=names)
    for t, name in enumerate(names):
        got = rr[rr["tier"] == name]
        np.testing.assert_array_equal(got["accounts"].to_numpy(), model.tally.roll_den[t, :-1])
        np.testing.assert_array_equal(got["rolled"].to_numpy(), model.tally.roll_num[t, :-1])
    every = rr[rr["tier"] == "all"]
    assert every["accounts"].sum() == model.tally.roll_den[:, :-1].sum() > 0


def test_without_outcomes_the_replay_still_sees_every_contact(tmp_path):
    """Exits then come from the mechanics alone (paid, cured, settled, charge-off DPD): what
    charges an account off outside the buckets (a bankruptcy notice) is not in the tables, so
    such accounts stay "in collections" longer — but every contact's DPD is still exact."""
    h, dpd, _ = _synth(tmp_path, _experiment(tmp_path), "seed-champion")
    bare = dataclasses.replace(h, outcomes=h.outcomes.iloc[0:0])
    r = state.replay(bare)
    c = h.contacts
    np.testing.assert_array_equal(r.contact_dpd, dpd[c["account"].to_numpy(), c["day"].to_numpy()])
    assert r.days_in_bucket.sum() >= (dpd >= 0).sum()
    cured = h.outcomes[h.outcomes["status"].astype(str) != "charged_off"]
    k = np.searchsorted(r.account, cured["account"].to_numpy())
    np.testing.assert_array_equal(r.exit_day[k], cured["day"].to_numpy())  # the good endings are the mechanics'


def test_a_contact_is_seen_paused_exactly_when_the_engine_had_a_plan_or_promise_running(tmp_path):
    """A table that does not pause contacts accounts during promises and plans: with the
    promises' due days in the history (``promise_day``) the replay's pause is the engine's at
    every contact; without them it marks only days surely paused (the plan, the day after a
    promise)."""
    text = Path(CHALLENGER).read_text().replace("pause_on_promise = true", "pause_on_promise = false")
    loud = tmp_path / "loud.toml"
    loud.write_text(text)
    exp = _experiment(tmp_path, accept=1.0)
    n = exp.scenario.portfolio.accounts
    paused = np.zeros((n, DAYS), dtype=bool)
    due = np.full((n, DAYS), -1, dtype=np.int64)

    def watch(obs):
        idx = obs.active_index
        paused[obs.account_id[idx], obs.day] = obs.in_plan[idx] | (obs.promise_due_day[idx] >= 0)
        due[obs.account_id[idx], obs.day] = obs.promise_due_day[idx]

    folder = tmp_path / "h"
    folder.mkdir()
    synthesize(exp, folder, policy=str(loud), seed=SEED, watch=watch)
    h = read_history(folder)
    c = h.contacts
    acc, day = c["account"].to_numpy(), c["day"].to_numpy()
    truth = paused[acc, day]
    assert truth.sum() > 100  # contacts during promises and plans happen
    sure = state.replay(h).contact_paused
    assert not (sure & ~truth).any() and sure.sum() > 0.2 * truth.sum()
    # the promises' due days as a CRM records them: the next morning's due day
    promised = (c["outcome"].astype(str) == "promise").to_numpy() & (day + 1 < DAYS)
    promise_day = np.full(len(c), np.nan)
    promise_day[promised] = np.where(due[acc[promised], day[promised] + 1] >= 0, due[acc[promised], day[promised] + 1],
                                     np.nan)
    full = dataclasses.replace(h, contacts=c.assign(promise_day=promise_day))
    got = state.replay(full).contact_paused
    late = day + 1 >= DAYS  # (a promise of the last day has no next morning)
    np.testing.assert_array_equal(got[~late], truth[~late])


@pytest.mark.slow
def test_a_large_book_under_the_us_rules_replays_exactly(tmp_path):
    """30,000 accounts × 180 days of the quickstart as it is (Regulation F, its collectors):
    every contact's DPD, every cycle end and every exit are the engine's."""
    exp = collectsim.load_experiment(ROOT / "experiments" / "quickstart.toml", accounts=30_000, days=180)
    n, days = 30_000, 180
    dpd = np.full((n, days), -1, dtype=np.int64)
    plan = np.zeros((n, days), dtype=bool)

    def watch(obs):
        idx = obs.active_index
        dpd[obs.account_id[idx], obs.day] = obs.dpd[idx]
        plan[obs.account_id[idx], obs.day] = obs.in_plan[idx]

    folder = tmp_path / "h"
    folder.mkdir()
    synthesize(exp, folder, policy="seed-champion", seed=SEED, watch=watch)
    h = read_history(folder)
    r = state.replay(h)
    c = h.contacts
    np.testing.assert_array_equal(r.contact_dpd, dpd[c["account"].to_numpy(), c["day"].to_numpy()])
    for k, d in enumerate(r.sample_days[:-1]):
        morning = dpd[:, d + 1]
        np.testing.assert_array_equal(r.sample_dpd[:, k], np.where(morning >= 0, morning - ~plan[:, d + 1], -1))
    assert r.days_in_bucket.sum() == (dpd >= 0).sum() and r.mismatched_exits == 0
