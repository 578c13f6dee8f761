"""The vectorised engine against the per-agent reference (collectsim.validation.reference).

Design
------
* **Scenario** (:func:`equivalence_scenario`): every mechanism active — the three default
  latent segments with stronger self-excitation (δ11 = 12 a year, half the default
  probability of a full payment, so partial repayments and the jumps of λ they cause
  weigh on the KPIs), regimes and a stress shock (days 20–44), bankruptcy notices and the
  fading of a contact's effect with DPD (the defaults), entry in M1..M6 so charge-off
  happens within the horizon, promises, instalment plans and settlements (seed-champion),
  opt-outs, complaints (sensitivity ×10), churn, collector teams at capacity (2 callers with
  200 minutes, 2 field agents) and the US Regulation F rules plus three extra rules
  (a connect cap and an attempt cap over several days, and a call-hours window that sits
  *after* the 7-in-7 cap in the rule list, to pin the filter order).
* **Configurations** (:data:`FAST`): ``seed-champion`` (2,000 accounts, 60 days) and
  ``max-legal`` (600 accounts, 60 days; it asks for ~17 contacts per account-day) under
  those rules, and ``max-legal`` under the Chinese preset ``cn-gbt-45251`` (400 accounts,
  45 days): quiet hours end at 22:00, so 21:00 contacts go out and the out-of-hours
  complaint multiplier acts, and its caps are one-day windows (connects counted during
  the day).
* **Replications**: R_ref reference runs and 2·R_ref engine runs per policy, on disjoint
  seeds. The two implementations use different random generators, so they are compared
  as distributions, never draw by draw.
* **Test**: per KPI a two-sided Welch t-test (replication KPIs are sums over thousands of
  accounts, close to normal), Holm–Bonferroni over the whole family (all KPIs of both
  policies) at family-wise α = 0.01. A KPI constant in both samples must be equal.
* **Power**: for each KPI the test prints the smallest difference of means it detects with
  80 % power at the Bonferroni level (the strictest Holm step):
  ``(z_{1−α/2K} + z_{0.8}) · √(s²_eng/n_eng + s²_ref/n_ref)``, as a share of the mean.
  ``python -m pytest tests/validation/test_equivalence.py -s`` shows the table.

The fast configuration runs in CI; ``--runslow`` adds a larger one (more accounts, 90 days,
more replications).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import joblib
import numpy as np
import pytest
from scipy import stats

from collectsim.experiments.simulation import simulate
from collectsim.policies import prepare_policy
from collectsim.scenario import Scenario
from collectsim.validation.reference import ReferenceModel, run_reference

FAMILY_ALPHA = 0.01
POWER = 0.8

#: KPIs compared for both policies (dotted names reach into nested dicts).
KPIS: tuple[str, ...] = (
    "net_value",
    "discounted_collected",
    "discounted_treatment_cost",
    "cured_value",
    "debt_sale_value",
    "residual_value",
    "overdue_recovery_rate",
    "complaints_per_1k_accounts",
    "recovery_rate",
    "cure_rate",
    "chargeoff_rate",
    "net_recovery",
    "treatment_cost",
    "rpc_rate",
    "conversations",
    "ptp_rate",
    "kept_rate",
    "complaints_per_1k_worked",
    "optouts",
    "churn_rate",
    "lost_clv",
    "unworked",
    "contacts.sms",
    "contacts.call",
    "contacts.visit",
    "roll_rates.M1->M2",
    "roll_rates.M2->M3",
    "roll_rates.M4->M5",
)
#: KPIs only one policy exercises.
POLICY_KPIS: dict[str, tuple[str, ...]] = {
    "open-book": ("accounts", "contact_rate", "vintages.month 1.cure_rate", "vintages.month 1.recovery_rate"),
    "seed-champion": (
        "settled_rate",
        "plans.accepted",
        "plans.broken",
        "settlements.accepted",
        "blocked.reg-f-7-after-conversation",
    ),
    "max-legal/cn": (
        "complaints",
        "contacts.ivr",
        "contacts.email",
        "blocked.cn-quiet-22-08",
        "blocked.cn-6-attempts-per-day",
        "blocked.cn-3-connected-per-day",
    ),
    "max-legal": (
        "contacts.ivr",
        "contacts.letter",
        "blocked.reg-f-inconvenient-time",
        "blocked.reg-f-opt-out",
        "blocked.reg-f-7-in-7",
        "blocked.reg-f-7-after-conversation",
        "blocked.x-msg-connects",
        "blocked.x-msg-attempts",
        "blocked.x-call-hours",
    ),
}


US_EXTRA_RULES = [
    {"kind": "max_connects", "name": "x-msg-connects", "channels": ["sms", "ivr"], "max_count": 2, "window_days": 3},
    {"kind": "max_attempts", "name": "x-msg-attempts", "channels": ["sms", "email", "ivr"], "max_count": 4,
     "window_days": 2},
    {"kind": "quiet_hours", "name": "x-call-hours", "channels": ["call"], "start_hour": 10, "end_hour": 20},
]


def equivalence_scenario(accounts: int, days: int, preset: str = "us-reg-f", inflow: float = 0.0) -> Scenario:
    """The small scenario with every mechanism active (see the module docstring); ``inflow``:
    newly delinquent accounts a day (an open book), all entering in M1."""
    segments = [
        s.model_dump() | {"delta11": 12.0, "p_full_payment": s.p_full_payment / 2} for s in Scenario().segments
    ]
    return Scenario.model_validate(
        {
            "segments": segments,
            "portfolio": {
                "accounts": accounts,
                "horizon_days": days,
                "entry_buckets": {"M1": 0.35, "M2": 0.2, "M3": 0.15, "M4": 0.1, "M5": 0.1, "M6": 0.1},
                **({"inflow_per_day": inflow, "inflow_entry_buckets": {"M1": 1.0}} if inflow else {}),
            },
            "shock": {"start_day": 20, "duration_days": 25, "stress_multiplier": 4.0},
            "behaviour": {"complaint_sensitivity": 10.0},
            "channels": {"sms": {"optout_prob": 0.03}},
            "teams": [
                {"name": "phone", "headcount": 2, "minutes_per_day": 200.0},
                {"name": "field", "headcount": 2},
            ],
            "rules": {"preset": preset, "extra": US_EXTRA_RULES if preset == "us-reg-f" else []},
            # both value the open book by a run-off, capped to keep the per-agent reference quick
            "valuation": {"runoff_max_days": 120, "discount_rate_per_year": 0.2},
        }
    )


def _get(kpis: dict, name: str) -> float:
    v = kpis
    for part in name.split("."):
        v = v[part]
    assert v is not None, f"KPI {name} undefined (no events): enlarge the scenario"
    return float(v)


@dataclass
class Row:
    """One KPI's comparison."""

    label: str
    engine: np.ndarray
    reference: np.ndarray
    p: float = 1.0
    detectable: float = 0.0  # smallest detectable difference of means (80 % power), share of the mean
    rejected: bool = False


