"""The optimizer's search space: parameters as data, round trips, ties, and clear errors."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectsim.errors import InputError
from collectsim.experiments.optimize import OptimizeSettings
from collectsim.experiments.optimize.space import (
    FIELDS,
    SearchSpace,
    compress_grid,
    expand_grid,
    spec_key,
)
from collectsim.experiments.simulation import simulate
from collectsim.policies.baselines import seed_champion
from collectsim.policies.rule_table import Cell, RuleTablePolicy, RuleTableSpec
from collectsim.scenario import Scenario
from collectsim.vocabulary import BUCKETS

TIERS = ("high", "medium", "low")
CHAMP = seed_champion().table

PARAMS = [
    {"name": "hc", "field": "call_per_week", "tiers": ["high"], "low": 0, "high": 7, "step": 1},
    {"name": "mc", "field": "call_per_week", "tiers": ["medium"], "low": 0, "high": 6, "step": 1},
    {"name": "ls", "field": "sms_per_week", "tiers": ["low"], "low": 0, "high": 4, "step": 0.5},
    {"name": "mo", "field": "offer", "tiers": ["medium"], "choices": ["ptp", "instalment"]},
    {"name": "sd", "field": "settlement_discount", "tiers": ["high"], "buckets": ["M4", "M5", "M6"],
     "low": 0.0, "high": 0.5, "step": 0.05},
    {"name": "vd", "field": "visit_from_dpd", "tiers": ["high"], "buckets": ["M1", "M2", "M3"],
     "low": 30, "high": 120, "step": 30},
    {"name": "ch", "field": "call_hour", "low": 8, "high": 20, "step": 2},
    {"name": "pr", "field": "priority", "choices": ["expected_value", "balance"]},
]


def space(params=None, base=CHAMP, tiers=TIERS) -> SearchSpace:
    s = OptimizeSettings.model_validate({"params": params if params is not None else PARAMS})
    return SearchSpace.from_settings(s, tiers, base, source="x.toml")


def behaviour(spec: RuleTableSpec, tiers=TIERS) -> dict:
    """Per (tier, bucket) field values the policy actually uses, from its compiled tables."""
    p = RuleTablePolicy(spec)
    p.prepare(tiers)
    tb = p.compiled
    cell = tb["cell_of"]
    return {k: tb[k][cell] for k in ("freq", "hour", "visit_from_dpd", "offer", "plan_months", "discount")}


def same_behaviour(a: RuleTableSpec, b: RuleTableSpec, tiers=TIERS) -> bool:
    x, y = behaviour(a, tiers), behaviour(b, tiers)
    return all(np.array_equal(x[k], y[k]) for k in x) and a.priority == b.priority


def test_champion_round_trip_and_representation():
    sp = space()
    p0 = sp.params_of(CHAMP)
    assert p0 == {"hc": 4.0, "mc": 2.0, "ls": 2.0, "mo": "ptp", "sd": 0.3, "vd": 60, "ch": 18, "pr": "expected_value"}
    back = sp.to_spec(p0)
    assert same_behaviour(back, CHAMP)
    assert spec_key(back, TIERS) == spec_key(CHAMP, TIERS)


def test_params_set_the_right_cells_and_run():
    sp = space()
    params = {"hc": 6.0, "mc": 0.0, "ls": 3.5, "mo": "instalment", "sd": 0.15, "vd": 90, "ch": 10, "pr": "balance"}
    spec = sp.to_spec(params, name="t")
    assert sp.params_of(spec) == params
    grid = expand_grid(spec, TIERS)
    hi, me, lo = 0, 1, 2
    assert all(grid[hi][b].call_per_week == 6.0 for b in range(6))
    assert all(grid[me][b].call_per_week == 0.0 and grid[me][b].offer == "instalment" for b in range(6))
    assert all(grid[lo][b].sms_per_week == 3.5 for b in range(6))
    assert [grid[hi][b].settlement_discount for b in range(6)] == [0.0, 0.0, 0.0, 0.15, 0.15, 0.15]
    assert [grid[hi][b].visit_from_dpd for b in range(3)] == [90, 90, 90]
    assert grid[hi][3].visit_from_dpd == 91  # untouched: the champion's M4+ cell
    assert all(grid[t][b].call_hour == 10 for t in range(3) for b in range(6))
    assert spec.priority == "balance"
    # unchanged fields keep the champion's values
    assert grid[lo][0].email_per_week == 1.0 and grid[lo][0].offer == "none"
    # the table runs
    sc = Scenario.model_validate({"portfolio": {"accounts": 500, "horizon_days": 10}})
    r = simulate(sc, RuleTablePolicy(spec), seed=1, audit=True)
    assert r.kpis["violations_total"] == 0
    assert r.kpis["contacts"]["call"] > 0


def test_suggest_round_trip_with_optuna():
    sp = space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(10):
        t = study.ask()
        params = sp.suggest(t)
        assert set(params) == set(sp.distributions())
        spec = sp.to_spec(params)
        assert sp.params_of(spec) == params
        for name, v in params.items():
            assert sp.by_name[name].contains(v)
        study.tell(t, 0.0)


def test_fixed_and_tied_parameters():
    params = [
        {"name": "ms", "field": "sms_per_week", "tiers": ["medium"], "low": 0, "high": 4, "step": 1},
        {"name": "me", "field": "email_per_week", "tiers": ["medium"], "tie": "ms", "scale": 0.5},
        {"name": "hour", "field": "message_hour", "value": 9},
        {"name": "ch", "field": "call_hour", "choices": [10, 18]},
        {"name": "vh", "field": "visit_hour", "tie": "ch"},
    ]
    sp = space(params)
    assert [p.name for p in sp.searched] == ["ms", "ch"]
    spec = sp.to_spec({"ms": 3.0, "ch": 10})
    g = expand_grid(spec, TIERS)
    assert g[1][0].sms_per_week == 3.0 and g[1][0].email_per_week == 1.5
    assert all(g[t][b].message_hour == 9 and g[t][b].visit_hour == 10 for t in range(3) for b in range(6))
    # the champion (message_hour 10) is outside this space: fixed hour 9 differs
    assert sp.params_of(CHAMP) is None


def test_parameter_on_uncovered_cells_creates_a_cell():
    base = RuleTableSpec(cells=[Cell(tiers=["high"], call_per_week=2)])
    sp = space([{"name": "ls", "field": "sms_per_week", "tiers": ["low"], "low": 0, "high": 2, "step": 1}], base=base)
    spec = sp.to_spec({"ls": 2.0})
    g = expand_grid(spec, TIERS)
    assert g[1][0] is None  # medium: still not contacted
    assert g[2][0].sms_per_week == 2.0 and g[2][0].call_per_week == 0.0
    assert g[0][0].call_per_week == 2.0


def test_minimal_contact_policy():
    sp = space()
    m = sp.minimal_contact_params()
    assert m["hc"] == 0 and m["mc"] == 0 and m["ls"] == 0 and m["vd"] == 120
    assert m["ch"] == 18  # not a contact volume: the base's value


@st.composite
def tables(draw):
    n = draw(st.integers(0, 5))
    cells = []
    for _ in range(n):
        tiers = draw(st.one_of(st.just("*"), st.lists(st.sampled_from(TIERS), min_size=1, max_size=3, unique=True)))
        buckets = draw(st.one_of(st.just("*"), st.lists(st.sampled_from(BUCKETS), min_size=1, max_size=6, unique=True)))
        cells.append(
            Cell(
                tiers=tiers,
                buckets=buckets,
                sms_per_week=draw(st.sampled_from([0.0, 1.0, 2.5])),
                call_per_week=draw(st.sampled_from([0.0, 3.0])),
                offer=draw(st.sampled_from(["ptp", "settlement"])),
                settlement_discount=draw(st.sampled_from([0.0, 0.2])),
                call_hour=draw(st.sampled_from([10, 18])),
            )
        )
    return RuleTableSpec(cells=cells, priority=draw(st.sampled_from(["balance", "dpd"])))


@settings(max_examples=60, deadline=None)
@given(tables())
def test_compress_is_behaviour_preserving(spec):
    grid = expand_grid(spec, TIERS)
    small = compress_grid(grid, TIERS, name="c", priority=spec.priority)
    assert same_behaviour(small, spec)
    assert len(small.cells) <= len(TIERS) * len(BUCKETS)
    assert spec_key(small, TIERS) == spec_key(spec, TIERS)


def test_fields_cover_the_issue():
    for f in ("call_per_week", "sms_per_week", "call_hour", "offer", "plan_months", "settlement_discount",
              "visit_from_dpd", "priority"):
        assert f in FIELDS


@pytest.mark.parametrize(
    "param, message",
    [
        ({"field": "calls_per_week", "low": 0, "high": 3}, "field = 'calls_per_week': unknown field; allowed: "),
        ({"field": "call_per_week", "tiers": ["vip"], "low": 0, "high": 3}, "unknown tier 'vip'; allowed: high, medium, low"),
        ({"field": "call_per_week", "buckets": ["M9"], "low": 0, "high": 3}, "unknown bucket 'M9'"),
        ({"field": "call_per_week", "low": 5, "high": 3}, "empty range: low = 5 > high = 3"),
        ({"field": "call_per_week", "low": 0, "high": 3, "step": 2}, "step = 2: does not divide the range 0..3"),
        ({"field": "call_per_week", "low": 0, "high": 100}, "high = 100: call_per_week must be in [0, 70]"),
        ({"field": "call_hour", "low": 8, "high": 20, "step": 1.5}, "takes whole numbers"),
        ({"field": "offer", "low": 0, "high": 1}, "field 'offer' is not numeric; use choices"),
        ({"field": "offer", "choices": ["ptp", "haircut"]}, "'haircut' must be one of none, ptp, instalment, settlement"),
        ({"field": "priority", "tiers": ["high"], "choices": ["dpd", "balance"]}, "applies to the whole table"),
        ({"field": "sms_per_week", "tie": "nope"}, "tie = 'nope': no such parameter"),
        ({"field": "call_per_week", "low": 2, "high": 2}, "nothing to search; use value = 2"),
    ],
)
def test_bad_parameters_give_one_line(param, message):
    with pytest.raises(InputError) as e:
        space([param, {"name": "ok", "field": "letter_per_week", "low": 0, "high": 1}])
    text = str(e.value)
    assert message in text, text
    assert "\n" not in text and text.startswith("x.toml: optimize.params[0]")


def test_overlap_duplicates_cycles_and_empty_space():
    with pytest.raises(InputError, match="already sets"):
        space([{"field": "call_per_week", "low": 0, "high": 3},
               {"field": "call_per_week", "tiers": ["high"], "low": 0, "high": 3}])
    with pytest.raises(InputError, match="duplicate parameter name"):
        space([{"name": "a", "field": "call_per_week", "low": 0, "high": 3},
               {"name": "a", "field": "sms_per_week", "low": 0, "high": 3}])
    with pytest.raises(InputError, match="cycle"):
        space([{"name": "a", "field": "call_per_week", "tie": "b"}, {"name": "b", "field": "sms_per_week", "tie": "a"},
               {"name": "c", "field": "ivr_per_week", "low": 0, "high": 1}])
    with pytest.raises(InputError, match="empty search space"):
        space([])
    with pytest.raises(InputError, match="no parameter is searched"):
        space([{"field": "call_per_week", "value": 3}])
    with pytest.raises(InputError, match="tied value 10.0 is not valid for visit_per_week"):
        space([{"name": "a", "field": "call_per_week", "low": 0, "high": 10},
               {"field": "visit_per_week", "tie": "a"}])
