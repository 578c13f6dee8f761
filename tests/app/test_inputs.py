"""What the app runs, without a browser: the levers, the uploads, the checks before a run,
the lockstep live run and the relay that carries updates to the page."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import collectsim
from collectsim.app.inputs import (
    EDITED,
    Levers,
    Uploads,
    apply_to_policy,
    apply_to_scenario,
    build_spec,
    ready_experiments,
    ready_policies,
    team_density,
)
from collectsim.app.runner import Job, Lockstep, Relay
from collectsim.policies import RuleTablePolicy
from collectsim.policies.rule_table import FREQUENCY_FIELDS
from collectsim.vocabulary.accounts import BUCKETS

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "experiments" / "quickstart.toml"
TIERS = ("high", "medium", "low")
CALL = FREQUENCY_FIELDS.index("call_per_week")


def _resolved(policy: RuleTablePolicy) -> dict[tuple[str, str], dict]:
    """Per (tier, bucket): the frequencies and discount the policy's compiled table uses."""
    policy.prepare(TIERS)
    tb = policy.compiled
    out = {}
    for t, tier in enumerate(TIERS):
        for b, bucket in enumerate(BUCKETS):
            k = tb["cell_of"][t, b]
            out[tier, bucket] = None if k < 0 else {"freq": tuple(tb["freq"][k]), "discount": float(tb["discount"][k]),
                                                    "offer": int(tb["offer"][k])}
    return out


@pytest.mark.parametrize("name", ["seed-champion", "sms-only"])
def test_calls_lever_sets_every_bucket_of_the_tier_and_nothing_else(name):
    before = _resolved(collectsim.get_policy(name))
    edited = apply_to_policy(collectsim.get_policy(name), Levers(tier="high", contacts_per_week=5.0))
    assert edited.name == name + EDITED
    after = _resolved(edited)
    for (tier, bucket), cell in after.items():
        if tier == "high":
            assert cell["freq"][CALL] == 5.0, (tier, bucket)
            old = before[tier, bucket]
            if old is not None:  # only the calls changed
                assert [f for i, f in enumerate(cell["freq"]) if i != CALL] == [
                    f for i, f in enumerate(old["freq"]) if i != CALL]
                assert cell["offer"] == old["offer"] and cell["discount"] == old["discount"]
        else:
            assert cell == before[tier, bucket], (tier, bucket)


def test_calls_lever_reaches_a_tier_no_cell_covered():
    pol = RuleTablePolicy({"name": "low-only", "cells": [{"tiers": ["low"], "sms_per_week": 2}]})
    after = _resolved(apply_to_policy(pol, Levers(tier="high", contacts_per_week=3.0)))
    assert all(after["high", b]["freq"][CALL] == 3.0 for b in BUCKETS)
    assert all(after["medium", b] is None for b in BUCKETS)
    assert after["low", "M1"]["freq"][FREQUENCY_FIELDS.index("sms_per_week")] == 2.0


def test_settlement_lever_changes_only_settlement_cells():
    before = _resolved(collectsim.get_policy("seed-champion"))
    after = _resolved(apply_to_policy(collectsim.get_policy("seed-champion"), Levers(settlement_discount=0.1)))
    changed = {k for k in after if after[k] != before[k]}
    settle = {k for k, c in before.items() if c is not None and c["discount"] > 0}
    assert settle and changed == settle
    assert all(after[k]["discount"] == pytest.approx(0.1) for k in settle)


def test_levers_that_change_nothing_keep_the_policy():
    pol = collectsim.get_policy("seed-champion")
    assert apply_to_policy(pol, Levers()) is pol
    nc = collectsim.get_policy("no-contact")
    assert apply_to_policy(nc, Levers(tier="high", contacts_per_week=4.0, settlement_discount=0.2)) is nc
    sms = collectsim.get_policy("sms-only")  # offers no settlement: the discount lever does not touch it
    assert apply_to_policy(sms, Levers(settlement_discount=0.2)) is sms


def test_an_out_of_range_lever_is_one_line():
    with pytest.raises(collectsim.InputError, match=r"call_per_week.*70"):
        apply_to_policy(collectsim.get_policy("seed-champion"), Levers(tier="high", contacts_per_week=100.0))


def test_collectors_lever_scales_the_team_with_the_book():
    exp = collectsim.load_experiment(ROOT / "experiments" / "compare.toml")  # phone: 12 collectors, fixed
    scen = exp.scenario
    assert team_density(scen, "phone") == pytest.approx(60.0)  # 12 at 20,000 accounts
    new = apply_to_scenario(scen, Levers(headcount_per_100k={"phone": 100.0}))
    phone = {t.name: t for t in new.teams}["phone"]
    assert phone.headcount is None and phone.resolved_headcount(20_000) == 20 and phone.resolved_headcount(3000) == 3
    assert {t.name: t for t in new.teams}["field"] == {t.name: t for t in scen.teams}["field"]
    with pytest.raises(collectsim.InputError, match="no team 'night'"):
        apply_to_scenario(scen, Levers(headcount_per_100k={"night": 5.0}))
    with pytest.raises(collectsim.InputError, match="headcount_per_100k"):
        apply_to_scenario(scen, Levers(headcount_per_100k={"phone": -1.0}))


