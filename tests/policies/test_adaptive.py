"""The adaptive policy: Thompson sampling over rule-table arms, learning from observed outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from collectsim.agents.borrowers import BorrowerPopulation
from collectsim.errors import InputError
from collectsim.experiments import simulate
from collectsim.model import CollectionsModel
from collectsim.policies import AdaptivePolicy, get_policy
from collectsim.policies.adaptive import REVIEW_COLUMNS, ArmStats, posterior, thompson_shares
from collectsim.policies.base import Observation, Outcomes
from collectsim.scenario import Scenario
from collectsim.vocabulary.accounts import BUCKETS

_LATENT = ("segment", "regime", "willingness", "lam", "ability", "irritation", "reachability", "churned")


def _scenario(accounts: int = 1500, days: int = 60) -> Scenario:
    return Scenario.model_validate({"portfolio": {"accounts": accounts, "horizon_days": days}})


def _spec(**over) -> dict:
    spec = {"arms": [{"name": "champion"}, {"name": "fewer", "contacts_scale": 0.5},
                     {"name": "more", "contacts_scale": 1.5}],
            "review_days": 10, "attribution_days": 5, "holdout": 0.2}
    spec.update(over)
    return spec


# ---------------------------------------------------------------- (a) convergence --------

def test_the_better_arm_takes_the_traffic_from_rewards_with_known_means():
    """Two arms worth 0.5 and 1.0 per account-day; 200 accounts of 14 days per arm and review,
    each account's reward = 14·μ + N(0, 20²). One review's estimate has se ≈ 20/(14·√200) ≈ 0.10,
    so after a few reviews (decay 0.7 keeps an effective ~3 periods) the difference 0.5 is
    ≳ 5 standard errors of the difference: P(best) of the better arm is > 0.999 and its share
    min_share + (1 − 2·min_share)·P(best) ≈ 0.95; 0.8 leaves room for the Monte Carlo error of
    2000 draws (sd of P(best) < 0.011) and for the prior's shrinkage."""
    rng = np.random.default_rng(7)
    stats = [ArmStats(), ArmStats()]
    means = (0.5, 1.0)
    shares = np.array([0.5, 0.5])
    history = []
    for _ in range(6):
        for s, mu in zip(stats, means, strict=True):
            s.decay(0.7)
            d = np.full(200, 14.0)
            s.add(d * mu + rng.normal(0.0, 20.0, 200), d)
        post = [posterior(s, 50.0) for s in stats]
        best, shares = thompson_shares(np.array([p[0] for p in post]), np.array([p[1] for p in post]),
                                       rng.standard_normal((2, 2000)), 0.05)
        history.append(shares[1])
    assert history[-1] > 0.8 and history[-1] <= 0.95 + 1e-12
    assert best[1] > 0.99
    m, sd = posterior(stats[1], 50.0)
    assert abs(m - 1.0) < 4 * sd  # the posterior covers the true mean


def test_posterior_without_data_is_the_prior_and_shrinks_with_data():
    assert posterior(ArmStats(), 3.0) == (0.0, 3.0)
    s = ArmStats()
    s.add(np.array([10.0, 12.0, 8.0, 11.0]), np.array([10.0, 10.0, 10.0, 10.0]))
    m, sd = posterior(s, 100.0)
    assert m == pytest.approx(1.025, rel=1e-3) and 0 < sd < 0.2


def test_in_the_engine_calls_beat_no_contact_where_the_tier_responds():
    """Arm "none" (no contact) against the champion's table; in the medium and low tiers the
    champion's contacts bring more cash than they cost, and the champion takes > 0.8 of the traffic."""
    pol = AdaptivePolicy({"arms": [{"name": "none", "contacts_scale": 0.0}, {"name": "champion"}],
                          "review_days": 10, "attribution_days": 10, "holdout": 0.0, "decay": 1.0})
    simulate(_scenario(3000, 120), pol, 1)
    last = pol.reviews[pol.reviews["review"] == pol.reviews["review"].max()].set_index(["tier", "arm"])
    for tier in ("medium", "low"):
        assert last.loc[(tier, "champion"), "share_after"] > 0.8


