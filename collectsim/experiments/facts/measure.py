"""The runs behind the stylized-facts scorecard, and what each one measures.

One replication (one seed) of the scorecard is five runs of the experiment's book, all on
the same seed so that the effects are paired on common random numbers:

``book``
    the experiment as it is, under its own policy, for at least the charge-off DPD + 30
    days (so that accounts reaching 31 DPD are followed to their charge-off): roll rates,
    contact and right-party rates of agent calls, charge-off by tier, the charged-off share
    of 30+ DPD balances, complaints.
``open``
    the same book as an open portfolio (``[open_book]`` of ``facts.toml``: a daily inflow of
    newly delinquent accounts; an experiment that is already open runs as it is): dials
    per collector per day over the steady-state window.
``m1-none``, ``m1-sms``, ``m1-calls``
    the book's accounts all entering in M1, for ``[m1_book].horizon_days``, under no
    contact, sms-only and the scorecard's calls policy: on-time repayment and the effect of
    a conversation, account by account against the same account without contact.

Each measurement is a function of the runs of one seed (:data:`MEASURES`); the scorecard
averages it over seeds (:mod:`collectsim.experiments.facts.scoring`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collectsim.experiments.simulation import simulate
from collectsim.model import CollectionsModel
from collectsim.policies import RuleTablePolicy, prepare_policy
from collectsim.results import compute_kpis
from collectsim.scenario import Scenario
from collectsim.vocabulary.accounts import CHARGED_OFF, GOOD_ENDINGS
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["RUNS", "MEASURES", "NEEDS", "RunOutcome", "variant_scenario", "run_variant", "run_one", "runs_needed", "measure_all"]

#: The runs of one replication, in the order they are listed in facts.json.
RUNS: tuple[str, ...] = ("book", "open", "m1-none", "m1-sms", "m1-calls")
CALL = CHANNELS.index("call")
DPD_30_PLUS = 31  # the first day past due of M2: "30+ days delinquent"


@dataclass
class RunOutcome:
    """What one run keeps for the measurements: KPIs and per-account arrays by account number."""

    kpis: dict
    days: int
    tier_names: tuple[str, ...]
    tier: np.ndarray            # by account number
    status: np.ndarray          # final status by account number
    resolved_day: np.ndarray    # day the account left collections (−1: still in)
    charged_off: np.ndarray     # charged-off balance (cents)
    reached_30: np.ndarray      # day the account first was 31+ DPD (−1: never)
    balance_30: np.ndarray      # its balance (cents) that day
    dpd_30: np.ndarray          # its DPD that day (31, or more for an account entering later)
    chargeoff_dpd: int          # the DPD at which an unpaid account is charged off (0: never)
    rpc_call_day: np.ndarray    # first day of a right-party agent call (−1: none)


def _portfolio(s: Scenario, **changes) -> Scenario:
    data = s.model_dump(mode="json", exclude_none=True)
    data["portfolio"].update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        data["portfolio"].pop(key, None)
    return Scenario.model_validate(data)


def variant_scenario(scenario: Scenario, run: str, settings: dict) -> Scenario:
    """The scenario of run ``run`` (one of :data:`RUNS`) for an experiment's ``scenario``.

    ``settings`` are the ``[open_book]`` and ``[m1_book]`` tables of ``facts.toml``.
    """
    pf = scenario.portfolio
    if run == "book":
        days = max(pf.horizon_days, pf.resolved_chargeoff_dpd + 30)
        return scenario if days == pf.horizon_days or pf.inflow else _portfolio(scenario, horizon_days=days)
    if run == "open":
        if pf.inflow:
            return scenario
        return _portfolio(scenario, **settings["open_book"])
    return _portfolio(
        scenario, entry_buckets={"M1": 1.0}, entry_dpd=None, inflow_per_day=None, inflow_rate_per_day=None,
        inflow_entry_buckets=None, steady_state_from_day=None, **settings["m1_book"],
    )


def _by_account(pop, values: np.ndarray, fill) -> np.ndarray:
    out = np.full(pop.n, fill, dtype=values.dtype)
    out[pop.account_id] = values
    return out


def run_variant(scenario: Scenario, policy, seed: int) -> RunOutcome:
    """Run one variant to its horizon and keep what the measurements need.

    Besides the KPIs it follows, day by day, when each account first is 31+ days past due
    and its balance then (the denominator of the charged-off share of 30+ DPD balances).
    """
    pol = prepare_policy(policy, scenario)
    model = CollectionsModel(scenario, pol, seed=seed, log_contacts=True)
    pop = model.borrowers
    n = pop.n
    reached = np.full(n, -1, dtype=np.int32)
    balance_30 = np.zeros(n, dtype=np.int64)
    dpd_30 = np.zeros(n, dtype=np.int32)
    days = scenario.portfolio.horizon_days
    for day in range(days):
        model.step()
        act = pop.active_idx  # the accounts in collections (the book shrinks: not the whole population)
        new = act[(pop.entry_day[act] <= day) & (pop.dpd[act] >= DPD_30_PLUS) & (reached[pop.account_id[act]] < 0)]
        if len(new):
            ids = pop.account_id[new]
            reached[ids] = day
            balance_30[ids] = pop.balance[new]
            dpd_30[ids] = pop.dpd[new]
    # an account charged off before it is seen at 31+ DPD (a charge-off DPD ≤ 31, or a bankruptcy
    # notice: docs/model.md §3.4) counts as reaching it the day it is charged off, with its
    # charged-off balance (a bankrupt account stops paying and would pass 30 DPD before the
    # lender's charge-off, within 60 days of the notice)
    co = pop.status == CHARGED_OFF
    late = co & (reached[pop.account_id] < 0)
    reached[pop.account_id[late]] = pop.resolved_day[late]
    balance_30[pop.account_id[late]] = pop.charged_off[late]
    dpd_30[pop.account_id[late]] = scenario.portfolio.resolved_chargeoff_dpd
    kpis, _ = compute_kpis(model)
    log = model.contact_log()
    rpc_call_day = np.full(n, -1, dtype=np.int32)
    calls = log[(log["channel"] == "call") & log["reached"].astype(bool)]
    if len(calls):
        first = calls.groupby("account", observed=True)["day"].min()
        rpc_call_day[first.index.to_numpy()] = first.to_numpy()
    out = RunOutcome(
        kpis=kpis,
        days=days,
        tier_names=tuple(pop.tier_names),
        tier=_by_account(pop, pop.tier, -1),
        status=_by_account(pop, pop.status, -1),
        resolved_day=_by_account(pop, pop.resolved_day.astype(np.int32), -1),
        charged_off=_by_account(pop, pop.charged_off, 0),
        reached_30=reached,
        balance_30=balance_30,
        dpd_30=dpd_30,
        chargeoff_dpd=scenario.portfolio.resolved_chargeoff_dpd,
        rpc_call_day=rpc_call_day,
    )
    model.remove_all_agents()
    return out


def run_open(scenario: Scenario, policy, seed: int) -> dict:
    """The open-book run: only its steady-state KPIs are needed (no per-account arrays)."""
    result = simulate(scenario, policy, seed, audit=False, value=False)
    return result.kpis["steady_state"]


# ----------------------------------------------------------------- the measurements -------
def _roll(out: dict[str, RunOutcome], key: str) -> float | None:
    return out["book"].kpis["roll_rates"].get(key)


def roll_m1_m2(out: dict[str, RunOutcome]) -> float | None:
    """M1→M2 roll rate of the book run."""
    return _roll(out, "M1->M2")


def roll_step(out: dict[str, RunOutcome]) -> float | None:
    """The smallest rise between consecutive roll rates M1→M2 … M5→M6 of the book run."""
    rolls = [_roll(out, f"M{k}->M{k + 1}") for k in range(1, 6)]
    if any(r is None for r in rolls):
        return None
    return float(min(b - a for a, b in zip(rolls, rolls[1:], strict=False)))


def call_contact_rate(out: dict[str, RunOutcome]) -> float | None:
    """Connected agent calls / agent call attempts, book run."""
    return out["book"].kpis["contact_rates"]["call"]


def call_rpc_rate(out: dict[str, RunOutcome]) -> float | None:
    """Right-party agent calls / agent call attempts, book run."""
    return out["book"].kpis["rpc_rates"]["call"]


def dials_per_collector_day(out: dict) -> float | None:
    """Agent call attempts per phone collector per day over the open book's steady state."""
    return out["open"]["dials_per_collector_day"]