@dataclass(frozen=True)
class Config:
    """One comparison: a policy under a rule preset, its size and replications."""

    label: str
    policy: str
    preset: str
    accounts: int
    days: int
    reps_ref: int
    reps_engine: int
    inflow: float = 0.0


def _reference_runs(configs: list[Config], seed0: int = 0) -> list[list[dict]]:
    """Every configuration's reference replications, spread over the machine's cores (the
    per-agent model is pure Python: most of the test's time); in configuration and seed order."""
    tasks = [(cfg, seed0 + 100_000 + i) for cfg in configs for i in range(cfg.reps_ref)]
    out = joblib.Parallel(n_jobs=-1, backend="loky")(
        joblib.delayed(run_reference)(equivalence_scenario(c.accounts, c.days, c.preset, c.inflow), c.policy, seed=s)
        for c, s in tasks)
    runs, k = [], 0
    for cfg in configs:
        runs.append(out[k : k + cfg.reps_ref])
        k += cfg.reps_ref
    return runs


def collect(cfg: Config, seed0: int = 0, ref: list[dict] | None = None) -> list[Row]:
    """Run both implementations (the reference's replications may be given, run elsewhere)
    and return one :class:`Row` per KPI."""
    sc = equivalence_scenario(cfg.accounts, cfg.days, cfg.preset, cfg.inflow)
    names = KPIS + POLICY_KPIS[cfg.label]
    eng = [simulate(sc, cfg.policy, seed=seed0 + i, audit=False).kpis for i in range(cfg.reps_engine)]
    if ref is None:
        ref = [run_reference(sc, cfg.policy, seed=seed0 + 100_000 + i) for i in range(cfg.reps_ref)]
    return [
        Row(f"{cfg.label}: {k}", np.array([_get(e, k) for e in eng]), np.array([_get(r, k) for r in ref]))
        for k in names
    ]


