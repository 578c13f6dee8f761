"""Behaviour of the simulation core: conservation, compliance, reproducibility, responses."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import collectsim
from collectsim.model import CollectionsModel
from collectsim.policies import BUILTIN, get_policy
from collectsim.policies.base import Observation, Outcomes, Policy, Requests
from collectsim.policies.rule_table import Cell, RuleTablePolicy, RuleTableSpec
from collectsim.scenario import PRESETS, Scenario
from collectsim.validation.audit import StreamingAudit, audit
from collectsim.vocabulary import ACTIVE, CHANNELS, CHARGED_OFF, CURED

POLICIES = sorted(BUILTIN)


def _scenario(**portfolio) -> Scenario:
    base = {"accounts": 3000, "horizon_days": 60}
    base.update(portfolio)
    return Scenario.model_validate({"portfolio": base})


def _priced(scenario: Scenario, policy) -> Scenario:
    """The scenario, pricing direct effort (c = 6, as the published model) for a policy that applies it."""
    if get_policy(policy).applies_effort and scenario.costs.effort_cost_per_unit is None:
        return scenario.model_copy(update={"costs": scenario.costs.model_copy(update={"effort_cost_per_unit": 6.0})})
    return scenario


def _run_model(scenario: Scenario, policy, seed: int, days: int) -> CollectionsModel:
    model = CollectionsModel(_priced(scenario, policy), get_policy(policy), seed=seed)
    model.run_for(days)
    return model


def _conserved(model: CollectionsModel) -> None:
    p = model.borrowers
    lhs = p.collected + p.discount + p.charged_off + p.balance
    assert np.array_equal(lhs, p.balance0), "money is not conserved account by account"
    assert (p.balance >= 0).all() and (p.collected >= 0).all()


@pytest.mark.parametrize("policy", POLICIES)
def test_money_conserved_to_the_cent_for_every_policy(policy):
    model = _run_model(_scenario(entry_buckets={"M4": 0.5, "M5": 0.5}), policy, seed=3, days=90)
    _conserved(model)
    assert (model.borrowers.status == CHARGED_OFF).any(), "the horizon should reach charge-off"


@pytest.mark.parametrize(("preset", "policy"), [
    pytest.param(preset, policy, id=f"{policy}-{preset}")
    for preset in sorted(PRESETS) for policy in POLICIES
])
def test_audit_finds_no_violation_for_any_preset_and_policy(preset, policy):
    sc = Scenario.model_validate({"portfolio": {"accounts": 1500, "horizon_days": 30}, "rules": {"preset": preset}})
    result = collectsim.simulate(_priced(sc, policy), policy, seed=11, audit=False, log_contacts=True)
    if policy == "max-legal" and preset != "none":
        assert sum(result.kpis["blocked"].values()) > 0, "max-legal asks for more than the rules allow"
    found = audit(result.contacts, sc.rules)
    assert not any(found.values()), found


#: Opt-outs on every channel (by default only SMS, e-mail and IVR have one), so that every
#: medium's opt-out is exercised.
_OPT_OUT_EVERYWHERE = {c: {"optout_prob": 0.05} for c in ("sms", "email", "ivr", "call", "visit", "letter")}


def _adversarial_scenario(preset: str) -> Scenario:
    return Scenario.model_validate({
        "portfolio": {"accounts": 600, "horizon_days": 30,
                      "entry_buckets": {"M1": 0.2, "M2": 0.2, "M3": 0.2, "M4": 0.2, "M5": 0.1, "M6": 0.1}},
        "channels": _OPT_OUT_EVERYWHERE,
        "rules": {"preset": preset},
    })


def _audited(model: CollectionsModel, sc: Scenario) -> dict[str, int]:
    found = audit(model.contact_log(), sc.rules)
    assert found.keys() == {r.name for r in sc.rules.extra} | {r.name for r in PRESETS[sc.rules.preset]}
    return found


#: hours at the edges of every preset's allowed hours (7, 8, 20, 21, 22) and deep night
_WORST_HOURS = {"M1": 20, "M2": 7, "M3": 21, "M4": 22, "M5": 0, "M6": 23}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rule_table_at_every_channels_maximum_and_worst_hours_breaks_no_rule(preset):
    """Every channel at the most a rule table allows, at the worst hours, ignoring opt-outs and
    promises: the engine must block whatever the law forbids (the audit finds nothing)."""
    top = {f"{c}_per_week": 70.0 for c in ("sms", "email", "ivr", "call")} | {"visit_per_week": 7.0,
                                                                             "letter_per_week": 7.0}
    cells = [Cell(buckets=[b], **top, visit_from_dpd=0, call_hour=h, message_hour=h, visit_hour=h)
             for b, h in _WORST_HOURS.items()]
    policy = RuleTablePolicy(RuleTableSpec(name="everything", cells=cells, respect_opt_out=False,
                                           pause_on_promise=False))
    sc = _adversarial_scenario(preset)
    model = _run_model(sc, policy, seed=4, days=30)
    if preset != "none":
        assert sum(model.rule_engine.blocked.values()) > 0
    assert model.borrowers.opted_out.any(), "the run should see opt-outs"
    found = _audited(model, sc)
    assert not any(found.values()), found


class _FiftyCallsAtNight(Policy):
    """An API policy asking 50 telephone calls a day of every active account (agent and IVR
    alternately), at every hour of the day and night (hours 0..23 in turn, most at night)."""

    name = "fifty-calls-at-night"

    def decide(self, obs: Observation) -> Requests:
        slots = np.repeat(obs.active_index, 50)
        k = np.tile(np.arange(50), len(obs.active_index))
        channel = np.where(k % 2 == 0, CHANNELS.index("call"), CHANNELS.index("ivr")).astype(np.int8)
        hour = ((k + 21) % 24).astype(np.int8)  # from 21:00 on, round the clock
        z = np.zeros(len(slots))
        return Requests(account=slots, channel=channel, hour=hour, offer=z.astype(np.int8),
                        discount=z.astype(np.float32), plan_months=np.ones(len(slots), dtype=np.int8),
                        priority=z.astype(np.float32))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_api_policy_asking_fifty_calls_a_day_at_night_breaks_no_rule(preset):
    sc = _adversarial_scenario(preset)
    model = _run_model(sc, _FiftyCallsAtNight(), seed=5, days=30)
    if preset != "none":
        blocked = model.rule_engine.blocked
        assert sum(blocked.values()) > 0, blocked
    found = _audited(model, sc)
    assert not any(found.values()), found


def test_the_streaming_audit_of_a_run_finds_what_the_audit_of_its_log_finds():
    """A run without rules (50 calls a day at night, opt-outs on every channel) audited under
    every preset: the audit fed each day's contacts as the engine logs them — without any log
    kept — counts exactly what the audit of the whole log counts, and both find violations."""
    sc = _adversarial_scenario("none")
    auditors = {p: StreamingAudit(Scenario.model_validate({"rules": {"preset": p}}).rules, CHANNELS)
                for p in sorted(PRESETS)}
    fed = []

    def feed(**day):
        fed.append(len(day["account"]))
        for a in auditors.values():
            a.add_day(**day)

    streamed = CollectionsModel(sc, _FiftyCallsAtNight(), seed=5, log_contacts=False, on_contacts=feed)
    streamed.run_for(30)
    assert len(streamed.contact_log()) == 0 and sum(fed) > 0, "nothing is kept, everything is fed"
    log = _run_model(sc, _FiftyCallsAtNight(), seed=5, days=30).contact_log()
    assert len(log) == sum(fed)
    for preset, auditor in auditors.items():
        whole = audit(log, Scenario.model_validate({"rules": {"preset": preset}}).rules)
        assert auditor.violations() == whole
        assert preset == "none" or sum(whole.values()) > 0, (preset, whole)
    # and simulate's own audit (streaming) of a run under a preset equals the audit of its log
    sc_f = _adversarial_scenario("us-reg-f")
    res = collectsim.simulate(sc_f, "max-legal", seed=3, days=20, log_contacts=True)
    assert res.kpis["violations"] == audit(res.contacts, sc_f.rules)


@pytest.mark.parametrize("preset", sorted(PRESETS))
# no shrinking: shrinking a 40-day run costs minutes
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(
    seed=st.integers(0, 2**32),
    product=st.sampled_from(["card", "instalment", "recovery"]),
    policy=st.sampled_from(POLICIES),
    m1=st.floats(0.0, 1.0),
)
def test_invariants_hold_for_random_portfolios(seed, product, preset, policy, m1):
    sc = Scenario.model_validate(
        {
            "portfolio": {
                "accounts": 400,
                "product": product,
                "entry_buckets": {"M1": m1, "M3": 1.0 - m1},
                "chargeoff_dpd": 100 if product != "recovery" else None,
            },
            "rules": {"preset": preset},
        }
    )
    model = _run_model(sc, policy, seed, days=40)
    _conserved(model)
    pop = model.borrowers
    active = pop.status == 0
    assert (pop.dpd[active] >= 1).all()
    assert (pop.arrears <= pop.balance).all()
    log = model.contact_log()
    found = audit(log, sc.rules)
    assert not any(found.values()), found


def test_identical_seed_identical_outputs_and_different_seed_differs():
    sc = _scenario()
    a = collectsim.simulate(sc, "seed-champion", seed=5)
    b = collectsim.simulate(sc, "seed-champion", seed=5)
    c = collectsim.simulate(sc, "seed-champion", seed=6)
    pd.testing.assert_frame_equal(a.daily, b.daily)
    assert a.kpis == b.kpis and a.tiers == b.tiers
    assert a.kpis["collected"] != c.kpis["collected"]


def test_common_random_numbers_untouched_accounts_keep_their_luck():
    """Two policies that differ only for the low-risk tier leave other tiers' outcomes identical."""
    sc = _scenario()
    base = [Cell(tiers=["high", "medium"], sms_per_week=2, offer="none")]
    p1 = RuleTablePolicy(RuleTableSpec(name="a", cells=base))
    p2 = RuleTablePolicy(RuleTableSpec(name="b", cells=base + [Cell(tiers=["low"], sms_per_week=3, offer="none")]))
    m1 = _run_model(sc, p1, seed=9, days=60)
    m2 = _run_model(sc, p2, seed=9, days=60)
    b1, b2 = m1.borrowers, m2.borrowers
    assert np.array_equal(b1.balance0, b2.balance0) and np.array_equal(b1.tier, b2.tier)
    other = b1.tier != 2
    assert np.array_equal(b1.collected[other], b2.collected[other])
    assert not np.array_equal(b1.collected[~other], b2.collected[~other])


