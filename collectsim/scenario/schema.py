"""The scenario: a validated, documented description of a delinquent portfolio.

A scenario holds everything the model needs and nothing about the policy or the run:
the portfolio (accounts, product, balances, entry DPD), latent behaviour per segment,
regimes and shocks, the risk score and its tiers, channels, collector teams, the contact
rule set and costs. Every field has a default, bounds and a description; where a default
comes from evidence the description names the source (``../shared/domain/primer.md``
sections are cited as "primer §n"). ``docs/model.md`` gives the equations that use them.

Units: money in currency units (stored internally as integer cents), time in days,
intensities (repayment rates) **per year**, as in Chehrazi, Glynn & Weber (2019).
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, field_validator, model_validator

from collectsim.scenario.base import Strict, probability
from collectsim.scenario.channels import ChannelSpec, default_channels
from collectsim.scenario.rules import RuleSet
from collectsim.vocabulary.accounts import BUCKETS
from collectsim.vocabulary.channels import CHANNELS

__all__ = [
    "Scenario",
    "Portfolio",
    "Segment",
    "Regimes",
    "Shock",
    "Scoring",
    "Team",
    "Behaviour",
    "Costs",
    "Valuation",
    "MAX_DAYS",
    "PRODUCT_CHARGEOFF_DPD",
    "config_hash",
]

#: The longest run, horizon and run-off together (the engine keeps days in 16-bit counters).
MAX_DAYS = 32_000
#: Charge-off DPD by product (US FFIEC Uniform Retail Credit Classification, primer §1);
#: ``recovery`` is post-charge-off debt that is never charged off again.
PRODUCT_CHARGEOFF_DPD: dict[str, int] = {"card": 180, "instalment": 120, "recovery": 0}


class Portfolio(Strict):
    """The book of delinquent accounts: the stock entering collections on day 0 and, for an
    open book, the newly delinquent accounts entering every day after."""

    accounts: int = Field(
        100_000, ge=1, le=50_000_000, description="Number of delinquent accounts."
    )
    product: Literal["card", "instalment", "recovery"] = Field(
        "card",
        description=(
            "card: open-end, charged off at 180 DPD; instalment: closed-end, charged off at "
            "120 DPD (FFIEC, primer §1); recovery: charged-off debt, the whole balance is "
            "due and is never charged off again (the setting of Chehrazi et al. 2019)."
        ),
    )
    chargeoff_dpd: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="Override of the product's charge-off DPD (None: 180 card, 120 instalment).",
    )
    monthly_due_fraction: float = Field(
        0.05,
        gt=0.0,
        le=1.0,
        description=(
            "The monthly instalment (minimum due) as a fraction of the balance at entry; a new "
            "instalment falls due every 30 days past due. Ignored for product 'recovery'."
        ),
    )
    entry_buckets: dict[str, float] = Field(
        default_factory=lambda: {"M1": 0.70, "M2": 0.18, "M3": 0.12},
        description=(
            "Share of accounts entering in each DPD bucket (M1..M6); DPD is uniform within the "
            "bucket. Default: mostly early delinquency; about one in five M1 accounts rolls "
            "(primer §1)."
        ),
    )
    entry_dpd: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="If set, every account enters at exactly this DPD (overrides entry_buckets).",
    )
    entry_selection: Literal["survivors", "none"] = Field(
        "survivors",
        description=(
            "survivors: the segments describe accounts as they become delinquent, and an account "
            "entering at DPD d is one that went d − 1 days without clearing its arrears, so later "
            "buckets hold the accounts that pay least (docs/model.md §1.1); none: every account's "
            "traits follow the segments whatever its DPD. Ignored for product 'recovery'."
        ),
    )
    horizon_days: int = Field(180, ge=1, le=3650, description="Days simulated.")
    inflow_per_day: float | None = Field(
        None,
        ge=0.0,
        le=1_000_000.0,
        description=(
            "Open book: newly delinquent accounts entering collections each day after day 0 (a "
            "fraction accumulates: 2.5 gives 2, 3, 2, 3, ...). None with inflow_rate_per_day None: a "
            "closed cohort (the default)."
        ),
    )
    inflow_rate_per_day: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Open book: daily inflow as a share of the opening stock (`accounts`); the alternative to inflow_per_day.",
    )
    inflow_entry_buckets: dict[str, float] | None = Field(
        None,
        description="DPD buckets newly delinquent accounts enter in (None: drawn as for the opening book).",
    )
    steady_state_from_day: int | None = Field(
        None,
        ge=0,
        le=3649,
        description=(
            "First day of the steady-state window: kpis['steady_state'] averages the daily flows (stock, "
            "inflow, exits, dials per collector, contact rates) over it (None: no window)."
        ),
    )

    @model_validator(mode="after")
    def _inflow(self) -> Portfolio:
        if self.inflow_per_day is not None and self.inflow_rate_per_day is not None:
            raise ValueError("give inflow_per_day or inflow_rate_per_day, not both")
        if self.steady_state_from_day is not None and self.steady_state_from_day >= self.horizon_days:
            raise ValueError(
                f"steady_state_from_day ({self.steady_state_from_day}) must be before horizon_days ({self.horizon_days})"
            )
        if self.total_accounts > 50_000_000:
            raise ValueError(f"the book would hold {self.total_accounts:,} accounts with its inflow; at most 50,000,000")
        return self

    @property
    def inflow(self) -> float:
        """Newly delinquent accounts per day (0 for a closed cohort)."""
        if self.inflow_per_day is not None:
            return self.inflow_per_day
        if self.inflow_rate_per_day is not None:
            return self.inflow_rate_per_day * self.accounts
        return 0.0

    def entries(self) -> list[int]:
        """Accounts entering on each day 0 .. horizon − 1 (day 0: the opening stock)."""
        r = self.inflow
        return [self.accounts] + [int(d * r + 1e-9) - int((d - 1) * r + 1e-9) for d in range(1, self.horizon_days)]

    @property
    def total_accounts(self) -> int:
        """Every account of the run: the opening stock and the inflow of the horizon."""
        return self.accounts + int((self.horizon_days - 1) * self.inflow + 1e-9)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: object) -> object:
        if isinstance(data, dict) and "discount_rate_per_year" in data:
            raise ValueError("discount_rate_per_year moved to the [valuation] table (valuation.discount_rate_per_year)")
        return data

    @field_validator("entry_buckets", "inflow_entry_buckets")
    @classmethod
    def _check_buckets(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        for k, share in v.items():
            if k not in BUCKETS:
                raise ValueError(f"unknown bucket {k!r}; allowed: {', '.join(BUCKETS)}")
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"share of {k} must be in [0, 1], got {share}")
        total = sum(v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {total:.6g}")
        return v

    @property
    def resolved_chargeoff_dpd(self) -> int:
        """Charge-off DPD after the product default and override (0 = never)."""
        if self.chargeoff_dpd is not None:
            return self.chargeoff_dpd
        return PRODUCT_CHARGEOFF_DPD[self.product]


class Segment(Strict):
    """A latent customer segment: how its members repay, respond and react.

    Segments are latent (the policy never sees them); the policy sees risk *tiers* built
    from a noisy score (:class:`Scoring`).
    """

    name: str = Field(..., min_length=1, description="Segment name.")
    share: float = Field(..., ge=0.0, le=1.0, description="Share of accounts.")
    balance_mean: float = Field(
        2500.0, gt=0.0, le=1e7, description="Mean balance at entry (lognormal), currency units."
    )
    balance_sigma: float = Field(
        0.6, ge=0.0, le=3.0, description="Log-sd of the balance (0: every balance is the mean)."
    )
    # --- self-exciting repayment intensity (Chehrazi, Glynn & Weber 2019; primer §6) ---
    lambda_inf_per_year: float = Field(
        6.0,
        ge=0.0,
        le=1000.0,
        description=(
            "Baseline repayment intensity λ∞ (repayments per year) toward which λ relaxes. "
            "CGW 2019 use 0.1 for charged-off debt; early delinquency repays far faster."
        ),
    )
    lambda_sigma: float = Field(
        0.5, ge=0.0, le=3.0, description="Log-sd of λ∞ across accounts (latent heterogeneity)."
    )
    lambda0_per_year: float | None = Field(
        None,
        ge=0.0,
        le=1000.0,
        description="Starting intensity λ0 (None: equal to the account's λ∞).",
    )
    kappa_per_year: float = Field(
        12.0, gt=0.0, le=1000.0, description="Speed κ at which λ relaxes to λ∞ (per year)."
    )
    delta10: float = Field(
        1.0, ge=0.0, le=1000.0, description="Jump δ10 of λ after any repayment (per year)."
    )
    delta11: float = Field(
        4.0,
        ge=0.0,
        le=1000.0,
        description="Jump δ11·R of λ after a repayment of fraction R (per year).",
    )
    delta2: float = Field(
        6.0,
        ge=0.0,
        le=1000.0,
        description=(
            "Jump δ2 of λ per unit of effective collection effort (per year); a channel's "
            "'effect' says how many units one reached contact is."
        ),
    )
    r_min: float = Field(
        0.2, gt=0.0, le=1.0, description="Partial repayments pay R ~ Uniform[r_min, r_max] of what is due."
    )
    r_max: float = Field(1.0, gt=0.0, le=1.0, description="Upper end of R.")
    p_full_payment: float = probability(
        "Probability that a repayment pays everything due (cures the account).", 0.5
    )
    # --- willingness, regimes ---
    willingness_mean: float = probability(
        "Mean latent willingness to pay (Beta distributed); scales contact effect and promises.",
        0.6,
    )
    willingness_sd: float = Field(
        0.2, ge=0.0, lt=0.5, description="Sd of willingness (0: everyone has the mean)."
    )
    regime_shares: list[float] = Field(
        default_factory=lambda: [0.75, 0.2, 0.05],
        min_length=3,
        max_length=3,
        description="Initial shares of the ability regimes [stable, stressed, hardship].",
    )
    reachability_sigma: float = Field(
        0.5, ge=0.0, le=3.0, description="Log-sd of the account's reachability multiplier."
    )
    # --- churn and value ---
    clv: float = Field(
        400.0,
        ge=0.0,
        le=1e7,
        description="Customer lifetime value lost when a resolved good customer leaves.",
    )
    churn_base: float = probability(
        "Probability that a resolved customer leaves even without irritation.", 0.05
    )
    churn_irritation: float = probability(
        "Extra leaving probability at saturated irritation (primer §4: 63% felt over-contacted).",
        0.35,
    )

    @model_validator(mode="after")
    def _check(self) -> Segment:
        if self.r_min > self.r_max:
            raise ValueError(f"r_min ({self.r_min}) must be <= r_max ({self.r_max})")
        if abs(sum(self.regime_shares) - 1.0) > 1e-6:
            raise ValueError(f"regime_shares must sum to 1, got {self.regime_shares}")
        m, s = self.willingness_mean, self.willingness_sd
        if s > 0 and s * s >= m * (1 - m):
            raise ValueError(
                f"willingness_sd ({s}) too large for mean {m}: need sd² < mean·(1−mean)"
            )
        return self


def _default_segments() -> list[Segment]:
    # Fitted so that the default book passes the stylized facts of collectsim/experiments/facts
    # (docs/facts.md; fitting procedure and values: docs/model.md §1.2).
    return [
        Segment(
            name="prime",
            share=0.7423,
            balance_mean=2000.0,
            lambda_inf_per_year=339.0,
            lambda_sigma=0.551,
            p_full_payment=0.858,
            willingness_mean=0.75,
            regime_shares=[0.912, 0.08, 0.008],
            clv=600.0,
        ),
        Segment(
            name="near_prime",
            share=0.2311,
            balance_mean=2800.0,
            lambda_inf_per_year=72.0,
            lambda_sigma=0.551,
            p_full_payment=0.622,
            willingness_mean=0.55,
            regime_shares=[0.9413, 0.0487, 0.01],
            clv=350.0,
        ),
        Segment(
            name="subprime",
            share=0.0266,
            balance_mean=3500.0,
            lambda_inf_per_year=9.0,
            lambda_sigma=0.551,
            p_full_payment=0.661,
            willingness_mean=0.35,
            regime_shares=[0.44, 0.3271, 0.2329],
            clv=150.0,
        ),
    ]


class Regimes(Strict):
    """Latent ability to pay as a Markov chain over [stable, stressed, hardship]."""

    ability: list[float] = Field(
        default_factory=lambda: [1.0, 0.434, 0.0033],
        min_length=3,
        max_length=3,
        description="Multiplier of λ∞ and of plan/promise keeping in each regime.",
    )
    monthly_transitions: list[list[float]] = Field(
        default_factory=lambda: [
            [0.94, 0.05, 0.01],
            [0.18, 0.74, 0.08],
            [0.0038, 0.0112, 0.985],
        ],
        description=(
            "Row-stochastic 3×3 matrix of 30-day transition probabilities; converted to a "
            "daily chain by the matrix 30th root (docs/model.md)."
        ),
    )
    bankruptcy_per_year: list[float] = Field(
        default_factory=lambda: [0.0, 2.0, 2.0],
        min_length=3,
        max_length=3,
        description=(
            "Hazard (per year) of a bankruptcy notice on an account in collections, in each regime "
            "[stable, stressed, hardship]; the account is charged off that day, whatever its DPD "
            "(FFIEC Uniform Retail Credit Classification Policy, 2000: charge off within 60 days of "
            "the notice; docs/model.md §3.4). Each in [0, 12]; 0: charge-off only at the charge-off DPD. "
            "Ignored for product 'recovery'. The defaults are fitted (docs/model.md §1.2)."
        ),
    )

    @field_validator("bankruptcy_per_year")
    @classmethod
    def _hazard(cls, v: list[float]) -> list[float]:
        if any(not 0.0 <= h <= 12.0 for h in v):
            raise ValueError(f"each hazard must be in [0, 12] a year, got {v}")
        return v

    @field_validator("ability")
    @classmethod
    def _ability(cls, v: list[float]) -> list[float]:
        if any(not 0.0 <= a <= 10.0 for a in v):
            raise ValueError(f"each ability must be in [0, 10], got {v}")
        return v

    @field_validator("monthly_transitions")
    @classmethod
    def _stochastic(cls, v: list[list[float]]) -> list[list[float]]:
        if len(v) != 3 or any(len(row) != 3 for row in v):
            raise ValueError("must be a 3×3 matrix")
        for row in v:
            if any(p < 0 or p > 1 for p in row) or abs(sum(row) - 1.0) > 1e-6:
                raise ValueError(f"each row must be probabilities summing to 1, got {row}")
        return v


class Shock(Strict):
    """A portfolio-wide economic shock (e.g. an unemployment spike) from a given day."""

    start_day: int = Field(60, ge=0, le=3650, description="First day of the shock.")
    duration_days: int = Field(
        0, ge=0, le=3650, description="Length of the shock in days (0: lasts to the end)."
    )
    stress_multiplier: float = Field(
        3.0,
        ge=0.0,
        le=100.0,
        description="Multiplier of the daily probabilities of moving to a worse regime.",
    )


class Scoring(Strict):
    """The observable risk score and the tiers cut from it (seed.md step 1)."""

    noise_sd: float = Field(
        2.56,
        ge=0.0,
        le=10.0,
        description="Sd of the noise on the logit of the latent 30-day payment propensity.",
    )
    tier_names: list[str] = Field(
        default_factory=lambda: ["high", "medium", "low"],
        min_length=1,
        max_length=8,
        description="Risk tier names from riskiest (lowest score) to safest.",
    )
    tier_cutoffs: list[float] = Field(
        default_factory=lambda: [0.25, 0.5],
        description="Ascending score cut-offs in (0, 1); one fewer than tier_names.",
    )
    rescore_every_days: int = Field(
        0,
        ge=0,
        le=365,
        description=(
            "Behavioural re-scoring: every this many days the score of each account in collections for at least "
            "that long is recomputed from its entry score and its observed behaviour, and its tier cut again "
            "(docs/model.md section 2); 0 = off (the score is assigned once at entry)."
        ),
    )
    rescore_paid: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="Re-scoring weight (logit units): + this if the account paid in the last period, - this if not.",
    )
    rescore_broken_promise: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="Re-scoring weight (logit units) subtracted per promise the account has broken so far.",
    )
    rescore_answered: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description=(
            "Re-scoring weight (logit units) times (2 x share of the contacts made to the account that were "
            "answered - 1); nothing for an account never contacted."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> Scoring:
        if len(self.tier_cutoffs) != len(self.tier_names) - 1:
            raise ValueError(
                f"tier_cutoffs needs {len(self.tier_names) - 1} values for "
                f"{len(self.tier_names)} tiers, got {len(self.tier_cutoffs)}"
            )
        if any(not 0 < c < 1 for c in self.tier_cutoffs) or sorted(self.tier_cutoffs) != list(
            self.tier_cutoffs
        ):
            raise ValueError(f"tier_cutoffs must be ascending in (0, 1), got {self.tier_cutoffs}")
        if len(set(self.tier_names)) != len(self.tier_names):
            raise ValueError(f"tier_names must be distinct, got {self.tier_names}")
        return self


class Team(Strict):
    """A team of collectors (Mesa agents) that works one or more agent channels."""

    name: str = Field(..., min_length=1, description="Team name, referenced by channels.")
    headcount: int | None = Field(
        None, ge=0, le=1_000_000, description="Number of collectors (fixed, whatever the portfolio size; takes precedence)."
    )
    headcount_per_100k: float | None = Field(
        None,
        ge=0.0,
        le=1e6,
        description=(
            "Collectors per 100,000 accounts (used when headcount is not set): the team scales "
            "with the portfolio, rounded, at least 1 when positive."
        ),
    )
    minutes_per_day: float = Field(
        420.0, ge=0.0, le=1440.0, description="Working minutes per collector per day."
    )
    skill_mean: float = Field(
        1.0, gt=0.0, le=5.0, description="Mean skill: multiplies the effect of a conversation."
    )
    skill_sd: float = Field(0.15, ge=0.0, le=2.0, description="Sd of skill across collectors.")
    cost_per_day: float = Field(
        180.0, ge=0.0, le=1e5, description="Cost of one collector for one working day."
    )

    @model_validator(mode="after")
    def _size(self) -> Team:
        if self.headcount is None and self.headcount_per_100k is None:
            raise ValueError(f"team {self.name!r}: set headcount or headcount_per_100k")
        return self

    def resolved_headcount(self, accounts: int) -> int:
        """Collectors in the team for a portfolio of ``accounts``."""
        if self.headcount is not None:
            return self.headcount
        x = self.headcount_per_100k * accounts / 100_000
        return max(1, round(x)) if x > 0 else 0


def _default_teams() -> list[Team]:
    return [
        Team(name="phone", headcount_per_100k=60, minutes_per_day=420.0, cost_per_day=180.0),
        Team(name="field", headcount_per_100k=6, minutes_per_day=420.0, cost_per_day=220.0),
    ]


class Behaviour(Strict):
    """Portfolio-wide behavioural response parameters (docs/model.md §Responses)."""

    ptp_accept: float = probability(
        "Probability × willingness that a right-party conversation yields a promise to pay.", 0.726
    )
    ptp_days_max: int = Field(7, ge=1, le=60, description="Promise dates are 1..this many days ahead.")
    ptp_keep: float = probability(
        "Probability × ability × (0.5+0.5·willingness) that a promise is kept.", 0.8
    )
    plan_accept: float = probability(
        "Probability × willingness × √ability that an instalment plan offer is accepted.", 0.418
    )
    plan_affordability: float = Field(
        0.25,
        ge=0.0,
        le=5.0,
        description=(
            "Exponent γ of a plan's affordability: a plan of m' a month against the account's usual "
            "instalment m is accepted and each instalment kept with probability × min(1, m/m')^γ, so "
            "shorter plans with larger payments are harder to take and to keep (FCA CONC 7.3: "
            "forbearance means longer terms, no unreasonably large or fast payments; primer §3). "
            "0: plan length does not matter. The default is an assumption (docs/model.md §4.3)."
        ),
    )
    plan_keep: float = probability(
        "Probability × ability^0.5 that a plan instalment is paid on its due day.", 0.92
    )
    reage_after_payments: int = Field(
        3, ge=1, le=24, description="Kept plan instalments after which the account is re-aged (cured)."
    )
    settle_accept: float = probability(
        "Maximum probability × ability that a settlement offer is accepted.", 0.6
    )
    settle_half_discount: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="Discount at which settlement acceptance reaches half its maximum.",
    )
    irritation_half_life_days: float = Field(
        10.0, gt=0.0, le=365.0, description="Half-life of contact irritation (fatigue)."
    )
    backlash_irritation: float | None = Field(
        6.0,
        gt=0.0,
        le=1000.0,
        description=(
            "Irritation I_b past which contact backfires: a right-party contact's effort is scaled by "
            "(1 − I/I_b), negative beyond I_b (over-contact hurts; negative reciprocity, primer §4). "
            "None: contact never backfires. The default is an assumption (docs/model.md §5.2): about "
            "six calls a week for weeks on end."
        ),
    )
    effect_half_life_dpd: float | None = Field(
        140.0,
        ge=0.0,
        le=3650.0,
        description=(
            "Days past due over which the effect of a right-party contact halves: the effort jump of "
            "an account d days past due is × 2^(−(d−1)/h), so collection works less the longer the "
            "account is in arrears (docs/model.md §5.2). 0 or None: the effect does not fade. Ignored for "
            "product 'recovery'. The default is fitted (docs/model.md §1.2)."
        ),
    )
    answer_fatigue: float = Field(
        0.15, ge=0.0, le=10.0,
        description="The right-party share of connects falls by exp(−answer_fatigue × irritation).",
    )
    complaint_base: float = Field(
        1e-4, ge=0.0, le=1.0, description="Complaint probability of a weight-1 contact at zero irritation."
    )
    complaint_irritation: float = Field(
        0.25, ge=0.0, le=10.0, description="Complaint risk grows by (1 + complaint_irritation × irritation)."
    )
    complaint_out_of_hours: float = Field(
        4.0,
        ge=1.0,
        le=100.0,
        description="Complaint multiplier before 08:00 or from 21:00 (primer §4: 36% called then).",
    )
    complaint_after_optout: float = Field(
        5.0, ge=1.0, le=100.0, description="Complaint multiplier for a contact on an opted-out channel."
    )
    complaint_sensitivity: float = Field(
        1.0, ge=0.0, le=100.0, description="Portfolio-wide multiplier of complaint risk (stress tests)."
    )
    optout_irritation: float = Field(
        0.3, ge=0.0, le=10.0, description="Opt-out probability grows by exp(optout_irritation × irritation)."
    )
    churn_irritation_scale: float = Field(
        3.0, gt=0.0, le=1000.0, description="Peak irritation at which churn reaches 63% of its irritation part."
    )


class Costs(Strict):
    """Costs not tied to one contact."""

    settlement_discount_counts_as_cost: bool = Field(
        True,
        description="net_recovery subtracts settlement discounts given (primer §2 definition).",
    )
    effort_cost_per_unit: float | None = Field(
        None,
        ge=0.0,
        le=1e9,
        allow_inf_nan=False,
        description=(
            "Cost (currency units) of one unit of direct collection effort, the continuous effort "
            "of Chehrazi, Glynn & Weber (2019, primer §6: c = 6): each unit raises the repayment "
            "intensity by the segment's delta2, with no contact. Unset: direct effort is not "
            "available and a policy that applies it is refused (docs/model.md §Direct effort)."
        ),
    )


class Valuation(Strict):
    """How a result is valued (docs/model.md §Valuation): discount rate, cured and charged-off rates, run-off.

    The rates value cured and charged-off balances and discount every cash flow; the run-off
    values the accounts still in collections at the horizon.
    """

    discount_rate_per_year: float = Field(
        0.06,
        ge=0.0,
        le=1.0,
        description=(
            "Continuous discount rate per year of every cash flow (0: none). Default: the 6 % a "
            "year of Chehrazi, Glynn & Weber (2019), primer §6."
        ),
    )
    performing_value_rate: float = Field(
        0.8,
        ge=0.0,
        le=1.5,
        description=(
            "Value of a cured account's outstanding balance per unit: it is a performing loan "
            "again, worth par less its expected re-default loss. Default 0.8, an assumption "
            "(docs/model.md §Valuation): about a third of cured accounts re-default (primer §5: "
            "21 % of current accounts roll one bucket per period) and a re-default loses about "
            "what a charge-off does less the debt sale; calibrate it to your book."
        ),
    )
    debt_sale_rate: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description=(
            "Price per unit of charged-off balance (sold to a debt buyer or placed with an "
            "agency, net). Default 0.05: US debt buyers paid on average 4.0 cents per dollar of "
            "face value, more for fresh debt (FTC, The Structure and Practices of the Debt "
            "Buying Industry, 2013)."
        ),
    )
    runoff_policy: str = Field(
        "no-contact",
        min_length=1,
        description=(
            "Policy (built-in name or policy file) that works the accounts still in collections "
            "after the horizon, until they resolve or charge off: their residual value. "
            "Default no-contact: what the open book is worth if left alone."
        ),
    )
    runoff_max_days: int = Field(
        3650,
        ge=0,
        le=30000,
        description=(
            "Longest run-off after the horizon (0: none). Card and instalment books resolve or "
            "charge off within about a charge-off period; charged-off debt (product recovery) "
            "never does, and what is still owed after the run-off is reported as unvalued."
        ),
    )


class Scenario(Strict):
    """A whole scenario: portfolio, behaviour, channels, teams, rules, costs and valuation."""

    portfolio: Portfolio = Field(default_factory=Portfolio)
    segments: list[Segment] = Field(default_factory=_default_segments, min_length=1)
    regimes: Regimes = Field(default_factory=Regimes)
    shock: Shock | None = Field(None, description="Optional portfolio-wide shock.")
    scoring: Scoring = Field(default_factory=Scoring)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    channels: dict[str, ChannelSpec] = Field(default_factory=default_channels)
    teams: list[Team] = Field(default_factory=_default_teams)
    rules: RuleSet = Field(default_factory=RuleSet)
    costs: Costs = Field(default_factory=Costs)
    valuation: Valuation = Field(default_factory=Valuation)

    @field_validator("channels", mode="before")
    @classmethod
    def _merge_channels(cls, v: object) -> object:
        """Channel tables in a file override the defaults field by field."""
        if not isinstance(v, dict):
            return v
        defaults = default_channels()
        out: dict[str, object] = {}
        for name in v:
            if name not in CHANNELS:
                raise ValueError(f"unknown channel {name!r}; allowed: {', '.join(CHANNELS)}")
        for name in CHANNELS:
            given = v.get(name)
            if given is None:
                out[name] = defaults[name]
            elif isinstance(given, ChannelSpec):
                out[name] = given
            elif not isinstance(given, dict):
                raise ValueError(f"channels.{name} must be a table of channel fields ([channels.{name}])")
            else:
                merged = defaults[name].model_dump()
                merged.update(given)  # type: ignore[arg-type]
                out[name] = merged
        return out

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        days = self.portfolio.horizon_days + self.valuation.runoff_max_days
        if days > MAX_DAYS:
            raise ValueError(
                f"valuation.runoff_max_days: horizon_days + runoff_max_days = {days} > {MAX_DAYS} (the longest run "
                "the engine's day counters hold)"
            )
        total = sum(s.share for s in self.segments)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segments: shares must sum to 1, got {total:.6g}")
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segments: names must be distinct, got {names}")
        team_names = {t.name for t in self.teams}
        if len(team_names) != len(self.teams):
            raise ValueError("teams: names must be distinct")
        for cname, spec in self.channels.items():
            if spec.team is not None and spec.team not in team_names:
                raise ValueError(
                    f"channels.{cname}.team = {spec.team!r}: no such team; teams: "
                    f"{', '.join(sorted(team_names)) or '(none)'}"
                )
        return self

    def resolved(self) -> dict:
        """The fully resolved configuration as plain data (for config.toml and hashing)."""
        return self.model_dump(mode="json", exclude_none=True)


def config_hash(data: dict) -> str:
    """A short, stable hash of a resolved configuration (sha256 of canonical JSON)."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
