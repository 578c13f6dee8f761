"""The observed policy: a history synthesised under a known rule table gives that table back.

The book is the quickstart's with no contact rules and collectors enough for every request,
so what the history holds is what the table asked for (with rules or a capacity that binds,
the estimate is of the strategy as executed: docs/data.md). Frequencies must lie within 3
standard errors (the ratio estimator's, clustered by account) of the table's; hours, offers,
plan lengths and discounts must be the table's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import collectsim
from collectsim.cli import main
from collectsim.errors import InputError
from collectsim.experiments.calibrate.observed import (
    estimate_observed_policy,
    observed_frequencies,
    observed_policy,
    write_observed_policy,
)
from collectsim.experiments.calibrate.state import replay
from collectsim.experiments.synth import synthesize
from collectsim.history import read_history
from collectsim.policies import load_policy_file, prepare_policy
from collectsim.policies.rule_table import FREQUENCY_FIELDS, HOUR_FIELDS, RuleTableSpec
from collectsim.vocabulary.accounts import BUCKETS
from collectsim.vocabulary.channels import CHANNELS
from collectsim.vocabulary.offers import OFFERS

ROOT = Path(__file__).resolve().parents[2]
CHALLENGER = str(ROOT / "experiments" / "policies" / "challenger.toml")
ACCOUNTS, DAYS, SEED = 5000, 90, 2

BOOK = """
[run]
name = "unconstrained"
seed = 1
[portfolio]
accounts = 5000
product = "card"
horizon_days = 90
{portfolio}
[rules]
preset = "none"
[[teams]]
name = "phone"
headcount = 5000
[[teams]]
name = "field"
headcount = 5000
"""


def _book(tmp: Path, accounts: int = ACCOUNTS, days: int = DAYS, portfolio: str = ""):
    path = tmp / "book.toml"
    path.write_text(BOOK.format(portfolio=portfolio))
    return collectsim.load_experiment(path, accounts=accounts, days=days)


def _history(tmp: Path, exp, policy: str):
    folder = tmp / "h"
    folder.mkdir()
    synthesize(exp, folder, policy=policy, seed=SEED)
    return read_history(folder)


@pytest.fixture(scope="module", params=["seed-champion", CHALLENGER], ids=["champion", "challenger"])
def case(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("observed")
    exp = _book(tmp)
    h = _history(tmp, exp, request.param)
    truth = prepare_policy(exp.policy_ref(request.param), exp.scenario)
    return exp, h, truth, estimate_observed_policy(h, exp.scenario)


def _true_cell(truth, t: int, b: int):
    """The table's cell of tier t × bucket b (None: no cell)."""
    k = truth.compiled["cell_of"][t, b]
    return None if k < 0 else truth.table.cells[k]


def test_frequencies_are_the_tables_within_three_standard_errors(case):
    exp, _, truth, est = case
    names = list(exp.scenario.scoring.tier_names)
    f = est.frequencies
    f = f[f["account_days"] > 0]
    z = []
    for r in f.itertuples():
        cell = _true_cell(truth, names.index(r.tier), BUCKETS.index(r.bucket))
        want = 0.0 if cell is None else getattr(cell, f"{r.channel}_per_week")
        if r.channel == "visit" and cell is not None and cell.visit_from_dpd > 30 * (BUCKETS.index(r.bucket) + 1) \
                and r.bucket != BUCKETS[-1]:
            want = 0.0  # visits only from a DPD past this bucket
        if want == 0.0:
            assert r.contacts == 0, r
            continue
        assert r.se_per_week > 0, r
        z.append((r.per_week - want) / r.se_per_week)
    z = np.array(z)
    assert len(z) >= 25
    assert np.abs(z).max() < 3.0, np.round(z, 2)
    # the well-measured cells within 2.5 % (what is left of the bias of exits and roll-backs
    # that a contact causes: docs/data.md)
    big = f[(f["contacts"] >= 1000)]
    assert len(big) >= 8
    for r in big.itertuples():
        cell = _true_cell(truth, names.index(r.tier), BUCKETS.index(r.bucket))
        assert r.per_week == pytest.approx(getattr(cell, f"{r.channel}_per_week"), rel=0.025), r
    # and the table's written frequencies are these estimates
    cells = {(c["tiers"][0], c["buckets"][0]): c for c in est.policy["policy"]["cells"]}
    for r in f[f["contacts"] > 0].itertuples():
        assert cells[(r.tier, r.bucket)][f"{r.channel}_per_week"] == pytest.approx(r.per_week, abs=1e-4)


