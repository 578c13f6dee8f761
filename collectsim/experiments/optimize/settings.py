"""Schema of the ``[optimize]`` table of an experiment file (``collectsim optimize``).

The table says *what* to search (``[[optimize.params]]``: fields of the rule-table policy per
risk tier × DPD bucket, with their ranges), *for what* (``[optimize.objective]``: a weighted
scalar or a Pareto front, with hard caps), *against whom* (``champion``) and *how carefully*
(replications on a shared search bank of seeds, a held-out validation bank). Structure and
types are checked here; whether a parameter makes sense for the scenario (tier names, field
bounds, ranges and steps, ties) is checked by
:meth:`collectsim.experiments.optimize.space.SearchSpace.from_settings`. ``docs/optimize.md``
documents every key with an example.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["OptimizeSettings", "ObjectiveSettings", "ParamSpec"]

Scalar = bool | int | float | str


class ParamSpec(BaseModel):
    """One entry of ``[[optimize.params]]``: a rule-table field over a set of tier × bucket cells.

    Exactly one of ``low``/``high`` (a numeric range), ``choices`` (a list of values),
    ``value`` (a fixed value: not searched) or ``tie`` (copy another parameter's value,
    optionally times ``scale``) must be given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        None, min_length=1, description="Parameter name (default: FIELD@TIERS:BUCKETS, e.g. call_per_week@high:*)."
    )
    field: str = Field(..., min_length=1, description="Rule-table field: a Cell field, or 'priority' / 'pause_on_promise'.")
    tiers: list[str] | Literal["*"] = Field("*", description="Risk tiers the parameter applies to ('*': all).")
    buckets: list[str] | Literal["*"] = Field("*", description="DPD buckets M1..M6 it applies to ('*': all).")
    low: float | None = Field(None, description="Lower end of a numeric range (inclusive).")
    high: float | None = Field(None, description="Upper end of a numeric range (inclusive).")
    step: float | None = Field(None, gt=0, description="Step of the range (must divide high − low); none: continuous.")
    log: bool = Field(False, description="Sample the range on a log scale (low > 0, no step).")
    choices: list[Scalar] | None = Field(None, min_length=1, description="Categorical values to choose from.")
    value: Scalar | None = Field(None, description="Fixed value (the parameter is set, not searched).")
    tie: str | None = Field(None, min_length=1, description="Name of another parameter whose value this one copies.")
    scale: float | None = Field(None, gt=0, description="With tie: multiply the tied (numeric) value by this.")

    @model_validator(mode="after")
    def _one_kind(self) -> ParamSpec:
        kinds = [
            k
            for k, given in (
                ("low/high", self.low is not None or self.high is not None),
                ("choices", self.choices is not None),
                ("value", self.value is not None),
                ("tie", self.tie is not None),
            )
            if given
        ]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of low/high, choices, value or tie"
                + (f" (got {' and '.join(kinds)})" if kinds else "")
            )
        if kinds[0] == "low/high" and (self.low is None or self.high is None):
            raise ValueError("a range needs both low and high")
        if self.scale is not None and self.tie is None:
            raise ValueError("scale is only allowed with tie")
        if (self.step is not None or self.log) and kinds[0] != "low/high":
            raise ValueError("step and log are only allowed with low/high")
        return self