# ---------------------------------------------------------------- (b) determinism --------

def test_same_seed_same_kpis_and_review_table():
    sc = _scenario()
    a, b = AdaptivePolicy(_spec()), AdaptivePolicy(_spec())
    ra, rb = simulate(sc, a, 11), simulate(sc, b, 11)
    assert ra.kpis == rb.kpis
    assert list(a.reviews.columns) == list(REVIEW_COLUMNS) and len(a.reviews) > 0
    assert a.reviews.equals(b.reviews)
    again = simulate(sc, a, 11)  # the same object again: it starts afresh
    assert again.kpis == ra.kpis
    c = AdaptivePolicy(_spec())
    simulate(sc, c, 12)
    assert not c.reviews.equals(a.reviews)


def test_reviews_every_review_days_with_delayed_rewards():
    pol = AdaptivePolicy(_spec())
    simulate(_scenario(), pol, 3)
    rv = pol.reviews
    assert sorted(rv["day"].unique()) == list(range(10, 60, 10))
    first = rv[rv["review"] == 1]
    assert first["why"].str.contains("no matured period").all() or (first["arm"] == "holdout").any()
    later = rv[(rv["review"] == 2) & (rv["arm"] != "holdout")]
    assert (later["window_end"] <= later["day"]).all()  # only closed windows are learnt from
    arms = rv[rv["arm"] != "holdout"].groupby(["review", "tier"])["share_after"].sum()
    assert np.allclose(arms, 1 - 0.2)


# ---------------------------------------------------------------- (c) no latent state ----

class _Watched(AdaptivePolicy):
    """Records what the policy is given and checks the holdout after every decision."""

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.given: set[type] = set()
        self.holdout_ok = True

    def decide(self, obs):
        self.given.add(type(obs))
        out = super().decide(obs)
        ids = obs.account_id[obs.active_index]
        hold = self.in_holdout(ids)
        self.holdout_ok &= bool((self.arm_of(ids[hold]) == 0).all())
        return out

    def observe(self, outcomes):
        self.given.add(type(outcomes))
        super().observe(outcomes)


def test_the_policy_sees_only_observations_and_outcomes():
    pol = _Watched(_spec())
    model = CollectionsModel(_scenario(800, 30), pol, seed=2)
    pol.prepare(model.borrowers.tier_names)
    pol.start(model.streams)
    model.run_for(30)
    assert pol.given == {Observation, Outcomes}
    for cls in (Observation, Outcomes):
        assert not any(lat in f for f in cls.__dataclass_fields__ for lat in _LATENT)
    for value in vars(pol).values():  # it keeps no handle on the model or the population
        assert not isinstance(value, (CollectionsModel, BorrowerPopulation))


# ---------------------------------------------------------------- (d) holdout ------------

def test_holdout_share_is_respected_and_stays_on_the_champion():
    pol = _Watched(_spec(holdout=0.25))
    simulate(_scenario(2000, 60), pol, 5)
    assert pol.holdout_ok
    ids = np.arange(len(pol._holdout))
    seen = pol.arm_of(ids) >= 0
    n = int(seen.sum())
    share = pol.in_holdout(ids[seen]).mean()
    assert abs(share - 0.25) < 4 * math.sqrt(0.25 * 0.75 / n)  # binomial, 4 sd
    hold = pol.reviews[pol.reviews["arm"] == "holdout"]
    assert (hold["share_after"] == 0.25).all()


def test_zero_holdout_puts_nobody_in_it():
    pol = AdaptivePolicy(_spec(holdout=0.0))
    simulate(_scenario(600, 25), pol, 1)
    assert not pol._holdout.any()


# ---------------------------------------------------------------- (e) bad config ---------

