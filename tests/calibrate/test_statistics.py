"""The statistics a fit is judged by: every number derived from its definition once more.

On a history simulated in memory, each statistic of :func:`history_statistics` is computed a
second time — from the engine's own KPIs and daily series on the same seed (common random
numbers make ``collectsim.simulate`` the same run), or by a pandas route written differently
(crosstabs, a loop over promises). The comparison's means, sds, bands and flags are
re-derived with pandas from the replications.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import collectsim
from collectsim.experiments.calibrate.backtest import backtest
from collectsim.experiments.calibrate.statistics import (
    PROMISE_DAYS,
    RPC_OUTCOMES,
    STATISTICS,
    compare_statistics,
    history_statistics,
    read_fit_checks,
    simulated_statistics,
    write_fit_checks,
)
from collectsim.experiments.synth import simulate_history
from collectsim.history import History

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "quickstart.toml"
ACCOUNTS, DAYS, SEED = 2000, 60, 11


@pytest.fixture(scope="module")
def run():
    exp = collectsim.load_experiment(EXPERIMENT, accounts=ACCOUNTS, days=DAYS)
    h = simulate_history(exp, policy=exp.run.policy, seed=SEED)
    result = collectsim.simulate(exp.scenario, exp.run.policy, SEED, audit=False, value=False)
    return exp, h, history_statistics(h), result


def test_the_recovery_curve_is_the_engines(run):
    _, h, s, result = run
    rc = s["recovery_curve"]
    assert rc["day"].tolist() == list(range(DAYS))
    # the engine's cumulative collected / balance at entry, day by day (a closed book: every account at day 0)
    assert np.allclose(rc["recovery_rate"].to_numpy(), result.daily["recovery_rate"].to_numpy(), rtol=1e-9, atol=1e-12)
    # and by a pandas route: payments summed per day, cumulated, over the accounts' entry balances
    per_day = h.payments.groupby("day")["amount"].sum().reindex(range(DAYS), fill_value=0.0)
    assert np.allclose(rc["recovery_rate"], per_day.cumsum() / h.accounts["balance"].sum(), rtol=1e-12)


def test_contact_and_rpc_rates_are_the_engines(run):
    _, h, s, result = run
    k = result.kpis
    ch = s["channel_rates"].set_index("channel")
    for c in ch.index:
        assert ch.loc[c, "attempts"] == k["contacts"][c]
        assert ch.loc[c, "connects"] == k["connected"][c] and ch.loc[c, "rpcs"] == k["reached"][c]
        assert ch.loc[c, "contact_rate"] == pytest.approx(k["contact_rates"][c], rel=1e-12)
        assert ch.loc[c, "rpc_rate"] == pytest.approx(k["rpc_rates"][c], rel=1e-12)
    assert ch.loc["call", "contact_rate"] == pytest.approx(k["contact_rate"]) and \
        ch.loc["call", "rpc_rate"] == pytest.approx(k["rpc_rate"])
    assert set(ch.index) == {c for c, n in k["contacts"].items() if n}
    # channel × hour by a crosstab of the raw contacts
    c = h.contacts
    attempts = pd.crosstab([c.channel, c.hour], "n")["n"]
    connects = pd.crosstab([c.channel, c.hour], c.outcome != "no_answer").get(True)
    rpcs = pd.crosstab([c.channel, c.hour], c.outcome.isin(["rpc", "promise", "plan", "settlement"])).get(True)
    t = s["contact_rates"].set_index(["channel", "hour"])
    assert len(t) == len(attempts)
    for key, n in attempts.items():
        assert t.loc[key, "attempts"] == n
        assert t.loc[key, "contact_rate"] == pytest.approx(connects.get(key, 0) / n, rel=1e-12)
        assert t.loc[key, "rpc_rate"] == pytest.approx(rpcs.get(key, 0) / n, rel=1e-12)


def test_promise_plan_and_settlement_rates_are_the_engines(run):
    _, h, s, result = run
    k = result.kpis
    conv = s["conversations"].set_index("channel")
    # the engine's conversations are the right-party calls and visits; its promises, plans and settlements theirs
    assert conv.loc[["call", "visit"], "rpcs"].sum() == k["conversations"]
    assert conv.loc["all", "promises"] == round(k["ptp_rate"] * k["conversations"])
    assert conv.loc["all", "plans"] == k["plans"]["accepted"]
    assert conv.loc["all", "settlements"] == k["settlements"]["accepted"]
    assert conv.loc["all", "rpcs"] == sum(k["reached"].values())
    for ch, r in conv.iterrows():
        o = h.contacts.outcome if ch == "all" else h.contacts.outcome[h.contacts.channel == ch]
        n = o.isin(RPC_OUTCOMES).sum()
        assert r.promise_rate == pytest.approx((o == "promise").sum() / n, rel=1e-12)
        assert r.plan_rate == pytest.approx((o == "plan").sum() / n, rel=1e-12)
        assert r.settlement_rate == pytest.approx((o == "settlement").sum() / n, rel=1e-12)
    assert conv.loc["all", "promises"] > 0 and conv.loc["all", "plans"] > 0


def test_the_promise_kept_rate_follows_its_rule(run):
    _, h, s, _ = run
    payments = {}
    for a, d in zip(h.payments.account, h.payments.day, strict=True):
        payments.setdefault(a, []).append(d)
    due = kept = 0
    promises = h.contacts[h.contacts.outcome == "promise"]
    for a, d in zip(promises.account, promises.day, strict=True):  # one promise at a time, by a loop
        if d + PROMISE_DAYS > DAYS - 1:
            continue  # not due inside the window
        due += 1
        kept += any(d <= p <= d + PROMISE_DAYS for p in payments.get(a, []))
    row = s["promises_kept"].set_index("channel").loc["all"]
    assert due > 10 and row["due"] == due and row["kept"] == kept and row["kept_rate"] == pytest.approx(kept / due)
    assert row["promises"] == len(promises)


def test_a_given_promise_day_is_the_due_day(run):
    _, h, s, _ = run
    c = h.contacts.copy()
    c["promise_day"] = np.where(c.outcome == "promise", c.day, -1)  # every promise due the day it is made
    h2 = History(h.accounts, h.payments, c, h.outcomes, h.days, h.meta)
    row = history_statistics(h2)["promises_kept"].set_index("channel").loc["all"]
    promises = c[c.outcome == "promise"]
    same_day = set(zip(h.payments.account, h.payments.day, strict=True))
    assert row["due"] == len(promises)
    assert row["kept"] == sum((a, d) in same_day for a, d in zip(promises.account, promises.day, strict=True))


def test_complaints_and_opt_outs_are_the_engines(run):
    _, h, s, result = run
    t = s["complaints"].set_index("channel")
    assert t.loc["all", "complaints"] == result.kpis["complaints"] == result.daily["complaints"].sum()
    assert t.loc["all", "opt_outs"] == result.kpis["optouts"]
    assert t.loc["all", "complaints_per_1k"] == pytest.approx(1000 * result.kpis["complaints"] / len(h.contacts))
    per = h.contacts.groupby("channel", observed=True)[["complaint", "opt_out"]].mean() * 1000
    for ch in per.index:
        assert t.loc[ch, "complaints_per_1k"] == pytest.approx(per.loc[ch, "complaint"], rel=1e-12, abs=1e-12)
        assert t.loc[ch, "opt_outs_per_1k"] == pytest.approx(per.loc[ch, "opt_out"], rel=1e-12, abs=1e-12)
    assert t.loc["all", "opt_outs"] > 0


def test_outcome_shares_are_the_engines(run):
    _, h, s, result = run
    o = s["outcomes"].set_index("status")
    k, last = result.kpis, result.daily.iloc[-1]
    assert o.loc["cured", "share"] == pytest.approx(k["cure_rate"])
    assert o.loc["paid", "share"] == pytest.approx(k["paid_rate"])
    assert o.loc["settled", "share"] == pytest.approx(k["settled_rate"])
    for status in ("cured", "paid", "settled", "charged_off"):
        assert o.loc[status, "accounts"] == last[status]
    assert o.loc["in_collections", "accounts"] == last["active"]
    assert o["share"].sum() == pytest.approx(1.0) and o.loc["cured", "accounts"] > 0


def test_roll_rates_given_are_included_and_compared(run):
    _, h, s, _ = run
    rr = pd.DataFrame({"bucket": ["M1", "M2"], "accounts": [100, 40], "roll_rate": [0.3, 0.5]})
    s2 = history_statistics(h, roll_rates=rr)
    assert list(s2) == [*STATISTICS, "roll_rates"] and s2["roll_rates"].equals(rr)
    sims = [{"roll_rates": rr.assign(roll_rate=[0.1 + 0.005 * i, 0.5])} for i in range(20)]  # M1: 0.1 … 0.195
    c = compare_statistics({"roll_rates": rr}, sims)["roll_rates"].set_index("bucket")
    assert c.loc["M1", "n"] == 100 and c.loc["M1", "simulated_mean"] == pytest.approx(0.1475)
    assert not c.loc["M1", "inside"] and c.loc["M2", "inside"] and c.loc["M2", "sd"] == 0


def test_the_comparison_is_the_replications_mean_sd_and_prediction_band():
    rng = np.random.default_rng(3)
    obs = {"channel_rates": pd.DataFrame({"channel": ["call", "sms"], "attempts": [500, 900],
                                          "connects": [100, 500], "rpcs": [30, 300],
                                          "contact_rate": [0.2, 0.9], "rpc_rate": [0.06, 1 / 3]})}
    sims = []
    for i in range(15):
        rows = [("call", 0.2 + rng.normal(0, 0.02), 0.06 + rng.normal(0, 0.01))]
        if i % 3:  # sms absent from every third replication
            rows.append(("sms", 0.55 + rng.normal(0, 0.02), 0.33 + rng.normal(0, 0.01)))
        df = pd.DataFrame(rows, columns=["channel", "contact_rate", "rpc_rate"]).assign(attempts=1, connects=1, rpcs=1)
        sims.append({"channel_rates": df})
    allsim = pd.concat([s["channel_rates"] for s in sims])
    for scale in (1.0, 4.0):  # the data's book as large as the simulated ones, and four times larger
        c = compare_statistics(obs, sims, scale=scale)["channel_rates"]
        for r in c.itertuples():
            v = allsim.loc[allsim.channel == r.channel, r.measure]
            R = len(v)
            assert r.replications == R == (15 if r.channel == "call" else 10)
            sd = v.std() / np.sqrt(scale)  # a rate's sd at a book `scale` times larger
            half = stats.t.ppf(0.975, R - 1) * sd * np.sqrt(1 + scale / R)
            assert r.simulated_mean == pytest.approx(v.mean()) and r.sd == pytest.approx(sd)
            assert r.lo == pytest.approx(max(0.0, v.mean() - half)) and r.hi == pytest.approx(v.mean() + half)
            assert r.q_lo == pytest.approx(v.mean() + (v.quantile(0.025) - v.mean()) / np.sqrt(scale))
            assert r.inside == (v.mean() - half <= r.observed <= v.mean() + half)
            assert r.n == (500 if r.channel == "call" else 900)
        flags = c.set_index(["channel", "measure"])["inside"]
        assert flags[("call", "contact_rate")] and not flags[("sms", "contact_rate")]


def test_replications_run_in_processes_as_in_series(tmp_path):
    """simulated_statistics and the backtest give the same in joblib processes (one test: the
    workers start once)."""
    exp = collectsim.load_experiment(EXPERIMENT, accounts=400, days=30)
    one = simulated_statistics(exp, exp.run.policy, [5, 6, 7], jobs=1)
    two = simulated_statistics(exp, exp.run.policy, [5, 6, 7], jobs=2)
    for a, b in zip(one, two, strict=True):
        for name in STATISTICS:
            pd.testing.assert_frame_equal(a[name], b[name])
    h = simulate_history(exp, policy=exp.run.policy, seed=2)
    bt = [backtest(h, lambda part: (exp, exp.run.policy), 15, reps=3, seed=50, jobs=j) for j in (1, 2)]
    pd.testing.assert_frame_equal(bt[0], bt[1])
    direct = history_statistics(simulate_history(exp, policy=exp.run.policy, seed=6))
    pd.testing.assert_frame_equal(one[1]["contact_rates"], direct["contact_rates"])
    # the checks written and read back are the comparison
    comp = compare_statistics(one[0], one[1:])
    names = write_fit_checks(tmp_path, comp, None)
    back, bt = read_fit_checks(tmp_path)
    assert bt is None and list(back) == list(comp) and len(names) == len(comp)
    for name, df in comp.items():
        pd.testing.assert_frame_equal(back[name], df, check_dtype=False, check_exact=False, rtol=1e-9)
