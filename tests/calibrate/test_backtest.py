"""The backtest: under the experiment that made a history its held-out KPIs lie in their
bands; under a wrong one (agent calls connecting half as often) the affected KPI does not.

The history is written by ``collectsim synth`` and read back; the "fit" is the truth
(``config.toml`` and ``truth.json`` of the folder). Bands are prediction bands from the
replications' mean and sd; the test asks the family of held-out KPIs to lie inside jointly
at 95 % (Bonferroni: each band at 1 − 0.05 / K), with fixed seeds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import collectsim
from collectsim.errors import InputError
from collectsim.experiments.calibrate.backtest import BACKTEST_COLUMNS, backtest, heldout_kpis, truncate
from collectsim.experiments.files import experiment_from_dict
from collectsim.history import read_history

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "quickstart.toml"
ACCOUNTS, DAYS, SEED, SPLIT, REPS = 1500, 60, 1, 40, 10


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt") / "h"
    collectsim.synthesize_history(EXPERIMENT, out=out, accounts=ACCOUNTS, days=DAYS, seed=SEED)
    return out, read_history(out)


def _truth(folder: Path):
    """The fit that knows the truth: the experiment and policy that made the history."""
    def fit(h):
        assert h.days == SPLIT and int(h.contacts["day"].max()) < SPLIT  # it sees only the first part
        policy = json.loads((folder / "truth.json").read_text())["policy"]
        return collectsim.load_experiment(folder / "config.toml"), policy
    return fit


def _family_level(bt: pd.DataFrame) -> float:
    return 1 - 0.05 / len(bt)


def test_truncate_keeps_what_was_known_at_the_split(synth):
    _, h = synth
    t = truncate(h, SPLIT)
    assert t.days == SPLIT and t.meta["days"] == SPLIT
    for name in ("payments", "contacts", "outcomes"):
        full, cut = getattr(h, name), getattr(t, name)
        pd.testing.assert_frame_equal(cut, full[full.day < SPLIT].reset_index(drop=True))
    assert len(t.accounts) == int((h.accounts.entry_day < SPLIT).sum())
    assert 0 < len(t.outcomes) < len(h.outcomes)
    with pytest.raises(InputError, match="split day = 0"):
        truncate(h, 0)


def test_the_held_out_kpis_follow_their_definitions(synth):
    _, h = synth
    k = heldout_kpis(h, SPLIT)
    c = h.contacts.query("day >= @SPLIT")
    o = h.outcomes.query("day >= @SPLIT")
    assert k["collected_per_day"] == pytest.approx(h.payments.query("day >= @SPLIT").amount.sum() / (DAYS - SPLIT))
    assert k["contacts"] == len(c) == sum(v for n, v in k.items() if n.startswith("contacts."))
    assert k["rpcs"] == (c.outcome != "no_answer").sum() - (c.outcome == "connect").sum()
    assert k["rpcs.call"] == len(c.query("channel == 'call' and outcome in ['rpc', 'promise', 'plan', 'settlement']"))
    assert k["promises"] == (c.outcome == "promise").sum() and k["complaints"] == c.complaint.sum()
    assert k["cures"] == (o.status == "cured").sum() and k["charge_offs"] == (o.status == "charged_off").sum()
    # and from the engine's daily series of the same run (common random numbers: the same seed is the same run)
    exp = collectsim.load_experiment(EXPERIMENT, accounts=ACCOUNTS, days=DAYS)
    daily = collectsim.simulate(exp.scenario, exp.run.policy, SEED, audit=False, value=False).daily
    held, before = daily[daily.day >= SPLIT], daily[daily.day == SPLIT - 1].iloc[0]
    last = daily.iloc[-1]
    assert k["collected_per_day"] == pytest.approx(held.collected.sum() / (DAYS - SPLIT), rel=1e-9)
    assert k["complaints"] == held.complaints.sum() and k["promises"] == held.ptps.sum()
    assert k["rpcs.call"] == held.rpcs.sum()  # the daily rpcs are the agent calls that reached the debtor
    for ch in ("sms", "email", "call", "visit"):
        assert k[f"contacts.{ch}"] == held[f"contacts_{ch}"].sum()
    assert k["cures"] == last.cured - before.cured and k["charge_offs"] == last.charged_off - before.charged_off


def test_under_the_true_experiment_every_held_out_kpi_lies_in_its_band(synth):
    folder, h = synth
    bt = backtest(h, _truth(folder), SPLIT, reps=REPS, seed=1000, jobs=1, level=1 - 0.05 / 15)
    assert list(bt.columns) == list(BACKTEST_COLUMNS) and len(bt) == 15  # 7 totals + contacts, rpcs of 4 channels
    assert bt.attrs["level"] == pytest.approx(_family_level(bt))
    t = stats.t.ppf(1 - 0.05 / 15 / 2, REPS - 1)
    half = t * bt.sd * np.sqrt(1 + 1 / REPS)  # the band, from the replications' mean and sd
    assert np.allclose(bt.lo, np.maximum(0, bt.simulated_mean - half)) and np.allclose(bt.hi, bt.simulated_mean + half)
    assert (bt.replications == REPS).all()
    outside = bt.loc[~bt.inside, "kpi"].tolist()
    assert outside == [], f"held-out KPIs outside their bands under the truth: {outside}\n{bt.to_string()}"


def test_a_wrong_experiment_falls_outside_for_the_affected_kpi(synth):
    folder, h = synth
    truth = _truth(folder)

    def wrong(part):
        exp, policy = truth(part)
        data = copy.deepcopy(exp.scenario.resolved())
        data["channels"]["call"]["connect"] *= 0.5  # agent calls connect half as often
        return experiment_from_dict(data), policy

    bt = backtest(h, wrong, SPLIT, reps=REPS, seed=1000, jobs=1, level=1 - 0.05 / 15).set_index("kpi")
    assert not bt.loc["rpcs.call", "inside"] and bt.loc["rpcs.call", "observed"] > bt.loc["rpcs.call", "hi"]
    assert bt.loc["rpcs.sms", "inside"] and bt.loc["rpcs.email", "inside"]  # the other channels' are untouched


def test_backtest_refuses_a_split_without_a_held_out_part(synth):
    folder, h = synth
    with pytest.raises(InputError, match=f"split day = {DAYS}"):
        backtest(h, _truth(folder), DAYS, reps=3)
    with pytest.raises(InputError, match="reps = 1"):
        backtest(h, _truth(folder), SPLIT, reps=1)