def test_ready_files_are_the_experiments_folder():
    assert {"quickstart.toml", "compare.toml"} <= set(ready_experiments(ROOT / "experiments"))
    (choice,) = [c for c in ready_policies(ROOT / "experiments" / "policies") if c.ref.endswith("challenger.toml")]
    assert choice.label == "digital-first — policies/challenger.toml"


def test_upload_errors_name_the_file_not_the_temporary_folder(tmp_path):
    up = Uploads(tmp_path / "uploads")
    with pytest.raises(collectsim.InputError) as e:
        up.experiment("bad.toml", b"[portfolio\n")
    assert str(e.value).startswith("bad.toml: not valid TOML: ") and str(tmp_path) not in str(e.value)
    with pytest.raises(collectsim.InputError) as e:
        up.policy("p.toml", b'[policy]\nname = "p"\ncolour = "red"\n')
    assert str(e.value) == "p.toml: unknown key 'policy.colour' (a typo?); `collectsim schema policy` lists the allowed fields"
    path, pol = up.policy("best_policy.toml", b'[policy]\nname = "best"\n[[policy.cells]]\ntiers = "*"\n')
    assert pol.name == "best" and path.read_bytes().startswith(b"[policy]")
    up.close()
    assert not (tmp_path / "uploads").exists()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"policies": ["seed-champion"]}, "choose two to four"),
        ({"reps": 1}, "replications = 1: must be >= 2"),
        ({"accounts": 0}, "accounts = 0"),
        ({"levers": Levers(tier="vip", contacts_per_week=2.0)}, "tier = 'vip': unknown tier"),
        ({"policies": ["seed-champion", "no-such-policy"]}, "unknown policy"),
    ],
)
def test_bad_inputs_are_refused_before_anything_runs(change, needle):
    args = {"policies": ["seed-champion", "sms-only"], "accounts": 1000, "days": 10, "seed": 1, "reps": 2,
            "levers": Levers()} | change
    with pytest.raises(collectsim.InputError, match=needle):
        build_spec(QUICK, args.pop("policies"), **args)


def test_lockstep_runs_each_policy_as_if_alone():
    scen = collectsim.Scenario.model_validate({"portfolio": {"accounts": 1200, "horizon_days": 20}})
    pols = [collectsim.prepare_policy(p, scen) for p in ("seed-champion", "max-legal")]
    model = Lockstep(scen, pols, seed=5)
    while model.running:
        model.step()
    series = model.series()
    assert list(series["day"]) == list(range(1, 21))
    for pol in ("seed-champion", "max-legal"):
        alone = collectsim.simulate(scen, pol, seed=5, audit=False, value=False).daily
        np.testing.assert_array_equal(series[f"recovery_rate|{pol}"], alone["recovery_rate"])
        np.testing.assert_allclose(series[f"collected|{pol}"], alone["collected_cum"] * 1000 / 1200)
        np.testing.assert_allclose(series[f"complaints|{pol}"], alone["complaints"].cumsum() * 1000 / 1200)
        np.testing.assert_allclose(series[f"churned|{pol}"], alone["churned"] * 1000 / 1200)
    assert series["complaints|max-legal"].iloc[-1] > 0  # the complaint series is not trivially zero


def test_relay_delivers_the_newest_value_and_the_last_one():
    got, gate = [], threading.Event()

    def deliver(v):
        gate.wait(5)  # a slow page
        got.append(v)

    relay = Relay(deliver)
    for i in range(100):
        relay.put(i)  # never waits for the page
    gate.set()
    relay.close()
    relay.thread.join(5)
    assert not relay.thread.is_alive()
    assert got[-1] == 99 and len(got) < 100 and got == sorted(got)


def test_the_app_package_is_cheap_to_import():
    import subprocess
    import sys

    code = "import collectsim.app, sys; print('solara' in sys.modules, 'numpy' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_a_cancelled_job_stops_its_live_run_and_runs_no_replications():
    spec = build_spec(QUICK, ["seed-champion", "sms-only"], accounts=1000, days=200, seed=1, reps=2, levers=Levers())
    seen = []

    def publish(s):
        seen.append(s)
        if s.day >= 3:
            job.cancel()

    job = Job(spec, publish, min_interval=0.0)
    job.start().thread.join(60)
    assert not job.thread.is_alive()
    assert seen[-1].phase == "cancelled" and 3 <= seen[-1].day < 200
    assert all(s.phase in ("live", "cancelled") for s in seen) and seen[-1].comparison is None