def _on_time(r: RunOutcome) -> np.ndarray:
    """Repaid (a good ending) before first reaching 31 DPD."""
    good = np.isin(r.status, GOOD_ENDINGS)
    return good & ((r.reached_30 < 0) | (r.resolved_day < r.reached_30))


def sms_lift(out: dict[str, RunOutcome]) -> float | None:
    """Relative rise of on-time repayment of M1 entrants under sms-only against no contact."""
    base = _on_time(out["m1-none"]).mean()
    return float(_on_time(out["m1-sms"]).mean() / base - 1.0) if base > 0 else None


def conversation_effect(out: dict[str, RunOutcome], window: int = 14, within: int = 42) -> float | None:
    """Repaid within ``within`` days, among accounts with a right-party call in their first
    ``window`` days under the calls policy, minus the same accounts without contact."""
    calls, none = out["m1-calls"], out["m1-none"]
    treated = (calls.rpc_call_day >= 0) & (calls.rpc_call_day < window)
    if not treated.any():
        return None

    def repaid(r: RunOutcome) -> np.ndarray:
        return np.isin(r.status, GOOD_ENDINGS) & (r.resolved_day >= 0) & (r.resolved_day < within)

    return float(repaid(calls)[treated].mean() - repaid(none)[treated].mean())


