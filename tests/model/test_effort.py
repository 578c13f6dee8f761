"""Direct effort (docs/model.md §Direct effort): validation, what it does to λ, what it costs,
and the cgw-threshold policy's reconstruction of the intensity from what it observes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from collectsim.errors import InputError
from collectsim.experiments import load_experiment, simulate
from collectsim.model import CollectionsModel
from collectsim.policies import CGWThresholdPolicy, Effort, NoContact, Policy, Requests, get_policy
from collectsim.vocabulary.units import DT

ROOT = Path(__file__).resolve().parents[2]


class FixedEffort(Policy):
    """``units`` of effort to every active account on ``days`` (a test policy)."""

    name = "fixed-effort"
    applies_effort = True

    def __init__(self, units, days=(0,)):
        self.units, self.days = units, set(days)

    def decide(self, obs):
        return Requests()

    def effort(self, obs):
        if obs.day not in self.days:
            return Effort()
        acc = obs.active_index
        return Effort(acc, np.broadcast_to(np.asarray(self.units, dtype=float), acc.shape).copy())


def _cgw(accounts=2000, days=10, **costs):
    exp = load_experiment(ROOT / "experiments" / "cgw-2019.toml", accounts=accounts, days=days)
    if costs:
        data = exp.scenario.model_dump()
        data["costs"].update(costs)
        return type(exp.scenario).model_validate(data)
    return exp.scenario


def test_effort_raises_lambda_by_delta2_per_unit_and_costs_c_per_unit():
    sc = _cgw(days=1)
    base = CollectionsModel(sc, NoContact(), seed=5, log_contacts=False)
    base.step()
    model = CollectionsModel(sc, FixedEffort(2.5), seed=5, log_contacts=False)
    model.step()
    pop, ref = model.borrowers, base.borrowers
    decay = math.exp(-0.7 * DT)
    # same draws: accounts that paid in neither run moved only by the relaxation of the extra δ2·u
    quiet = (pop.collected == 0) & (ref.collected == 0)
    assert quiet.sum() > 1900
    np.testing.assert_allclose(pop.lam[quiet] - ref.lam[quiet], 1.0 * 2.5 * decay, rtol=1e-12)
    assert model.tally.effort_units == pytest.approx(2.5 * 2000)
    assert model.tally.effort_cost_cents == pytest.approx(2.5 * 2000 * 600.0)
    np.testing.assert_allclose(pop.cost_cents, 2.5 * 600.0)
    np.testing.assert_allclose(pop.discounted_cost_cents, 2.5 * 600.0 * math.exp(-0.06 * DT))
    assert (pop.collected >= ref.collected).all() and pop.collected.sum() > ref.collected.sum()


def test_effort_cost_enters_the_kpis_and_net_value():
    sc = _cgw(accounts=500, days=30)
    res = simulate(sc, FixedEffort(1.0, days=range(0, 30, 10)), seed=3, log_contacts=False)
    k = res.kpis
    assert k["effort_units"] == pytest.approx(3 * 500)
    assert k["effort_cost"] == pytest.approx(3 * 500 * 6.0)
    assert k["treatment_cost"] == pytest.approx(k["effort_cost"])
    assert k["discounted_treatment_cost"] == pytest.approx(
        500 * 6.0 * sum(math.exp(-0.06 * (d + 1) * DT) for d in (0, 10, 20)))
    assert k["net_value"] == pytest.approx(k["discounted_collected"] - k["discounted_treatment_cost"]
                                           + k["residual_value"] + k["cured_value"] + k["debt_sale_value"])


def test_no_effort_without_a_price():
    sc = _cgw(accounts=50, days=2, effort_cost_per_unit=None)
    with pytest.raises(InputError, match=r"applies direct effort; costs.effort_cost_per_unit is not set"):
        CollectionsModel(sc, FixedEffort(1.0), seed=1)
    with pytest.raises(InputError, match=r"effort_cost_per_unit"):
        simulate(sc, "cgw-threshold", seed=1)


@pytest.mark.parametrize(
    ("units", "accounts", "match"),
    [
        ([-1.0], [0], r"Effort.units\[0\] = -1.0: must be a finite number >= 0"),
        ([float("nan")], [0], r"Effort.units\[0\] = nan: must be a finite number"),
        ([float("inf")], [0], r"Effort.units\[0\] = inf: must be a finite number"),
        ([1.0, 2.0], [0], r"Effort.units has length 2; must equal len\(account\) = 1"),
        ([1.0], [50], r"Effort.account\[0\] = 50: must be a slot in \[0, 50\)"),
        ([1.0], [0.5], r"Effort.account\[0\] = 0.5: must be a whole number"),
    ],
)
def test_bad_effort_names_the_field(units, accounts, match):
    class Bad(FixedEffort):
        def effort(self, obs):
            return Effort(np.array(accounts), np.array(units))

    model = CollectionsModel(_cgw(accounts=50, days=2), Bad(0.0), seed=1, log_contacts=False)
    with pytest.raises(InputError, match=r"policy 'fixed-effort': " + match):
        model.step()


def test_effort_must_be_an_effort():
    class Wrong(FixedEffort):
        def effort(self, obs):
            return [1.0]

    model = CollectionsModel(_cgw(accounts=50, days=2), Wrong(0.0), seed=1, log_contacts=False)
    with pytest.raises(InputError, match="effort\\(\\) returned list; must return an Effort"):
        model.step()


def test_the_threshold_policy_reconstructs_lambda_from_what_it_observes():
    """Its λ (from payments and its own effort, never read from the engine) follows the latent
    λ to the rounding of payments to cents (|ΔR| <= 0.5/balance)."""
    policy = CGWThresholdPolicy()
    model = CollectionsModel(_cgw(accounts=2000, days=400), policy, seed=3, log_contacts=False)
    worst = 0.0
    for _ in range(400):
        model.step()
        pop = model.borrowers
        act = pop.active_idx[pop.balance[pop.active_idx] > 1000]  # above 10: what the policy acts on
        worst = max(worst, float(np.abs(policy._lam[pop.account_id[act]] - pop.lam[act]).max()))
    assert worst < 5e-4
    assert model.tally.effort_units > 2000  # it acted


def test_policy_file_and_builtin_are_the_same_policy():
    builtin = get_policy("cgw-threshold")
    from_file = get_policy(str(ROOT / "experiments" / "policies" / "cgw-threshold.toml"))
    assert isinstance(from_file, CGWThresholdPolicy)
    assert from_file.to_dict() == builtin.to_dict()


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"a": float("nan")}, "policy.a"),
        ({"shape": "table"}, "needs table_w and table_lambda"),
        ({"shape": "table", "table_w": [2.0, 1.0], "table_lambda": [0.1, 0.2]}, "strictly increasing"),
        ({"table_w": [1.0, 2.0], "table_lambda": [0.1, 0.2]}, "only go with shape = 'table'"),
        ({"kappa": 0.0}, "policy.kappa"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_policy_file_is_one_line(tmp_path, table, match):
    import tomli_w

    p = tmp_path / "p.toml"
    p.write_bytes(tomli_w.dumps({"policy": {"kind": "cgw-threshold", **table}}).encode()
                  if "nan" not in repr(table) else b'[policy]\nkind = "cgw-threshold"\na = nan\n')
    with pytest.raises(InputError, match=match) as e:
        get_policy(str(p))
    assert "\n" not in str(e.value)


def test_cli_runs_the_builtin_and_the_file_and_lists_the_schema(tmp_path, capsys):
    import json

    from collectsim.cli import main

    out = tmp_path / "run"
    assert main(["run", str(ROOT / "experiments" / "cgw-2019.toml"), "--policy", "cgw-threshold", "--accounts", "300",
                 "--days", "60", "--out", str(out), "--quiet"]) == 0
    k = json.loads((out / "summary.json").read_text())["kpis"]
    assert k["effort_units"] > 0 and k["effort_cost"] == pytest.approx(6.0 * k["effort_units"])
    out2 = tmp_path / "run2"
    assert main(["run", str(ROOT / "experiments" / "cgw-2019.toml"), "--policy",
                 str(ROOT / "experiments" / "policies" / "cgw-anchored.toml"), "--accounts", "300", "--days", "60",
                 "--out", str(out2), "--quiet"]) == 0
    k2 = json.loads((out2 / "summary.json").read_text())["kpis"]
    assert k2["effort_units"] == pytest.approx(k["effort_units"], rel=1e-3)  # the same rule, written otherwise
    capsys.readouterr()
    assert main(["schema", "policy.cgw-threshold"]) == 0
    assert "lambda_top" in capsys.readouterr().out
    # a book that does not price effort: one line, exit 2
    assert main(["run", str(ROOT / "experiments" / "quickstart.toml"), "--policy", "cgw-threshold", "--accounts",
                 "100", "--days", "5", "--out", str(tmp_path / "run3"), "--quiet"]) == 2
    assert "costs.effort_cost_per_unit is not set" in capsys.readouterr().err
