"""The paired comparison API: common random numbers, the table, stress variants, --target-ci."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collectsim.errors import InputError
from collectsim.experiments import experiment_from_dict
from collectsim.experiments.compare import (
    TABLE_COLUMNS,
    CompareSettings,
    Variant,
    build_variants,
    compare,
    deep_merge,
    normalised,
)
from collectsim.experiments.compare.stats import t_interval
from collectsim.scenario import Scenario

RECESSION = {"name": "recession", "overrides": {"shock": {"start_day": 10, "stress_multiplier": 5.0}}}


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return Scenario.model_validate({"portfolio": {"accounts": 2000, "horizon_days": 40}})


@pytest.fixture(scope="module")
def cmp(tiny):
    """sms-only as champion against no-contact, itself and seed-champion; 6 seeds; one stress variant."""
    return compare(tiny, "sms-only", ["no-contact", "sms-only", "seed-champion"], reps=6, variants=[RECESSION], seed=11)


def test_result_shape(cmp):
    assert cmp.policies == ["sms-only", "no-contact", "sms-only (2)", "seed-champion"]
    assert cmp.seeds == list(range(11, 17))
    assert list(cmp.table.columns) == list(TABLE_COLUMNS)
    assert set(cmp.table["variant"]) == {"base", "recession"}
    assert set(cmp.table["scope"]) == {"all", "high", "medium", "low"}
    assert len(cmp.replications) == 2 * 4 * 6
    assert set(cmp.daily["day"]) == set(range(40))
    assert cmp.stopping["reason"] == "fixed" and cmp.stopping["reps"] == 6
    # every (variant, policy) ran exactly the same seeds: the pairs line up
    seeds = cmp.replications.groupby(["variant", "policy"])["seed"].apply(sorted)
    assert all(s == cmp.seeds for s in seeds)


def test_policy_compared_with_itself_gives_exactly_zero(cmp):
    same = cmp.table[cmp.table["policy"] == "sms-only (2)"].dropna(subset=["mean"])
    assert len(same) > 20
    assert (same["diff"] == 0.0).all()
    assert (same["diff_ci_low"] == 0.0).all() and (same["diff_ci_high"] == 0.0).all()
    assert (same["diff_ci_halfwidth"] == 0.0).all()
    assert (same["p_value"] == 1.0).all()


def test_paired_intervals_narrower_than_unpaired_on_the_same_runs(cmp):
    """The point of common random numbers: pairing removes the luck both policies share."""
    t = cmp.table[
        (cmp.table["variant"] == "base") & (cmp.table["scope"] == "all") & (cmp.table["policy"] == "no-contact")
    ]
    t = t.set_index("kpi")
    for kpi in ("collected", "recovery_rate", "net_recovery", "cure_rate"):
        assert t.loc[kpi, "diff_ci_halfwidth"] < t.loc[kpi, "unpaired_ci_halfwidth"], kpi
    ratio = (t["unpaired_ci_halfwidth"] / t["diff_ci_halfwidth"]).replace(np.inf, np.nan).dropna()
    assert ratio.median() > 1.1  # (how much depends on the book: README gives compare.toml's figure)


def test_totals_are_per_1000_accounts_and_means_match_replications(cmp):
    reps = cmp.replications[(cmp.replications["variant"] == "base") & (cmp.replications["policy"] == "seed-champion")]
    row = cmp.table.query(
        "variant == 'base' and scope == 'all' and policy == 'seed-champion' and kpi == 'net_recovery'"
    ).iloc[0]
    assert row["unit"] == "per 1,000 accounts"
    assert row["mean"] == pytest.approx((reps["net_recovery"] / reps["accounts"] * 1000).mean())
    tier = normalised(reps, "collected", "high", 1000)
    assert tier.to_numpy() == pytest.approx(
        (reps["tier.high.collected"] / reps["tier.high.accounts"] * 1000).to_numpy()
    )
    share = cmp.table.query(
        "variant == 'base' and scope == 'all' and policy == 'seed-champion' and kpi == 'recovery_rate'"
    ).iloc[0]
    assert share["unit"] == "share" and share["mean"] == pytest.approx(reps["recovery_rate"].mean())


def test_holm_adjustment_and_p_better(cmp):
    ch = cmp.table[cmp.table["role"] == "challenger"].dropna(subset=["p_value"])
    assert (ch["p_adjusted"] >= ch["p_value"] - 1e-12).all()
    assert ch["p_better"].dropna().between(0, 1).all()
    # contacting nobody collects less than two SMS a week, in every replication
    nc = cmp.table.query("variant == 'base' and scope == 'all' and policy == 'no-contact' and kpi == 'collected'").iloc[
        0
    ]
    assert nc["diff_ci_high"] < 0 and nc["p_better"] == 0.0


def test_stress_table_ranks_every_policy_in_every_variant(cmp):
    s = cmp.stress
    assert set(s["variant"]) == {"base", "recession"}
    assert len(s) == 2 * 4
    for _, g in s.groupby("variant"):
        rank = g.set_index("policy")["rank"].astype(int)
        assert rank.between(1, 4).all() and rank.max() == 4
        assert rank["sms-only"] == rank["sms-only (2)"]  # a tie shares its rank
    assert not s[s["variant"] == "base"]["rank_changed"].any()
    # the recession lowers what the champion collects on the same seeds
    rec = cmp.table.query("scope == 'all' and policy == 'sms-only' and kpi == 'collected'").set_index("variant")["mean"]
    assert rec["recession"] < rec["base"]


def test_deep_merge_merges_tables_and_named_lists():
    base = {
        "teams": [{"name": "phone", "headcount": 60, "cost": 1}, {"name": "field", "headcount": 6}],
        "rules": {"preset": "us-reg-f", "extra": [1]},
    }
    out = deep_merge(
        base, {"teams": [{"name": "phone", "headcount": 48}], "rules": {"extra": [2]}, "shock": {"start_day": 5}}
    )
    assert out["teams"] == [{"name": "phone", "headcount": 48, "cost": 1}, {"name": "field", "headcount": 6}]
    assert out["rules"] == {"preset": "us-reg-f", "extra": [2]}
    assert out["shock"] == {"start_day": 5}
    assert base["teams"][0]["headcount"] == 60  # input untouched


def test_variants_validate_with_a_clear_error(tiny):
    scen = build_variants(tiny, [Variant(name="fewer", overrides={"teams": [{"name": "phone", "headcount": 48}]})])
    accounts = tiny.portfolio.accounts
    assert [t.resolved_headcount(accounts) for t in scen["fewer"].teams] == [48, max(1, round(6 * accounts / 100_000))]
    with pytest.raises(InputError, match=r"compare\.variants\[0\]\.overrides\.behaviour\.complaint_sensitivty"):
        build_variants(tiny, [Variant(name="typo", overrides={"behaviour": {"complaint_sensitivty": 2}})])
    with pytest.raises(InputError, match=r"stress_multiplier"):
        build_variants(tiny, [Variant(name="bad", overrides={"shock": {"stress_multiplier": -1}})])


def test_settings_reject_unknown_kpis_and_bad_values():
    with pytest.raises(
        InputError, match=r"compare\.kpis\.1 = 'net_recovry': unknown KPI \(did you mean 'net_recovery'\?\)"
    ):
        experiment_from_dict({"compare": {"kpis": ["collected", "net_recovry"]}}, source="x.toml")
    with pytest.raises(InputError, match=r"compare\.headline"):
        experiment_from_dict({"compare": {"headline": "profit"}})
    with pytest.raises(InputError, match=r"compare\.reps = 1"):
        experiment_from_dict({"compare": {"reps": 1}})
    with pytest.raises(InputError, match=r"variant names must be distinct"):
        experiment_from_dict({"compare": {"variants": [{"name": "a"}, {"name": "a"}]}})
    assert CompareSettings(headline="collected").all_kpis()[0] == "collected"


def test_bad_input_fails_before_anything_runs(tiny, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy\nname = 'x'\n")
    with pytest.raises(InputError, match="not valid TOML"):
        compare(tiny, "seed-champion", [str(bad)], reps=2)
    with pytest.raises(InputError, match="unknown policy"):
        compare(tiny, "seed-champion", ["max-legl"], reps=2)
    with pytest.raises(InputError, match="none given"):
        compare(tiny, "seed-champion", [], reps=2)
    with pytest.raises(InputError, match=r"compare\.reps"):
        compare(tiny, "seed-champion", ["sms-only"], reps=0)
    with pytest.raises(InputError, match="jobs"):
        compare(tiny, "seed-champion", ["sms-only"], reps=2, jobs=0)


def test_experiment_settings_and_policy_files_resolve_relative_to_the_file(tmp_path):
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "c.toml").write_text('[policy]\nname = "light"\n[[policy.cells]]\nsms_per_week = 1\n')
    exp = experiment_from_dict(
        {
            "run": {"seed": 3},
            "portfolio": {"accounts": 800, "horizon_days": 15},
            "compare": {"challengers": ["pol/c.toml"], "reps": 2, "kpis": ["collected"]},
        },
        base_dir=tmp_path,
    )
    c = compare(exp)
    assert c.policies == ["seed-champion", "light"] and c.seeds == [3, 4]
    assert set(c.table["kpi"]) == {"net_value", "collected", "complaints_per_1k_accounts", "churn_rate"}
    assert c.policy_tables["light"]["cells"][0]["sms_per_week"] == 1
    assert c.config["compare"]["challengers"] == ["pol/c.toml"]


def test_target_ci_stops_at_target_or_cap(tiny):
    small = Scenario.model_validate({"portfolio": {"accounts": 600, "horizon_days": 15}})
    hit = compare(small, "sms-only", ["no-contact"], reps=3, target_ci=1e9, max_reps=5, variants=[])
    assert hit.stopping["reason"] == "target reached" and hit.stopping["reps"] == 3
    cap = compare(small, "sms-only", ["no-contact"], reps=3, target_ci=1e-9, max_reps=5, variants=[])
    assert cap.stopping["reason"] == "cap reached" and cap.stopping["reps"] == 5
    assert cap.seeds == [0, 1, 2, 3, 4] and len(cap.replications) == 10
    assert [r["reps"] for r in cap.stopping["rounds"]][0] == 3
    assert cap.stopping["achieved_halfwidth"] > 1e-9
    assert isinstance(cap.table, pd.DataFrame)


@pytest.mark.slow
def test_paired_intervals_cover_the_long_run_difference_in_the_simulator():
    """Blocks of 6 paired replications: their 95% intervals cover the 120-seed mean difference."""
    scen = Scenario.model_validate({"portfolio": {"accounts": 1000, "horizon_days": 30}})
    c = compare(scen, "sms-only", ["no-contact"], reps=120, variants=[], jobs=2)
    reps = c.replications
    wide = reps.pivot(index="seed", columns="policy", values="collected")
    d = (wide["no-contact"] - wide["sms-only"]).to_numpy()
    truth = d.mean()
    blocks = d.reshape(20, 6)
    cis = [t_interval(b) for b in blocks]
    covered = sum(ci.low <= truth <= ci.high for ci in cis)
    assert covered >= 16, covered  # P(fewer than 16 of 20 | 95% coverage) < 0.001