def chargeoff_spread(out: dict[str, RunOutcome]) -> float | None:
    """Charged-off share of the highest-risk tier / that of the lowest-risk tier (book run).

    Tiers are cut from the score in increasing order, so the first tier is the riskiest.
    """
    r = out["book"]
    co = r.status == CHARGED_OFF
    shares = [co[r.tier == k].mean() if (r.tier == k).any() else np.nan for k in range(len(r.tier_names))]
    high, low = shares[0], shares[-1]
    if not np.isfinite(high) or not np.isfinite(low) or low <= 0:
        return None
    return float(high / low)


#: The share of card balances that becomes 30+ days delinquent in a year (NY Fed, primer §5).
DELINQUENCY_TRANSITION_PER_YEAR = 0.087


def annual_chargeoff_rate(out: dict[str, RunOutcome]) -> float | None:
    """8.7 % × charged-off balance of accounts that reached 31 DPD / their balance then.

    "Eventually charged off" needs the whole follow-up: only accounts that reached 31+ DPD
    early enough to reach the charge-off DPD within the run (day reached + charge-off DPD −
    DPD then < days) are counted; later ones could not be charged off yet, and counting them
    would bias the share down (right-censoring). None without a charge-off DPD.
    """
    r = out["book"]
    if r.chargeoff_dpd <= 0:
        return None
    hit = (r.reached_30 >= 0) & (r.reached_30 + (r.chargeoff_dpd - r.dpd_30) < r.days)
    den = r.balance_30[hit].sum()
    if den <= 0:
        return None
    return float(DELINQUENCY_TRANSITION_PER_YEAR * r.charged_off[hit].sum() / den)


def complaints_per_1k_year(out: dict[str, RunOutcome]) -> float | None:
    """Complaints per 1,000 worked accounts, scaled to a year, book run."""
    r = out["book"]
    v = r.kpis.get("complaints_per_1k_worked")
    return None if v is None else float(v) * 365.0 / r.days


#: measurement name (``measure`` in facts.toml) -> function of one seed's runs
MEASURES = {
    f.__name__: f
    for f in (roll_m1_m2, roll_step, call_contact_rate, call_rpc_rate, dials_per_collector_day, sms_lift,
              conversation_effect, chargeoff_spread, annual_chargeoff_rate, complaints_per_1k_year)
}


def run_one(scenario: Scenario, run: str, policy, seed: int, settings: dict, calls_policy: dict):
    """One run of one replication (a picklable unit of work for joblib)."""
    s = variant_scenario(scenario, run, settings)
    if run == "open":
        return run_open(s, policy, seed)
    pol = {"book": policy, "m1-none": "no-contact", "m1-sms": "sms-only",
           "m1-calls": RuleTablePolicy(calls_policy)}[run]
    return run_variant(s, pol, seed)


#: measurement name -> the runs it reads (a scorecard of some facts runs only what they need)
NEEDS: dict[str, tuple[str, ...]] = {
    "roll_m1_m2": ("book",), "roll_step": ("book",), "call_contact_rate": ("book",), "call_rpc_rate": ("book",),
    "dials_per_collector_day": ("open",), "sms_lift": ("m1-none", "m1-sms"),
    "conversation_effect": ("m1-none", "m1-calls"), "chargeoff_spread": ("book",),
    "annual_chargeoff_rate": ("book",), "complaints_per_1k_year": ("book",),
}


def runs_needed(measures: list[str]) -> tuple[str, ...]:
    """The runs (in :data:`RUNS` order) that the named measurements read."""
    wanted = {r for m in measures for r in NEEDS[m]}
    return tuple(r for r in RUNS if r in wanted)


def measure_all(outs: dict, measures: list[str] | None = None) -> dict[str, float | None]:
    """The named measurements (default: all) of one replication's runs."""
    return {name: MEASURES[name](outs) for name in (measures or list(MEASURES))}