def test_no_contact_self_cures_and_contact_pays():
    sc = _scenario(accounts=5000, horizon_days=90)
    none = collectsim.simulate(sc, "no-contact", seed=1)
    champ = collectsim.simulate(sc, "seed-champion", seed=1)
    assert none.kpis["collected"] > 0 and none.kpis["cure_rate"] > 0.1
    assert sum(none.kpis["contacts"].values()) == 0 and none.kpis["complaints"] == 0
    assert champ.kpis["collected"] > none.kpis["collected"]


def test_max_legal_contacts_more_and_draws_more_complaints_than_sms_only():
    sc = _scenario(accounts=3000, horizon_days=60)
    sms = collectsim.simulate(sc, "sms-only", seed=2)
    mx = collectsim.simulate(sc, "max-legal", seed=2)
    assert sum(mx.kpis["contacts"].values()) > 2 * sum(sms.kpis["contacts"].values())
    assert mx.kpis["complaints"] > sms.kpis["complaints"]
    assert mx.kpis["churn_rate"] > sms.kpis["churn_rate"]


def test_shock_lowers_recovery_on_the_same_borrowers():
    data = {"portfolio": {"accounts": 4000, "horizon_days": 90}}
    calm = collectsim.simulate(Scenario.model_validate(data), "seed-champion", seed=4)
    shocked = collectsim.simulate(
        Scenario.model_validate({**data, "shock": {"start_day": 0, "stress_multiplier": 8.0}}), "seed-champion", seed=4
    )
    assert shocked.kpis["collected"] < calm.kpis["collected"]
    assert shocked.kpis["chargeoff_rate"] >= calm.kpis["chargeoff_rate"]