class ObjectiveSettings(BaseModel):
    """``[optimize.objective]``: what a policy is scored on, and the hard caps it must meet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["scalar", "pareto"] = Field(
        "scalar",
        description=(
            "scalar: maximize measure − lambda_churn·lost_clv − lambda_complaint·complaints; "
            "pareto: maximize the measure, minimize complaints_per_1k_accounts and the churn measure."
        ),
    )
    measure: Literal["net_value", "net_recovery"] = Field(
        "net_value",
        description=(
            "What the lender maximizes: net_value (the economic value of the result, docs/model.md "
            "§Valuation) or net_recovery (the accounting measure: cash − cost − settlement discounts "
            "within the horizon)."
        ),
    )
    lambda_churn: float = Field(0.0, ge=0.0, le=1e6, description="Weight of lost CLV (currency per currency).")
    lambda_complaint: float = Field(0.0, ge=0.0, le=1e9, description="Weight of one complaint (currency).")
    churn: Literal["lost_clv", "churn_rate"] = Field(
        "lost_clv", description="pareto: the churn objective to minimize."
    )
    max_complaints_per_1k_accounts: float | None = Field(
        None, ge=0.0, le=1e6, description="Hard cap: mean complaints per 1,000 accounts of the book."
    )
    max_complaints_per_1k_worked: float | None = Field(
        None, ge=0.0, le=1e6, description="Hard cap: mean complaints per 1,000 accounts worked."
    )
    max_treatment_cost: float | None = Field(
        None, ge=0.0, le=1e15, description="Hard cap (budget): mean treatment cost, currency units."
    )
    max_churn_rate: float | None = Field(
        None, ge=0.0, le=1.0, description="Hard cap: mean churn rate of resolved customers."
    )


class OptimizeSettings(BaseModel):
    """Settings of ``collectsim optimize`` (the ``[optimize]`` table); command-line options override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trials: int = Field(40, ge=1, le=100_000, description="Trials in the study (a resumed study runs until it has this many).")
    reps: int = Field(4, ge=1, le=10_000, description="Replications per trial on the shared search bank of seeds.")
    validation_reps: int = Field(
        20, ge=2, le=100_000, description="Replications of the held-out validation bank (disjoint from the search bank)."
    )
    validate_top: int = Field(3, ge=1, le=100, description="How many of the best trials are re-evaluated on the validation bank.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the sampler and of the default seed banks.")
    search_seeds: list[int] | None = Field(
        None, min_length=1, description="Explicit search bank (default: seed·100000 + 1, + 2, ...)."
    )
    validation_seeds: list[int] | None = Field(
        None, min_length=2, description="Explicit validation bank (default: seed·100000 + 50001, ...)."
    )
    sampler: Literal["tpe", "random", "nsga2"] = Field("tpe", description="Optuna sampler.")
    startup_trials: int | None = Field(
        None, ge=0, le=10_000, description="Random trials before TPE models the space (default: min(10, trials // 4), at least 4)."
    )
    batch: int | None = Field(
        None, ge=1, le=10_000, description="Trials asked and evaluated together (default: max(4, 2·jobs))."
    )
    jobs: int = Field(1, ge=1, le=4096, description="Local worker processes (loky backend).")
    prune: bool = Field(True, description="scalar: stop trials the Wilcoxon signed-rank test finds worse than the best.")
    prune_p: float = Field(0.1, gt=0.0, lt=1.0, description="p-value threshold of the Wilcoxon pruner.")
    champion: str = Field("seed-champion", description="Today's strategy: a rule-table built-in name or a policy file.")
    base: str | None = Field(
        None, description="Rule table the parameters modify (default: the champion)."
    )
    study_name: str | None = Field(None, min_length=1, description="Study name in the storage (default: the experiment name).")
    objective: ObjectiveSettings = Field(default_factory=ObjectiveSettings)
    params: list[ParamSpec] = Field(default_factory=list, description="The search space (see docs/optimize.md).")

    @model_validator(mode="after")
    def _check(self) -> OptimizeSettings:
        for name, seeds in (("search_seeds", self.search_seeds), ("validation_seeds", self.validation_seeds)):
            if seeds is not None:
                if any(s < 0 for s in seeds):
                    raise ValueError(f"{name} must be non-negative integers")
                if len(set(seeds)) != len(seeds):
                    raise ValueError(f"{name} must be distinct")
        if self.search_seeds is not None and self.validation_seeds is not None:
            common = set(self.search_seeds) & set(self.validation_seeds)
            if common:
                raise ValueError(
                    f"search_seeds and validation_seeds must be disjoint; both hold {sorted(common)[0]}"
                )
        return self