def test_hours_offers_plans_and_discounts_are_the_tables(case):
    exp, h, truth, est = case
    names = list(exp.scenario.scoring.tier_names)
    pol = est.policy["policy"]
    assert pol["kind"] == "rule-table" and pol["pause_on_promise"] is True and pol["respect_opt_out"] is True
    assert est.identified["pause_on_promise"] and est.identified["respect_opt_out"] and not est.identified["priority"]
    offers_seen = 0
    for cell in pol["cells"]:
        t, b = names.index(cell["tiers"][0]), BUCKETS.index(cell["buckets"][0])
        true = _true_cell(truth, t, b)
        assert true is not None
        for ch, fld in zip(CHANNELS, FREQUENCY_FIELDS, strict=True):
            if fld in cell:
                assert cell[HOUR_FIELDS[ch]] == getattr(true, HOUR_FIELDS[ch])
        if "visit_per_week" in cell:  # the lowest DPD of a visit: the threshold, or the bucket's first day
            assert cell["visit_from_dpd"] == max(true.visit_from_dpd, 30 * b + 1)
        if cell["offer"] != "none":
            offers_seen += 1
            assert cell["offer"] == true.offer
            if cell["offer"] == "instalment":
                assert cell["plan_months"] == true.plan_months
            if cell["offer"] == "settlement":
                assert cell["settlement_discount"] == pytest.approx(true.settlement_discount, abs=1e-3)
    assert offers_seen >= 5
    used = {c["offer"] for c in pol["cells"]}
    assert used <= set(OFFERS) and used - {"none"} == {c.offer for c in truth.table.cells} - {"none"}