def test_collectors_stop_when_minutes_run_out():
    sc = Scenario.model_validate(
        {
            "portfolio": {"accounts": 3000, "horizon_days": 20},
            "teams": [{"name": "phone", "headcount": 2, "minutes_per_day": 100}, {"name": "field", "headcount": 0}],
        }
    )
    r = collectsim.simulate(sc, "seed-champion", seed=1)
    att, handle = sc.channels["call"].attempt_minutes, sc.channels["call"].handle_minutes
    assert r.kpis["unworked"] > 0
    assert r.kpis["contacts"]["call"] <= 20 * 2 * 100 / att
    assert r.kpis["contacts"]["call"] >= 20 * 2 * int(100 / handle) * 0.9
    assert r.kpis["contacts"]["visit"] == 0


def test_policy_frequency_is_met_exactly_per_week():
    sc = _scenario(accounts=500, horizon_days=28)
    pol = RuleTablePolicy(RuleTableSpec(name="f", pause_on_promise=False, cells=[Cell(email_per_week=3, offer="none")]))
    model = CollectionsModel(sc, pol, seed=1, log_contacts=True)
    model.run_for(28)
    log = model.contact_log()
    per_account = log.groupby("account", observed=True).size()
    pop = model.borrowers
    email_bit = 1 << 1
    steady = np.flatnonzero((pop.resolved_day < 0) & ((pop.opted_out & email_bit) == 0))
    assert len(steady) > 100
    assert (per_account.loc[steady] == 12).all()