@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("review_days = 0", "policy.review_days"),
        ("holdout = 1.5", "policy.holdout"),
        ("revew_days = 3", "policy.revew_days"),
        ('min_share = 0.4\n[[policy.arms]]\nname = "c"', "min_share"),
    ],
)
def test_bad_policy_file_is_one_line_naming_the_field(tmp_path, body, field):
    f = tmp_path / "p.toml"
    f.write_text(f'[policy]\nkind = "adaptive"\n{body}\n[[policy.arms]]\nname = "a"\n[[policy.arms]]\nname = "b"\n')
    with pytest.raises(InputError) as e:
        get_policy(str(f))
    msg = str(e.value)
    assert "\n" not in msg and field in msg and str(f) in msg


def test_bad_arms_are_refused(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[policy]\nkind = "adaptive"\n[[policy.arms]]\nname = "a"\n[[policy.arms]]\nname = "a"\n')
    with pytest.raises(InputError, match="policy.arms.*twice"):
        get_policy(str(f))
    f.write_text('[policy]\nkind = "adaptive"\n[[policy.arms]]\nname = "a"\ncontacts_scale = -1\n'
                 '[[policy.arms]]\nname = "b"\n')
    with pytest.raises(InputError, match=r"policy.arms.0.contacts_scale"):
        get_policy(str(f))
    with pytest.raises(InputError, match="unknown tier"):
        AdaptivePolicy({"base": None, "cells": [{"tiers": ["nope"]}], "arms": [{"name": "a"}, {"name": "b"}]}
                       ).prepare(("high", "low"))


def test_the_shipped_policy_file_loads_and_round_trips():
    pol = get_policy("experiments/policies/thompson.toml")
    assert isinstance(pol, AdaptivePolicy) and pol.arm_names == ("champion", "fewer", "more")
    assert AdaptivePolicy(pol.to_dict()).to_dict() == pol.to_dict()


def test_outside_the_engine_it_says_so():
    pol = AdaptivePolicy(_spec())
    model = CollectionsModel(_scenario(200, 5), get_policy("no-contact"), seed=0)
    with pytest.raises(InputError, match="engine"):
        pol.decide(model.borrowers.observe(0))


# ---------------------------------------------------------------- the run folder ---------

def test_a_run_folder_holds_the_review_table(tmp_path):
    import pandas as pd

    import collectsim

    quick = "experiments/quickstart.toml"
    out, _ = collectsim.run_experiment(quick, policy="experiments/policies/thompson.toml", accounts=1500, days=45,
                                       out=tmp_path / "adaptive")
    reviews = pd.read_csv(out / "reviews.csv")
    assert list(reviews.columns) == list(REVIEW_COLUMNS) and sorted(reviews["day"].unique()) == [14, 28, 42]
    # the report shows the reviews: a traffic plot and per tier one row per review, its numbers
    # read again from reviews.csv
    md = (out / "report.md").read_text()
    assert "## Strategy reviews" in md and "![Traffic per arm after each review, by tier](reviews.png)" in md
    assert (out / "reviews.png").stat().st_size > 10_000 and 'data-file="reviews.png"' in (out / "report.html").read_text()
    for tier, g in reviews.groupby("tier"):
        section = md.split(f"### {tier} risk\n", 1)[1].lstrip("\n").split("\n\n", 1)[0].splitlines()
        head = [c.strip() for c in section[0].strip("|").split("|")]
        rows = [[c.strip() for c in r.strip("|").split("|")] for r in section[2:]]
        assert len(rows) == 3 and head[:3] == ["day", "period", "accounts"]
        for r in rows:
            day = g[g["day"] == int(r[0])]
            assert int(r[2].replace(",", "")) == day["accounts"].sum()
            assert int(r[head.index("complaints")].replace(",", "")) == day["complaints"].sum()
            for arm in ("champion", "fewer", "more"):
                share = day.set_index("arm").loc[arm, "share_after"]
                assert r[head.index(f"{arm}: share after")] == f"{100 * share:.0f} %"
    out, _ = collectsim.run_experiment(quick, accounts=500, days=10, out=tmp_path / "static")
    assert not (out / "reviews.csv").exists()


def test_the_seed_failure_experiment_pits_the_adaptive_policy_against_the_champion():
    import collectsim

    exp = collectsim.load_experiment("experiments/seed-failure.toml")
    assert exp.scenario.shock is not None and exp.scenario.shock.start_day == 90
    cmp = exp.sections["compare"]
    assert cmp.champion == "seed-champion"
    pol = get_policy(exp.policy_ref(cmp.challengers[0]))
    assert isinstance(pol, AdaptivePolicy)
    pol.prepare(tuple(exp.scenario.scoring.tier_names))
    assert get_policy(exp.policy_ref(cmp.challengers[1])).spec.reward == "value"
    # the best static policy in hindsight is a challenger and the reference of the regret
    hindsight = "policies/seed-failure-hindsight.toml"
    assert hindsight in cmp.challengers and cmp.also_against == [hindsight, "policies/thompson-value.toml"]
    kind = get_policy(exp.policy_ref("policies/thompson-reminders.toml"))
    assert "policies/thompson-reminders.toml" in cmp.challengers and kind.arm_names == ("champion", "reminders")
    assert kind.spec.per == "balance" and kind.spec.reward == "value"
    kind.prepare(tuple(exp.scenario.scoring.tier_names))
    get_policy(exp.policy_ref(hindsight)).prepare(tuple(exp.scenario.scoring.tier_names))
    # it was searched on the same book: the optimizer file's scenario is the comparison's
    opt = collectsim.load_experiment("experiments/seed-failure-hindsight.toml")
    assert opt.scenario.resolved() == exp.scenario.resolved()


def test_the_value_reward_adds_the_books_value_of_resolutions_in_the_window():
    cash, value = AdaptivePolicy(_spec()), AdaptivePolicy(_spec(reward="value"))
    simulate(_scenario(), cash, 4)
    simulate(_scenario(), value, 4)
    for pol, valued in ((cash, False), (value, True)):
        rv = pol.reviews.dropna(subset=["value_per_account_day"])
        want = (rv["cash"] - rv["contact_cost"] + (rv["resolution_value"] if valued else 0.0)) / rv["account_days"]
        assert np.allclose(rv["value_per_account_day"], want, rtol=1e-12)
        assert (rv["resolution_value"] > 0).sum() > 10  # cures happen in every tier
    # the first learning review sees the same accounts, cash and cures; only what it learns from differs
    first = [p.reviews[p.reviews["review"] == 2].reset_index(drop=True) for p in (cash, value)]
    for col in ("accounts", "account_days", "cash", "contact_cost", "resolution_value", "share_before"):
        assert first[0][col].equals(first[1][col])
    assert not first[0]["posterior_mean"].equals(first[1]["posterior_mean"])


# ---------------------------------------------------------------- arms in kind, the denominator, sticky arms

def test_a_channel_scale_arm_changes_that_channel_only():
    pol = AdaptivePolicy(_spec(arms=[{"name": "champion"}, {"name": "reminders", "channel_scale": {"sms": 2.0}},
                                     {"name": "both", "contacts_scale": 0.5, "channel_scale": {"call": 4.0}}]))
    champ, rem, both = (arm.table.cells for arm in pol.arms)
    for c0, c1, c2 in zip(champ, rem, both, strict=True):
        assert c1.sms_per_week == 2 * c0.sms_per_week and c1.call_per_week == c0.call_per_week
        assert c1.model_dump(exclude={"sms_per_week"}) == c0.model_dump(exclude={"sms_per_week"})
        assert c2.sms_per_week == 0.5 * c0.sms_per_week and c2.call_per_week == min(2 * c0.call_per_week, 21)
    assert any(c.sms_per_week > 0 for c in champ)  # the check above is not about zeros only


@pytest.mark.parametrize(
    ("arm", "field"),
    [
        ('channel_scale = { fax = 2.0 }', "policy.arms.1.channel_scale.fax"),
        ('channel_scale = { sms = -1.0 }', "policy.arms.1.channel_scale"),
        ('channel_scale = { sms = 2.0 }\n[[policy.arms.cells]]\nsms_per_week = 1', "policy.arms.1"),
    ],
)
def test_bad_channel_scales_are_refused(tmp_path, arm, field):
    f = tmp_path / "p.toml"
    f.write_text(f'[policy]\nkind = "adaptive"\n[[policy.arms]]\nname = "a"\n[[policy.arms]]\nname = "b"\n{arm}\n')
    with pytest.raises(InputError) as e:
        get_policy(str(f))
    assert "\n" not in str(e.value) and field in str(e.value)


class _Ledger(AdaptivePolicy):
    """Writes down, per review period, each account's balance and arm on its first day in it."""

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.first: dict[int, dict[int, tuple[float, int, int, str]]] = {}
        self.arms_seen: dict[int, set[int]] = {}

    def decide(self, obs):
        out = super().decide(obs)
        period = self.first.setdefault(obs.day // self.spec.review_days, {})
        slots = obs.active_index
        ids = obs.account_id[slots]
        arms = self.arm_of(ids)
        buckets = [BUCKETS[k] for k in obs.bucket[slots].tolist()]
        for i, b, t, a, m in zip(ids.tolist(), obs.balance[slots].tolist(), obs.tier[slots].tolist(), arms.tolist(),
                                 buckets, strict=True):
            period.setdefault(i, (b / 100.0, t, a, m))
            self.arms_seen.setdefault(i, set()).add(a)
        return out


def test_per_balance_learns_value_per_100_of_the_balance_each_account_entered_the_period_with():
    pol = _Ledger(_spec(per="balance", holdout=0.0, prior_sd=1e6))
    simulate(_scenario(), pol, 4)
    rv = pol.reviews
    arms = rv[(rv["arm"] != "holdout") & (rv["review"] > 1)]
    assert arms["why"].str.contains("per 100 of balance").all() and len(arms) > 0
    ok = rv.dropna(subset=["value_per_100_balance"])
    want = 100.0 * (ok["cash"] - ok["contact_cost"]) / ok["balance"]
    assert np.allclose(ok["value_per_100_balance"], want, rtol=1e-12)
    # the first learning review: its period is the first; balances summed again from the ledger
    first = rv[(rv["review"] == 2) & (rv["accounts"] > 0)]
    assert len(first) >= 6
    tier_index = {name: k for k, name in enumerate(pol._tier_names)}
    ledger = pol.first[0]
    for _, row in first.iterrows():
        t, a = tier_index[row["tier"]], pol.arm_names.index(row["arm"])
        mine = [b for b, tt, aa, _ in ledger.values() if tt == t and aa == a]
        assert row["accounts"] == len(mine)
        assert row["balance"] == pytest.approx(sum(mine), rel=1e-9)
        # with a flat prior the posterior mean is the period's own ratio: the learner divides by the balance
        assert row["posterior_mean"] == pytest.approx(row["value_per_100_balance"], rel=1e-6)


def test_reassign_on_entry_keeps_every_account_on_one_arm():
    sticky, moving = _Ledger(_spec(reassign="entry")), _Ledger(_spec())
    simulate(_scenario(), sticky, 6)
    simulate(_scenario(), moving, 6)
    assert all(len(a) == 1 for a in sticky.arms_seen.values())
    assert sum(len(a) > 1 for a in moving.arms_seen.values()) > 100  # the default does reassign
    assert len(sticky.reviews) == len(moving.reviews) and (sticky.reviews["share_after"] != 1 / 3).any()


def test_a_complaint_price_is_charged_to_the_reward_per_complaint():
    free, priced = AdaptivePolicy(_spec(per="balance")), AdaptivePolicy(_spec(per="balance", complaint_cost=5000.0))
    # complaints made frequent enough to count in one 10-day period of a small book
    sc = Scenario.model_validate({"portfolio": {"accounts": 3000, "horizon_days": 60},
                                  "behaviour": {"complaint_base": 0.01}})
    simulate(sc, free, 2)
    simulate(sc, priced, 2)
    a, b = (p.reviews[p.reviews["review"] == 2].reset_index(drop=True) for p in (free, priced))
    # the same period (nothing learnt before it), so the same accounts, cash and complaints
    for col in ("accounts", "cash", "contact_cost", "balance", "complaints"):
        assert a[col].equals(b[col])
    assert a["complaints"].sum() > 0
    want = 100.0 * (b["cash"] - b["contact_cost"] - 5000.0 * b["complaints"]) / b["balance"]
    ok = b["balance"] > 0
    assert np.allclose(b.loc[ok, "value_per_100_balance"], want[ok], rtol=1e-12)
    assert (b.loc[ok & (b["complaints"] > 0), "value_per_100_balance"]
            < a.loc[ok & (a["complaints"] > 0), "value_per_100_balance"]).all()


def test_shares_per_tier_and_bucket_count_each_account_in_the_bucket_it_began_the_period_in():
    pol = _Ledger(_spec(by="tier_bucket", holdout=0.1))
    simulate(Scenario.model_validate({"portfolio": {"accounts": 3000, "horizon_days": 40,
                                                    "entry_buckets": {"M1": 0.5, "M2": 0.3, "M3": 0.2}}}), pol, 8)
    rv = pol.reviews
    tiers = pol._tier_names
    assert set(rv["bucket"]) == set(BUCKETS) and len(rv) == len(rv["review"].unique()) * len(tiers) * 6 * 4
    arms = rv[rv["arm"] != "holdout"]
    assert np.allclose(arms.groupby(["review", "tier", "bucket"])["share_after"].sum(), 0.9)
    # the first learning review: accounts per tier × bucket × arm, counted again from the ledger
    first = rv[rv["review"] == 2]
    ledger = pol.first[0]
    for _, row in first.iterrows():
        t = tiers.index(row["tier"])
        keep = [(tt, mm) == (t, row["bucket"]) and (pol.in_holdout(np.array([i]))[0] if row["arm"] == "holdout"
                else (not pol.in_holdout(np.array([i]))[0] and aa == pol.arm_names.index(row["arm"])))
                for i, (_, tt, aa, mm) in ledger.items()]
        assert row["accounts"] == sum(keep)
    assert (first.groupby("bucket")["accounts"].sum()[["M1", "M2", "M3"]] > 0).all()
    # buckets learn apart: their shares differ after learning
    later = arms[arms["review"] == arms["review"].max()]
    assert later.groupby(["tier", "arm"])["share_after"].nunique().max() > 1


def test_the_report_of_a_run_with_shares_per_tier_and_bucket(tmp_path):
    import pandas as pd

    import collectsim

    f = tmp_path / "p.toml"
    f.write_text('[policy]\nkind = "adaptive"\nby = "tier_bucket"\nreview_days = 10\nattribution_days = 5\n'
                 '[[policy.arms]]\nname = "champion"\n[[policy.arms]]\nname = "reminders"\n'
                 'channel_scale = { sms = 2.0 }\n')
    out, _ = collectsim.run_experiment("experiments/quickstart.toml", policy=str(f), accounts=1500, days=30,
                                       out=tmp_path / "run")
    reviews = pd.read_csv(out / "reviews.csv", keep_default_na=False)
    held = reviews.groupby(["tier", "bucket"])["accounts"].sum()
    md = (out / "report.md").read_text()
    for (tier, bucket), n in held.items():
        assert (f"### {tier} risk, {bucket}\n" in md) == (n > 0)
    assert (held > 0).sum() >= 3 and (out / "reviews.png").is_file()