def holm(rows: list[Row], alpha: float = FAMILY_ALPHA) -> list[Row]:
    """Welch t-test per row, Holm–Bonferroni over all rows; fills p, detectable, rejected."""
    k = len(rows)
    z = stats.norm.ppf(1 - alpha / (2 * k)) + stats.norm.ppf(POWER)
    for r in rows:
        e, f = r.engine, r.reference
        se = math.sqrt(e.var(ddof=1) / len(e) + f.var(ddof=1) / len(f))
        scale = abs(np.concatenate([e, f]).mean()) or 1.0
        r.detectable = z * se / scale
        if se == 0:  # constant in both samples: must be the same constant
            r.p = 1.0 if e[0] == f[0] else 0.0
        else:
            r.p = float(stats.ttest_ind(e, f, equal_var=False).pvalue)
    for i, r in enumerate(sorted(rows, key=lambda r: r.p)):
        if r.p > alpha / (k - i):
            break
        r.rejected = True
    return rows


def report(rows: list[Row]) -> str:
    """The comparison table (printed with ``pytest -s``)."""
    lines = [f"{'KPI':55s} {'engine':>12s} {'reference':>12s} {'p':>9s} {'detects':>8s}"]
    for r in rows:
        lines.append(
            f"{r.label:55s} {r.engine.mean():12.5g} {r.reference.mean():12.5g} {r.p:9.2g} "
            f"{100 * r.detectable:7.1f}%{'  DIFFERENT' if r.rejected else ''}"
        )
    return "\n".join(lines)


def check(configs: list[Config]) -> list[Row]:
    """Run every configuration; Holm over all KPIs of all of them."""
    rows = []
    for cfg, ref in zip(configs, _reference_runs(configs), strict=True):
        rows += collect(cfg, ref=ref)
    return holm(rows)


FAST = [
    Config("seed-champion", "seed-champion", "us-reg-f", 2000, 60, 14, 28),
    Config("open-book", "seed-champion", "us-reg-f", 500, 50, 8, 16, inflow=15.0),
    Config("max-legal", "max-legal", "us-reg-f", 600, 60, 12, 24),
    Config("max-legal/cn", "max-legal", "cn-gbt-45251", 400, 45, 10, 20),
]
SLOW = [
    Config("seed-champion", "seed-champion", "us-reg-f", 5000, 90, 40, 80),
    Config("open-book", "seed-champion", "us-reg-f", 1500, 120, 30, 60, inflow=40.0),
    Config("max-legal", "max-legal", "us-reg-f", 1500, 90, 30, 60),
    Config("max-legal/cn", "max-legal", "cn-gbt-45251", 1000, 90, 30, 60),
]


def _assert_equivalent(configs) -> None:
    rows = check(configs)
    print("\n" + report(rows))
    bad = [r.label for r in rows if r.rejected]
    assert not bad, f"engine and reference differ (Holm, family α={FAMILY_ALPHA}): {bad}\n{report(rows)}"