_LATENT = ("segment", "regime", "willingness", "lam", "lam_inf", "irritation", "reachability", "churned", "ability")


def test_observation_exposes_no_latent_trait():
    for cls in (Observation, Outcomes):  # the morning's state and the evening's outcomes
        fields = set(cls.__dataclass_fields__)
        for latent in _LATENT:
            assert not any(latent in f for f in fields), (cls.__name__, latent)
    model = CollectionsModel(_scenario(accounts=50), get_policy("no-contact"), seed=0)
    obs = model.borrowers.observe(0)
    with pytest.raises(ValueError):
        obs.balance[0] = 0  # read-only views: a policy cannot change the state


class _Recorder(RuleTablePolicy):
    """The seed champion's table, learning nothing but keeping every day's outcomes."""

    learns = True

    def __init__(self) -> None:
        super().__init__(get_policy("seed-champion").table)
        self.seen: list[Outcomes] = []
        self.streams = None

    def start(self, streams) -> None:
        self.streams = streams

    def observe(self, outcomes: Outcomes) -> None:
        self.seen.append(outcomes)


def test_a_learning_policy_sees_its_contacts_and_payments_by_account_number():
    sc = _scenario(accounts=800)
    rec = _Recorder()
    model = CollectionsModel(sc, rec, seed=3)
    model.run_for(30)
    assert rec.streams is model.streams and [o.day for o in rec.seen] == list(range(30))
    assert all(isinstance(o, Outcomes) for o in rec.seen)
    log = model.contact_log()
    contacts = pd.concat([pd.DataFrame({"account": o.contact_account, "day": o.day, "channel": o.contact_channel,
                                        "reached": o.contact_reached, "complaint": o.contact_complaint})
                          for o in rec.seen])
    assert len(contacts) == len(log)
    assert (contacts["account"].to_numpy() == log["account"].to_numpy()).all()
    assert (contacts["channel"].to_numpy() == log["channel"].cat.codes.to_numpy()).all()
    assert (contacts["reached"].to_numpy() == log["reached"].to_numpy()).all()
    assert (contacts["complaint"].to_numpy() == log["complaint"].to_numpy()).all()
    pop = model.borrowers
    paid = np.zeros(pop.n, dtype=np.int64)
    for o in rec.seen:
        np.add.at(paid, o.payment_account, o.payment_amount)
        assert (o.payment_amount > 0).all() and len(np.unique(o.payment_account)) == len(o.payment_account)
    order = np.argsort(pop.account_id)
    assert (paid == pop.collected[order]).all()  # every cent, to the account that paid it
    cost = sum(float(o.contact_cost.sum()) for o in rec.seen)
    assert cost == pytest.approx(pop.cost_cents.sum(), rel=1e-9)
    assert sum(len(o.promise_kept) + len(o.promise_broken) for o in rec.seen) <= model.tally.ptp_due
    # every account that left collections, once, on its day, in its status, valued at the books' rates
    ids = np.concatenate([o.resolved_account for o in rec.seen])
    status = np.concatenate([o.resolved_status for o in rec.seen])
    value = np.concatenate([o.resolved_value for o in rec.seen])
    st, bal, co = pop.status[order], pop.balance[order], pop.charged_off[order]
    assert len(np.unique(ids)) == len(ids) and set(ids) == set(np.flatnonzero(st != ACTIVE))
    assert (status == st[ids]).all() and (status == CURED).sum() > 20
    v = sc.valuation
    want = np.where(status == CURED, v.performing_value_rate * bal[ids],
                    np.where(status == CHARGED_OFF, v.debt_sale_rate * co[ids], 0.0))
    assert value == pytest.approx(want, rel=1e-12)


