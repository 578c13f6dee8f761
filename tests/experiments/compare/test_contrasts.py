"""[compare] also_against: paired differences between two challengers (e.g. regret)."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from collectsim.errors import InputError
from collectsim.experiments import experiment_from_dict
from collectsim.experiments.compare import CONTRAST_COLUMNS, CompareSettings, compare, normalised
from collectsim.reports.pages.compare import contrast_sentences
from collectsim.scenario import Scenario


@pytest.fixture(scope="module")
def cmp():
    sc = Scenario.model_validate({"portfolio": {"accounts": 800, "horizon_days": 20}})
    s = CompareSettings(also_against=["seed-champion"], reps=4, kpis=["collected"])
    return compare(sc, "sms-only", ["no-contact", "seed-champion"], settings=s, variants=[], seed=4)


def test_contrast_is_the_paired_difference_between_two_challengers(cmp):
    c = cmp.contrasts
    assert list(c.columns) == list(CONTRAST_COLUMNS)
    assert set(zip(c["policy"], c["reference"], strict=True)) == {("sms-only", "seed-champion"),
                                                                   ("no-contact", "seed-champion")}
    r = cmp.replications
    for kpi in ("net_value", "collected"):
        v = pd.DataFrame({"seed": r["seed"], "policy": r["policy"], "v": normalised(r, kpi)}).pivot(
            index="seed", columns="policy", values="v")
        d = (v["no-contact"] - v["seed-champion"]).to_numpy()
        row = c[(c["scope"] == "all") & (c["kpi"] == kpi) & (c["policy"] == "no-contact")].iloc[0]
        half = scipy.stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        assert row["diff"] == pytest.approx(d.mean(), rel=1e-12)
        assert row["diff_ci_low"] == pytest.approx(d.mean() - half, rel=1e-9)
        assert row["diff_ci_high"] == pytest.approx(d.mean() + half, rel=1e-9)
        assert row["p_value"] == pytest.approx(scipy.stats.ttest_rel(v["no-contact"], v["seed-champion"]).pvalue)
        assert row["n_better"] == int((d > 0).sum()) and row["n"] == 4
        # the same figure from the champion's table: (a − champion) − (b − champion)
        t = cmp.table[(cmp.table["scope"] == "all") & (cmp.table["kpi"] == kpi) & (cmp.table["variant"] == "base")]
        via = t.set_index("policy")["diff"]
        assert row["diff"] == pytest.approx(via["no-contact"] - via["seed-champion"], rel=1e-9)
    assert cmp.summary()["also_against"] == ["seed-champion"]
    lines = contrast_sentences(cmp.contrasts, cmp.summary())
    assert len(lines) == 2 and lines[0].startswith("Against seed-champion (base): ")


def test_no_contrasts_without_also_against_and_the_file_round_trip(tmp_path):
    sc = Scenario.model_validate({"portfolio": {"accounts": 500, "horizon_days": 10}})
    plain = compare(sc, "sms-only", ["no-contact"], reps=2, variants=[])
    assert plain.contrasts.empty and "contrasts.csv" not in plain.save(tmp_path)
    (tmp_path / "c.toml").write_text('[policy]\nname = "light"\n[[policy.cells]]\nsms_per_week = 1\n')
    exp = experiment_from_dict({"portfolio": {"accounts": 500, "horizon_days": 10},
                                "compare": {"challengers": ["no-contact", "c.toml"], "reps": 2,
                                            "kpis": ["collected"], "also_against": ["c.toml"]}}, base_dir=tmp_path)
    c = compare(exp)
    out = tmp_path / "out"
    out.mkdir()
    assert "contrasts.csv" in c.save(out)
    back = pd.read_csv(out / "contrasts.csv")
    assert set(back["reference"]) == {"light"} and len(back) == len(c.contrasts)
    cfg = tomllib.loads((out / "config.toml").read_text())
    assert cfg["compare"]["also_against"] == ["policies/light.toml"]  # the copied file: re-runnable


def test_a_reference_that_is_not_compared_is_refused():
    sc = Scenario.model_validate({"portfolio": {"accounts": 500, "horizon_days": 5}})
    with pytest.raises(InputError, match=r"compare\.also_against\[0\] = 'max-legal': neither"):
        compare(sc, "sms-only", ["no-contact"], settings=CompareSettings(also_against=["max-legal"]), reps=2)
    with pytest.raises(ValueError, match="twice"):
        CompareSettings(also_against=["a", "a"])


def test_challengers_given_by_the_caller_drop_the_files_references_among_the_replaced_ones(tmp_path):
    (tmp_path / "c.toml").write_text('[policy]\nname = "light"\n[[policy.cells]]\nsms_per_week = 1\n')
    exp = experiment_from_dict({"portfolio": {"accounts": 400, "horizon_days": 8},
                                "compare": {"challengers": ["no-contact", "c.toml"], "reps": 2, "kpis": ["collected"],
                                            "also_against": ["c.toml", "seed-champion"]}}, base_dir=tmp_path)
    # --policy sms-only: c.toml is no longer compared, so it is no reference; the champion still is
    c = compare(exp, challengers=["sms-only"], variants=[])
    assert c.summary()["also_against"] == ["seed-champion"] and set(c.contrasts["reference"]) == {"seed-champion"}
    # given again on the command line, spelled another way (an absolute path), it stays a reference
    again = compare(exp, challengers=["sms-only", str(tmp_path / "c.toml")], variants=[])
    assert again.summary()["also_against"] == ["light", "seed-champion"]
    # a reference that was never among the file's challengers is still refused
    bad = experiment_from_dict({"portfolio": {"accounts": 400, "horizon_days": 8},
                                "compare": {"challengers": ["no-contact"], "reps": 2, "also_against": ["max-legal"]}},
                               base_dir=tmp_path)
    with pytest.raises(InputError, match=r"compare\.also_against\[0\] = 'max-legal': neither"):
        compare(bad, challengers=["sms-only"], variants=[])