def test_the_written_file_runs(case, tmp_path):
    exp, _, _, est = case
    path = write_observed_policy(est, tmp_path / "observed_policy.toml")
    pol = load_policy_file(path)
    pol.prepare(tuple(exp.scenario.scoring.tier_names))
    assert pol.to_dict() == RuleTableSpec.model_validate(est.policy["policy"]).model_dump(mode="json")
    assert path.read_text().startswith("# The strategy the lender ran")
    assert main(["run", str(ROOT / "experiments" / "quickstart.toml"), "--policy", str(path), "--accounts", "400",
                 "--days", "20", "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "summary.json").is_file()


def test_standard_errors_shrink_with_the_book(case):
    """The s.e. is of the estimate, not a constant: a quarter of the accounts doubles it (about)."""
    exp, h, _, est = case
    keep = h.accounts["account"].to_numpy()[: len(h.accounts) // 4]
    part = dataclasses.replace(
        h, accounts=h.accounts[h.accounts["account"].isin(keep)],
        payments=h.payments[h.payments["account"].isin(keep)], contacts=h.contacts[h.contacts["account"].isin(keep)],
        outcomes=h.outcomes[h.outcomes["account"].isin(keep)])
    small = observed_frequencies(part, exp.scenario)
    key = ["tier", "bucket", "channel"]
    both = est.frequencies.merge(small, on=key, suffixes=("", "_q"))
    both = both[(both["contacts"] > 200) & (both["contacts_q"] > 50)]
    ratio = (both["se_per_week_q"] / both["se_per_week"]).median()
    assert 1.5 < ratio < 2.7


def test_scores_are_cut_into_tiers_when_the_tier_column_is_missing(case):
    exp, h, _, est = case
    bare = dataclasses.replace(h, accounts=h.accounts.drop(columns=["tier"]))
    assert observed_policy(bare, exp.scenario) == est.policy
    with pytest.raises(InputError, match="neither a 'tier' nor a 'score'"):
        observed_policy(dataclasses.replace(h, accounts=h.accounts.drop(columns=["tier", "score"])), exp.scenario)


def test_a_tier_and_bucket_without_accounts_copies_the_nearest_observed_bucket(tmp_path):
    # every account enters at DPD 1 and the history is 40 days: only M1 and M2 ever hold accounts;
    # the buckets accounts will age into are worked as the latest one seen (M2), and said so
    exp = _book(tmp_path, accounts=600, days=40, portfolio="entry_dpd = 1")
    h = _history(tmp_path, exp, "seed-champion")
    est = estimate_observed_policy(h, exp.scenario)
    cells = est.policy["policy"]["cells"]
    n_t = len(exp.scenario.scoring.tier_names)
    assert len(cells) == 6 * n_t
    by = {(c["tiers"][0], c["buckets"][0]): c for c in cells}
    for t in exp.scenario.scoring.tier_names:
        for b in ("M3", "M4", "M5", "M6"):
            assert {k: v for k, v in by[(t, b)].items() if k != "buckets"} == \
                {k: v for k, v in by[(t, "M2")].items() if k != "buckets"}
    assert any("never seen in the history" in n and "M6 (as M2)" in n for n in est.notes)
    seen = est.frequencies[est.frequencies["in_policy"]]
    assert set(seen["bucket"]) == {"M1", "M2"}  # the frequencies table still says what was observed


def test_contacts_on_opted_out_channels_and_during_promises_are_seen(tmp_path):
    """A table that neither pauses nor respects opt-outs is read as such (the rules "none"
    enforce no opt-out)."""
    text = Path(CHALLENGER).read_text().replace("pause_on_promise = true", "pause_on_promise = false").replace(
        "respect_opt_out = true", "respect_opt_out = false")
    loud = tmp_path / "loud.toml"
    loud.write_text(text)
    exp = _book(tmp_path, accounts=1500)
    h = _history(tmp_path, exp, str(loud))
    est = estimate_observed_policy(h, exp.scenario)
    assert est.policy["policy"]["pause_on_promise"] is False and est.policy["policy"]["respect_opt_out"] is False
    assert est.identified["pause_on_promise"] and est.identified["respect_opt_out"]


def test_the_exposure_counts_only_days_in_collections(case):
    """Each channel's account-days at risk add up to no more than the days in collections (days
    a plan or promise ran, after an opt-out, or before the visits' DPD are not at risk)."""
    _, h, _, est = case
    f = est.frequencies
    days_in = replay(h).days_in_bucket.sum()
    for _, per_channel in f.groupby("channel"):
        assert 0 <= per_channel["account_days"].sum() <= days_in
    sms = f[f["channel"] == "sms"]["account_days"].sum()
    assert sms > 0.9 * days_in  # most days in collections are SMS days at risk
    assert not f["per_week"].isna().any()


def test_the_first_half_in_the_queue_counts_its_own_contacts(case):
    """``top_contacts`` summed over buckets, per tier and channel, is the number of contacts the
    first half of the tier by balance × score at entry received, counted again from the raw tables."""
    exp, h, _, est = case
    a = h.accounts
    names = list(exp.scenario.scoring.tier_names)
    tier = a["tier"].to_numpy(np.int64)  # the tier's index (the history's tier column)
    pri = a["balance"].to_numpy(float) * a["score"].to_numpy(float)
    first = np.zeros(len(a), dtype=bool)
    for t in range(len(names)):
        mine = tier == t
        first[mine] = pri[mine] >= np.median(pri[mine])
    top_ids = set(a.loc[first, "account"].tolist())
    c = h.contacts.assign(tier=h.contacts["account"].map(dict(zip(a["account"], [names[t] for t in tier], strict=True))))
    c = c[c["account"].isin(top_ids)]
    want = c.groupby(["tier", c["channel"].astype(str)]).size()
    got = est.frequencies.groupby(["tier", "channel"])["top_contacts"].sum()
    got = got[got > 0]
    # as the whole book's contacts: booked, a contact on a day the state changed counted half
    # on each side (the module docstring), so within a few per cent of the raw count
    everyone = h.contacts.assign(tier=h.contacts["account"].map(
        dict(zip(a["account"], [names[t] for t in tier], strict=True))))
    raw_all = everyone.groupby(["tier", everyone["channel"].astype(str)]).size()
    booked_all = est.frequencies.groupby(["tier", "channel"])["contacts"].sum()
    assert len(want) >= 4 and set(want.index) == set(got.index)
    for k in want.index:
        slack = abs(booked_all[k] / raw_all[k] - 1) + 0.01
        assert abs(got[k] / want[k] - 1) <= slack, (k, got[k], want[k], booked_all[k], raw_all[k])
        assert got[k] < booked_all[k] and want[k] < raw_all[k]
    f = est.frequencies
    assert (f["top_contacts"] <= f["contacts"]).all() and (f["top_account_days"] <= f["account_days"] + 1e-9).all()
    # the first half is first in the queue: where collectors are short it is contacted more
    main = f[(f["contacts"] >= 200) & (f["top_account_days"] > 0)]
    assert (main["top_per_week"] >= main["per_week"] - 2 * main["se_per_week"]).all()
