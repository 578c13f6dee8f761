"""Schema of the ``[compare]`` table of an experiment file.

Example (``experiments/compare.toml``)::

    [compare]
    champion = "seed-champion"
    challengers = ["sms-only", "max-legal", "policies/challenger.toml"]
    reps = 10
    headline = "net_value"          # the KPI of the headline sentence and of --target-ci
    per_accounts = 1000             # money and counts per 1,000 accounts (0: portfolio totals)

    [[compare.variants]]
    name = "recession"
    description = "unemployment shock from day 30"
    overrides = { shock = { start_day = 30, stress_multiplier = 4.0 } }

KPI names are those of the catalogue (:mod:`collectsim.results.catalogue`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from collectsim.results.catalogue import COMPARE_DEFAULT, check_kpi

__all__ = ["CompareSettings", "Variant"]


KpiName = Annotated[str, AfterValidator(check_kpi)]


class Variant(BaseModel):
    """A what-if stress variant: the experiment's scenario with some fields overridden.

    ``overrides`` is deep-merged into the scenario's data (tables merge key by key; lists
    of named tables such as ``teams`` and ``segments`` merge item by item on ``name``;
    other lists are replaced) and the result is validated again as a scenario.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        ...,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_.+-]+$",
        description="Short name (letters, digits, _ . + -).",
    )
    description: str = Field("", description="One line saying what the variant stresses.")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Partial scenario data to merge in.")

    @model_validator(mode="after")
    def _not_base(self) -> Variant:
        if self.name == "base":
            raise ValueError("'base' is reserved for the experiment's own scenario")
        return self


class CompareSettings(BaseModel):
    """Settings of ``collectsim compare`` (each can be overridden on the command line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    champion: str | None = Field(
        None, description="The production policy (built-in name or policy file); default: [run].policy."
    )
    challengers: list[str] = Field(
        default_factory=list, description="Challenger policies (built-in names or policy files)."
    )
    reps: int = Field(8, ge=2, le=10_000, description="Replications (seeds) per policy; at least 2 for an interval.")
    target_ci: float | None = Field(
        None,
        gt=0.0,
        description=(
            "Add replications until the 95% CI half-width of every challenger's headline "
            "difference is at most this (in the headline's reported unit), or max_reps is hit."
        ),
    )
    max_reps: int | None = Field(
        None, ge=2, le=10_000, description="Cap on replications when target_ci is set (default: max(40, reps))."
    )
    headline: KpiName = Field(
        "net_value",
        description=(
            "KPI of the headline sentence and of target_ci. Default net_value: what a strategy is worth to the "
            "lender (docs/compare.md says why not cash)."
        ),
    )
    headline_also: list[KpiName] = Field(
        default_factory=lambda: ["complaints_per_1k_accounts", "churn_rate"],
        description="Side effects named in the headline sentence.",
    )
    per_accounts: int = Field(
        1000, ge=0, le=10_000_000, description="Report money and counts per this many accounts (0: totals)."
    )
    kpis: list[KpiName] = Field(default_factory=lambda: list(COMPARE_DEFAULT), min_length=1, description="KPIs compared.")
    level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of every interval.")
    test: Literal["t", "wilcoxon"] = Field(
        "t", description="Paired test of the p-values: paired t or Wilcoxon signed-rank."
    )
    correction: Literal["holm", "none"] = Field(
        "holm", description="Multiple-comparison correction across challengers (per KPI)."
    )
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="First seed (replication i uses seed + i); default: [run].seed."
    )
    variants: list[Variant] = Field(default_factory=list, description="What-if stress variants.")
    also_against: list[str] = Field(
        default_factory=list,
        description=(
            "Further references besides the champion (each the champion or a challenger, as listed): every other "
            "policy's paired difference against each is reported too (contrasts.csv), e.g. an adaptive policy "
            "against the best static policy found in hindsight (its regret)."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> CompareSettings:
        names = [v.name for v in self.variants]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"variant names must be distinct; repeated: {', '.join(sorted(dup))}")
        listed = ([self.champion] if self.champion else []) + list(self.challengers)
        for i, ref in enumerate(self.challengers):
            if not str(ref).strip():
                raise ValueError(f"challengers[{i}] is empty; give a built-in policy name or a policy file")
            if listed.count(ref) > 1:
                raise ValueError(
                    f"policy {ref!r} is listed twice (champion and challengers must be distinct); list each once"
                )
        for ref in self.also_against:  # that each is the champion or a challenger: compare() checks
            if self.also_against.count(ref) > 1:
                raise ValueError(f"also_against lists {ref!r} twice; list each reference once")
        if self.champion is not None and not self.champion.strip():
            raise ValueError("champion is empty; give a built-in policy name or a policy file")
        if self.max_reps is not None and self.max_reps < self.reps:
            raise ValueError(f"max_reps ({self.max_reps}) must be >= reps ({self.reps})")
        return self

    @property
    def reps_cap(self) -> int:
        """The replication cap in force: ``max_reps``, else the larger of 40 and ``reps``."""
        return self.max_reps if self.max_reps is not None else max(40, self.reps)

    def all_kpis(self) -> list[str]:
        """``kpis`` plus the headline KPIs, in order and without repeats."""
        return list(dict.fromkeys([self.headline, *self.kpis, *self.headline_also]))