def test_a_static_policy_gets_no_outcomes_and_the_same_run():
    sc = _scenario(accounts=500)
    a = CollectionsModel(sc, get_policy("seed-champion"), seed=5)
    b = CollectionsModel(sc, _Recorder(), seed=5)
    a.run_for(20)
    b.run_for(20)
    assert a.contacts.report is False and b.contacts.report is True
    assert (a.borrowers.collected == b.borrowers.collected).all()
    assert a.contact_log().equals(b.contact_log())


def test_daily_series_has_one_row_per_day_and_model_is_collected():
    sc = _scenario(accounts=300)
    model = CollectionsModel(sc, get_policy("seed-champion"), seed=0)
    model.run_for(15)
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 15 and list(df["day"]) == list(range(15))
    assert df["collected_cum"].is_monotonic_increasing
    ref = weakref.ref(model)
    model.remove_all_agents()
    del model, df
    gc.collect()
    assert ref() is None


def _row(account: int, day: int, hour: int, channel: str, seq: int = 0, reached: bool = False,
         opted_out: bool = False) -> dict:
    """One executed contact of a hand-written contact log."""
    return {"account": account, "day": day, "hour": hour, "seq": seq, "channel": channel, "reached": reached,
            "opted_out": opted_out}


def test_audit_detects_each_kind_of_violation():
    rules = Scenario().rules  # us-reg-f
    rows = [
        # 8 calls in 7 days, no conversation: breaks 7-in-7
        *(_row(1, d, 10, "call") for d in range(7)),
        _row(1, 6, 11, "call", seq=1),
        # a call at 22:00
        _row(2, 0, 22, "call"),
        # conversation, then another call 3 days later
        _row(3, 0, 10, "call", reached=True),
        _row(3, 3, 10, "call"),
        # opt out of SMS, then an SMS
        _row(4, 0, 10, "sms", reached=True, opted_out=True),
        _row(4, 1, 10, "sms", reached=True),
    ]
    v = audit(pd.DataFrame(rows), rules)
    assert v == {
        "reg-f-inconvenient-time": 1,
        "reg-f-opt-out": 1,
        "reg-f-7-in-7": 1,
        "reg-f-7-after-conversation": 1,
    }


def test_audit_accepts_the_legal_edge_cases():
    rules = Scenario().rules
    rows = [
        # exactly 7 calls in 7 days
        *(_row(1, d, 10, "call") for d in range(7)),
        # conversation on day 0 (= day 1 of the 7), next call on day 7: allowed
        _row(3, 0, 9, "call", reached=True),
        _row(3, 7, 9, "call"),
        # 08:00 and 20:00 are inside the window
        _row(2, 0, 8, "sms", reached=True),
        _row(2, 0, 20, "sms", seq=1, reached=True),
        # opting out of SMS does not stop e-mail
        _row(4, 0, 10, "sms", reached=True, opted_out=True),
        _row(4, 1, 10, "email", reached=True),
    ]
    assert sum(audit(pd.DataFrame(rows), rules).values()) == 0


def test_opt_out_takes_effect_within_the_day():
    """Three SMS a day and frequent opt-outs: the second SMS after an opt-out is blocked."""
    sc = Scenario.model_validate(
        {"portfolio": {"accounts": 800, "horizon_days": 10}, "channels": {"sms": {"optout_prob": 0.5}}}
    )
    pol = RuleTablePolicy(RuleTableSpec(name="spam", cells=[Cell(sms_per_week=21, offer="none")]))
    r = collectsim.simulate(sc, pol, seed=3)
    assert r.kpis["violations_total"] == 0, r.kpis["violations"]
    assert r.kpis["blocked"]["reg-f-opt-out"] > 0