def test_engine_and_reference_agree_fast():
    _assert_equivalent(FAST)


@pytest.mark.slow
def test_engine_and_reference_agree_large():
    _assert_equivalent(SLOW)


def test_reference_exercises_every_mechanism_and_conserves_money():
    sc = equivalence_scenario(2000, 60)
    model = ReferenceModel(sc, prepare_policy("seed-champion", sc), seed=7)
    for _ in range(60):
        model.step()
    k = model.kpis()
    for b in model.borrowers:
        assert b.collected + b.discount + b.charged_off + b.balance == b.balance0
    assert k["settlements"]["accepted"] > 0 and k["plans"]["accepted"] > 0 and k["plans"]["broken"] > 0
    assert k["chargeoff_rate"] > 0 and k["cure_rate"] > 0 and k["optouts"] > 0 and k["complaints"] > 0
    assert k["churned"] > 0 and k["unworked"] > 0 and k["blocked"]["reg-f-7-after-conversation"] > 0
    worst = equivalence_scenario(600, 30)
    k = run_reference(worst, "max-legal", seed=3)
    assert all(v > 0 for v in k["blocked"].values()), k["blocked"]
    k = run_reference(equivalence_scenario(400, 30, "cn-gbt-45251"), "max-legal", seed=3)
    assert k["blocked"]["cn-quiet-22-08"] > 0 and k["blocked"]["cn-6-attempts-per-day"] > 0, k["blocked"]


def test_holm_flags_a_shifted_sample_and_passes_identical_ones():
    rng = np.random.default_rng(0)
    same = [Row(f"k{i}", rng.normal(0, 1, 30), rng.normal(0, 1, 15)) for i in range(20)]
    assert not any(r.rejected for r in holm(same))
    shifted = same[:-1] + [Row("shifted", rng.normal(0, 1, 30), rng.normal(2.0, 1, 15))]
    assert [r.label for r in holm(shifted) if r.rejected] == ["shifted"]


class _WeeklyEffort:
    """Half a unit of direct effort to every account in collections every 7th day (a test policy)."""

    def __new__(cls):
        from collectsim.policies import Effort, Policy, Requests

        class WeeklyEffort(Policy):
            name = "weekly-effort"
            applies_effort = True

            def decide(self, obs):
                return Requests()

            def effort(self, obs):
                if obs.day % 7:
                    return Effort()
                acc = obs.active_index
                return Effort(acc, np.full(len(acc), 0.5))

        return WeeklyEffort()


def test_direct_effort_agrees_with_the_reference():
    """Direct effort (docs/model.md §Direct effort) in the published-model preset: the engine and
    the reference apply it alike (λ += δ2·u, cost u·c) — same distributions of the KPIs."""
    from pathlib import Path

    from collectsim.experiments import load_experiment

    root = Path(__file__).resolve().parents[2]
    sc = load_experiment(root / "experiments" / "cgw-2019.toml", accounts=200, days=100).scenario
    names = ("recovery_rate", "discounted_collected", "net_value", "treatment_cost", "effort_units", "effort_cost",
             "discounted_treatment_cost")
    eng = [simulate(sc, _WeeklyEffort(), seed=i, audit=False).kpis for i in range(12)]
    ref = [run_reference(sc, _WeeklyEffort(), seed=200_000 + i) for i in range(6)]
    rows = holm([Row(f"effort: {k}", np.array([_get(e, k) for e in eng]), np.array([_get(r, k) for r in ref]))
                 for k in names])
    print("\n" + report(rows))
    assert not [r.label for r in rows if r.rejected], report(rows)
    # the effort moved collections: more than without it (same seeds, engine)
    none = [simulate(sc, "no-contact", seed=i, audit=False).kpis["recovery_rate"] for i in range(12)]
    assert np.mean([e["recovery_rate"] for e in eng]) > np.mean(none) + 0.05
