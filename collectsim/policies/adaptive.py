"""The adaptive policy: evaluate the strategy during the run and move traffic to what works.

The fifth part of the source document ("evaluate and adjust"): a small set of *arms* — rule
tables derived from one champion table (the champion itself and variants with more or fewer
contacts per week on every channel, ``contacts_scale``, or on one channel, ``channel_scale``,
or a table of their own, ``cells``) — share each risk tier's accounts. Every ``review_days`` the policy
evaluates, per tier, what each arm's accounts were worth and reassigns the accounts by
Thompson sampling; a fixed ``holdout`` share of the accounts stays on the champion arm for
the whole run (a control group the review reports but does not learn from).

**What it sees.** Only what a department sees: each morning the :class:`Observation`, each
evening the day's :class:`Outcomes` (its own made contacts and their cost, payments,
promises kept or broken) — never a latent trait.

**The reward and its attribution window.** The accounts of a review period (the days
``[s, s + review_days)``) form a cohort, each account with the arm it had during the period.
An account's reward is the cash it paid from ``s`` until ``attribution_days`` after the
period ends, minus the cost of the contacts made to it during the period and
``complaint_cost`` per complaint they drew (with ``reward = "value"`` plus the books' value
of its cure or charge-off in the window); the arm's value is the ratio Σ reward / Σ
account-days in collections during the period (currency units per account-day) or, with
``per = "balance"``, Σ reward / Σ balance on the account's first day in the period (per 100
currency units: a denominator the arm cannot change). A cohort is evaluated once its window
has closed, so rewards are *delayed*: with ``attribution_days`` > 0 a review learns from the
period before last. Accounts take an arm on entry and afresh at every review (``reassign =
"review"``) or only on entry (``"entry"``).

**The posterior (Gaussian).** Per tier and arm the policy keeps the sufficient statistics of
the ratio estimator (Σy, Σd, Σy², Σyd, Σd², n over accounts; y = reward, d = account-days),
multiplied by ``decay`` at every review so that old periods fade (the world may change: a
shock). The estimate r = Σy/Σd has the delta-method variance
s² = Σ(y − r·d)² / (Σd)² · n/(n − 1); with the prior N(0, ``prior_sd``²) (default sd 50 currency units per account-day: weak) the posterior of the
arm's value is Normal with variance v = 1/(1/prior_sd² + 1/s²) and mean v·r/s². Thompson
sampling in batch form: ``draws`` joint draws from the arms' posteriors give each arm's
probability of being best, P(best); an arm's traffic share is
``min_share + (1 − K·min_share)·P(best)`` (K arms), and each non-holdout account takes an arm
with those probabilities (inverse CDF of one uniform).

**Randomness.** Every draw comes from the named stream ``adaptive`` (:mod:`collectsim.streams`):
sub-stream ``holdout`` (day 0, counter = account number), ``assign`` (the review day,
account number), ``posterior`` and ``posterior_angle`` (Box–Muller normals, the review day,
counter = (tier·K + arm)·draws + draw). Runs are deterministic given the seed, and no
other stream's draws change.

**Groups.** Shares and posteriors are kept per risk tier, or with ``by = "tier_bucket"`` per
tier × DPD bucket (the bucket an account is in when it takes an arm; in a period, the one it
began the period in).

**Review table.** :attr:`AdaptivePolicy.reviews`: one row per review, group and arm (and the
holdout) — the period's KPIs, the posterior, P(best), shares before and after, and why.

TOML form (``collectsim run --policy FILE``)::

    [policy]
    name = "adaptive"
    kind = "adaptive"
    base = "seed-champion"        # the champion table: a built-in rule table (or give cells)
    review_days = 14
    attribution_days = 14
    holdout = 0.1
    [[policy.arms]]
    name = "champion"             # the first arm is the champion (contacts_scale 1)
    [[policy.arms]]
    name = "fewer"
    contacts_scale = 0.5          # every channel's contacts per week × 0.5
    [[policy.arms]]
    name = "more"
    contacts_scale = 1.5
    [[policy.arms]]
    name = "reminders"
    channel_scale = { sms = 2.0 }   # twice the champion's SMS, every other channel as it is
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collectsim.errors import InputError, from_pydantic
from collectsim.policies.base import Observation, Outcomes, Policy, Requests
from collectsim.policies.baselines import seed_champion, sms_only
from collectsim.policies.rule_table import FREQUENCY_FIELDS, Cell, RuleTablePolicy, RuleTableSpec, updated_cell
from collectsim.vocabulary.accounts import BUCKETS, dpd_buckets
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["ArmSpec", "AdaptiveSpec", "AdaptivePolicy", "ArmStats", "posterior", "thompson_shares", "BASES", "REVIEW_COLUMNS",
           "load_adaptive"]

#: Built-in rule tables an adaptive policy can take as its champion (``base``).
BASES = {"seed-champion": seed_champion, "sms-only": sms_only}

#: The columns of :attr:`AdaptivePolicy.reviews`.
REVIEW_COLUMNS = ("review", "day", "tier", "bucket", "arm", "period_start", "period_end", "window_end", "accounts",
                  "account_days", "balance", "cash", "contact_cost", "resolution_value", "complaints", "value_per_account_day",
                  "value_per_100_balance", "posterior_mean", "posterior_sd",
                  "p_best", "share_before", "share_after", "why")


class ArmSpec(BaseModel):
    """One arm: a rule table derived from the champion's (or a table of its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, description="Arm name shown in the review table.")
    contacts_scale: float = Field(
        1.0, ge=0.0, le=10.0,
        description="Every channel's contacts per week of the champion's cells × this (capped at the cell bounds).",
    )
    channel_scale: dict[Literal[CHANNELS], float] = Field(
        default_factory=dict,
        description=("One channel's contacts per week × this, on top of contacts_scale (e.g. {sms = 2.0}: twice the "
                     "reminders; capped at the cell bounds)."),
    )
    cells: list[Cell] | None = Field(None, description="A rule table of its own instead of the scaled champion's.")

    @field_validator("channel_scale")
    @classmethod
    def _scales(cls, v):
        for ch, x in v.items():
            if not 0.0 <= x <= 10.0:
                raise ValueError(f"channel_scale.{ch} = {x}: must be between 0 and 10")
        return v

    @model_validator(mode="after")
    def _one_source(self):
        if self.cells is not None and (self.contacts_scale != 1.0 or self.channel_scale):
            raise ValueError(f"arm {self.name!r}: give either cells or contacts_scale/channel_scale, not both")
        return self


class AdaptiveSpec(BaseModel):
    """An adaptive policy as plain data (what a policy file holds under ``[policy]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("adaptive", min_length=1, description="Policy name shown in reports.")
    kind: Literal["adaptive"] = Field("adaptive", description="Policy kind.")
    base: Literal["seed-champion", "sms-only"] | None = Field(
        "seed-champion", description="The champion table: a built-in rule table (None: give `cells`)."
    )
    cells: list[Cell] | None = Field(None, description="The champion's cells (instead of `base`).")
    priority: Literal["expected_value", "balance", "dpd", "score", "risk"] | None = Field(
        None, description="Queue order (default: the base table's)."
    )
    arms: list[ArmSpec] = Field(..., min_length=2, max_length=8, description="The arms; the first is the champion.")
    review_days: int = Field(14, ge=1, le=365, description="Days between reviews (a review period).")
    attribution_days: int = Field(
        14, ge=0, le=365, description="Days after a period during which its accounts' payments still count."
    )
    holdout: float = Field(0.1, ge=0.0, lt=1.0, description="Share of accounts kept on the champion arm throughout.")
    decay: float = Field(0.7, gt=0.0, le=1.0, description="Weight of earlier periods' statistics at each review.")
    prior_sd: float = Field(50.0, gt=0.0, le=1e6, description="Prior sd of an arm's value per account-day, currency units.")
    min_share: float = Field(0.05, ge=0.0, le=0.5, description="Least traffic share of an arm (keeps exploring).")
    draws: int = Field(2000, ge=100, le=100_000, description="Thompson draws per review to estimate P(best).")
    per: Literal["account_day", "balance"] = Field(
        "account_day",
        description=(
            "What an arm's value is per: 'account_day' (Σ reward / Σ account-days in collections during the period) or "
            "'balance' (Σ reward / Σ balance on the account's first day in the period, per 100 currency units: a "
            "denominator the arm cannot change, and rewards that scale with the balance vary less)."
        ),
    )
    by: Literal["tier", "tier_bucket"] = Field(
        "tier",
        description=(
            "What has its own traffic shares and posteriors: each risk 'tier', or each tier × DPD bucket "
            "('tier_bucket': an account belongs to the bucket it is in when it takes an arm and, in a period, to "
            "the one it began the period in)."
        ),
    )
    reassign: Literal["review", "entry"] = Field(
        "review",
        description=(
            "When an account takes an arm: 'review' (on entry and afresh at every review, by the new shares) or "
            "'entry' (once, on entry; the shares steer the new accounts only, and each account's treatment is "
            "the same throughout, so an arm's period is not mixed with another arm's)."
        ),
    )
    complaint_cost: float = Field(
        0.0, ge=0.0, le=1e7,
        description=("Currency units the reward charges per complaint an account's contacts drew in the period "
                     "(0: not priced; the optimizer's default price is lambda_complaint = 200)."),
    )
    reward: Literal["cash", "value"] = Field(
        "cash",
        description=(
            "An account's reward: 'cash' (its payments in the window less its contact cost) or 'value' (that plus "
            "the books' value of its leaving collections in the window: a cure at the scenario's performing value "
            "of the balance, a charge-off at the debt-sale value; Outcomes.resolved_value)."
        ),
    )

    @field_validator("arms")
    @classmethod
    def _unique(cls, v):
        names = [a.name for a in v]
        for n in names:
            if names.count(n) > 1:
                raise ValueError(f"arm name {n!r} appears twice; arm names must be unique")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if (self.base is None) == (self.cells is None):
            raise ValueError("give exactly one of base (a built-in rule table) and cells")
        if self.min_share * len(self.arms) > 1.0:
            raise ValueError(f"min_share = {self.min_share} × {len(self.arms)} arms exceeds 1")
        return self


def _cap(field: str) -> float:
    for m in Cell.model_fields[field].metadata:
        if getattr(m, "le", None) is not None:
            return float(m.le)
    return math.inf


def _scaled(cells: list[Cell], scale: float, per_channel: dict[str, float] | None = None) -> list[Cell]:
    """``cells`` with every channel's contacts per week × ``scale`` and, for the channels
    ``per_channel`` names, × its factor too (capped at the field's bound)."""
    per_channel = per_channel or {}
    factor = {f: scale * per_channel.get(ch, 1.0) for ch, f in zip(CHANNELS, FREQUENCY_FIELDS, strict=True)}
    return [updated_cell(c, **{f: min(getattr(c, f) * factor[f], _cap(f)) for f in FREQUENCY_FIELDS}) for c in cells]


@dataclasses.dataclass
class ArmStats:
    """Sufficient statistics of one (tier, arm)'s ratio estimator, decayed at every review.

    ``y``: an account's net reward (currency units), ``d``: its account-days in the period.
    """

    n: float = 0.0
    sy: float = 0.0
    sd: float = 0.0
    syy: float = 0.0
    syd: float = 0.0
    sdd: float = 0.0

    def add(self, y: np.ndarray, d: np.ndarray) -> None:
        """Add accounts' rewards ``y`` over ``d`` account-days."""
        y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
        self.n += len(y)
        self.sy += float(y.sum())
        self.sd += float(d.sum())
        self.syy += float(y @ y)
        self.syd += float(y @ d)
        self.sdd += float(d @ d)

    def decay(self, w: float) -> None:
        """Multiply every statistic by ``w`` (older periods weigh less)."""
        for f in ("n", "sy", "sd", "syy", "syd", "sdd"):
            setattr(self, f, getattr(self, f) * w)


def posterior(s: ArmStats, prior_sd: float) -> tuple[float, float]:
    """Mean and sd of the Gaussian posterior of an arm's value per account-day (module docstring)."""
    if s.sd <= 0 or s.n <= 1.0:
        return 0.0, prior_sd
    r = s.sy / s.sd
    ss = max(s.syy - 2 * r * s.syd + r * r * s.sdd, 0.0) / (s.sd * s.sd) * s.n / (s.n - 1.0)
    ss = max(ss, 1e-12)
    v = 1.0 / (1.0 / prior_sd**2 + 1.0 / ss)
    return v * r / ss, math.sqrt(v)


def thompson_shares(mean: np.ndarray, sd: np.ndarray, z: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray]:
    """P(best) of each arm from standard normal draws ``z`` (arms × draws) and the traffic
    shares ``min_share + (1 − K·min_share)·P(best)``."""
    theta = mean[:, None] + sd[:, None] * z
    best = np.bincount(np.argmax(theta, axis=0), minlength=len(mean)) / z.shape[1]
    return best, min_share + (1.0 - len(mean) * min_share) * best


@dataclasses.dataclass
class _Cohort:
    """The accounts of one review period (arrays by account number)."""

    start: int
    end: int
    arm: np.ndarray
    group: np.ndarray  # the account's group (tier, or tier × bucket) on its first day in the period
    days: np.ndarray
    cash: np.ndarray
    cost: np.ndarray
    value: np.ndarray
    balance: np.ndarray  # currency units, on the account's first day in the period
    complaints: np.ndarray  # complaints its contacts drew in the period


class AdaptivePolicy(Policy):
    """Thompson sampling over rule-table arms per tier, with delayed rewards and a holdout
    (module docstring). Learns from :class:`Outcomes`; picklable.

    Parameters
    ----------
    spec:
        An :class:`AdaptiveSpec` or a dict of the same shape.
    """

    learns = True

    def __init__(self, spec: AdaptiveSpec | dict) -> None:
        try:
            self.spec = spec if isinstance(spec, AdaptiveSpec) else AdaptiveSpec.model_validate(spec)
        except ValidationError as e:
            raise from_pydantic(e, prefix="policy") from None
        self.name = self.spec.name
        base = BASES[self.spec.base]().table if self.spec.base is not None else RuleTableSpec(cells=self.spec.cells)
        priority = self.spec.priority or base.priority
        #: one rule table per arm (the first: the champion)
        self.arms: list[RuleTablePolicy] = []
        for a in self.spec.arms:
            cells = (list(a.cells) if a.cells is not None
                     else _scaled(list(base.cells), a.contacts_scale, dict(a.channel_scale)))
            self.arms.append(RuleTablePolicy(RuleTableSpec(
                name=f"{self.name}:{a.name}", priority=priority, pause_on_promise=base.pause_on_promise,
                respect_opt_out=base.respect_opt_out, cells=cells)))
        self.arm_names = tuple(a.name for a in self.spec.arms)
        self._tier_names: tuple[str, ...] = ()
        self._streams = None
        self._reset()

    def __repr__(self) -> str:
        return f"AdaptivePolicy(name={self.name!r}, arms={list(self.arm_names)})"

    # ------------------------------------------------------------------ set-up ------------
    def prepare(self, tier_names: tuple[str, ...]) -> None:
        """Compile every arm's table for the scenario's tiers (InputError on unknown tiers)."""
        for arm in self.arms:
            arm.prepare(tier_names)
        self._tier_names = tuple(tier_names)
        self._reset()

    def _group_names(self) -> list[tuple[str, str]]:
        """(tier, bucket) of every group in index order; bucket ``"*"`` when ``by = "tier"``."""
        if self.spec.by == "tier":
            return [(t, "*") for t in self._tier_names]
        return [(t, b) for t in self._tier_names for b in BUCKETS]

    def _groups(self, obs: Observation, slots: np.ndarray) -> np.ndarray:
        """The group index of the accounts in ``slots`` today."""
        tiers = obs.tier[slots].astype(np.int64)
        if self.spec.by == "tier":
            return tiers
        return tiers * len(BUCKETS) + dpd_buckets(obs.dpd[slots]).astype(np.int64)

    def start(self, streams) -> None:
        """A fresh run: forget everything learnt; draw from ``streams`` (source ``adaptive``)."""
        self._streams = streams
        self._reset()

    def _reset(self) -> None:
        k, t = len(self.arms), max(len(self._group_names()), 1)
        #: traffic share of each arm, per group (tier, or tier × bucket; non-holdout accounts)
        self.shares = np.full((t, k), 1.0 / k)
        self.stats = [[ArmStats() for _ in range(k)] for _ in range(t)]
        self._arm = np.full(0, -1, dtype=np.int8)  # by account number; -1: not seen yet
        self._holdout = np.zeros(0, dtype=bool)
        self._cohorts: list[_Cohort] = []
        self._rows: list[dict] = []
        self._n_reviews = 0

    @property
    def reviews(self) -> pd.DataFrame:
        """The strategy reviews so far: one row per review, tier and arm (``arm = "holdout"``:
        the control group), columns :data:`REVIEW_COLUMNS` (money in currency units)."""
        return pd.DataFrame(self._rows, columns=list(REVIEW_COLUMNS))

    def arm_of(self, account_numbers: np.ndarray) -> np.ndarray:
        """The arm index each account number is on (-1: not seen yet)."""
        ids = np.asarray(account_numbers, dtype=np.int64)
        out = np.full(len(ids), -1, dtype=np.int8)
        ok = ids < len(self._arm)
        out[ok] = self._arm[ids[ok]]
        return out

    def in_holdout(self, account_numbers: np.ndarray) -> np.ndarray:
        """Whether each account number is in the holdout (False: not seen yet)."""
        ids = np.asarray(account_numbers, dtype=np.int64)
        out = np.zeros(len(ids), dtype=bool)
        ok = ids < len(self._holdout)
        out[ok] = self._holdout[ids[ok]]
        return out

    def _grow(self, size: int) -> None:
        if size <= len(self._arm):
            return
        size = max(size, 2 * len(self._arm))
        self._arm = np.concatenate([self._arm, np.full(size - len(self._arm), -1, dtype=np.int8)])
        self._holdout = np.concatenate([self._holdout, np.zeros(size - len(self._holdout), dtype=bool)])
        for c in self._cohorts:
            extra = size - len(c.arm)
            c.arm = np.concatenate([c.arm, np.full(extra, -1, dtype=np.int8)])
            c.group = np.concatenate([c.group, np.zeros(extra, dtype=np.int16)])
            c.days = np.concatenate([c.days, np.zeros(extra, dtype=np.int32)])
            c.cash = np.concatenate([c.cash, np.zeros(extra)])
            c.cost = np.concatenate([c.cost, np.zeros(extra)])
            c.value = np.concatenate([c.value, np.zeros(extra)])
            c.balance = np.concatenate([c.balance, np.zeros(extra)])
            c.complaints = np.concatenate([c.complaints, np.zeros(extra)])

    def _pick(self, day: int, ids: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """An arm for each account by the current shares of its group (stream ``adaptive``/``assign``)."""
        u = self._streams.uniform("adaptive", day, ids, "assign")
        cum = np.cumsum(self.shares, axis=1)[groups.astype(np.int64)]
        return np.minimum((u[:, None] >= cum).sum(axis=1), len(self.arms) - 1).astype(np.int8)

    # ------------------------------------------------------------------ the day -----------
    def decide(self, obs: Observation) -> Requests:
        """Review if one is due, give new accounts an arm, and ask each arm's table for its accounts."""
        if self._streams is None:
            raise InputError(f"policy {self.name!r}: an adaptive policy runs in the engine (CollectionsModel), "
                             "which hands it its random stream")
        if tuple(obs.tier_names) != self._tier_names:
            self.prepare(tuple(obs.tier_names))
        day = obs.day
        slots = np.asarray(obs.active_index, dtype=np.int64)
        ids = obs.account_id[slots].astype(np.int64)
        groups = self._groups(obs, slots)
        if len(ids):
            self._grow(int(ids.max()) + 1)
        if self._cohorts and day >= self._cohorts[-1].end:
            self._review(day, ids, groups)
        new = self._arm[ids] < 0
        if new.any():
            nid = ids[new]
            hold = self._streams.uniform("adaptive", 0, nid, "holdout") < self.spec.holdout
            self._holdout[nid] = hold
            self._arm[nid] = np.where(hold, 0, self._pick(day, nid, groups[new]))
        if not self._cohorts or day >= self._cohorts[-1].end:
            size = len(self._arm)
            self._cohorts.append(_Cohort(day, day + self.spec.review_days, np.full(size, -1, dtype=np.int8),
                                         np.zeros(size, dtype=np.int16), np.zeros(size, dtype=np.int32),
                                         np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)))
        c = self._cohorts[-1]
        arm = self._arm[ids]
        c.arm[ids] = arm
        first = c.days[ids] == 0
        c.group[ids[first]] = groups[first]
        c.balance[ids[first]] = obs.balance[slots[first]] / 100.0
        c.days[ids] += 1
        parts = []
        for k, pol in enumerate(self.arms):
            mine = slots[arm == k]
            if len(mine):
                parts.append(pol.decide(dataclasses.replace(obs, active_index=mine)))
        return Requests.concat(parts)

    def observe(self, outcomes: Outcomes) -> None:
        """Credit the day's payments (within each open cohort's window) and contact costs (within its period)."""
        day = outcomes.day
        top = max([len(self._arm)] + [int(a.max()) + 1 for a in (outcomes.payment_account, outcomes.contact_account,
                                                                 outcomes.resolved_account) if len(a)])
        self._grow(top)
        for c in self._cohorts:
            if day < c.end + self.spec.attribution_days:
                np.add.at(c.cash, outcomes.payment_account, outcomes.payment_amount / 100.0)
                np.add.at(c.value, outcomes.resolved_account, outcomes.resolved_value / 100.0)
            if day < c.end:
                np.add.at(c.cost, outcomes.contact_account, outcomes.contact_cost / 100.0)
                np.add.at(c.complaints, outcomes.contact_account, outcomes.contact_complaint.astype(float))

    # ------------------------------------------------------------------ the review --------
    def _review(self, day: int, ids: np.ndarray, groups: np.ndarray) -> None:
        """Evaluate the cohorts whose window has closed, update the posteriors, new shares,
        reassign the non-holdout accounts, and record the review table."""
        sp, k = self.spec, len(self.arms)
        names = self._group_names()
        self._n_reviews += 1
        ready = [c for c in self._cohorts if c.end + sp.attribution_days <= day]
        self._cohorts = [c for c in self._cohorts if c.end + sp.attribution_days > day]
        for row in self.stats:
            for s in row:
                s.decay(sp.decay)
        # (tier, arm or -1 holdout) -> accounts, days, cash, cost, value, balance, complaints
        period: dict[tuple[int, int], tuple] = {}
        valued = sp.reward == "value"
        per_balance = sp.per == "balance"
        unit = "per 100 of balance" if per_balance else "per account-day"
        for c in ready:
            seen = np.flatnonzero(c.days > 0)
            hold = self._holdout[seen]
            for t in range(len(names)):
                for a in range(-1, k):
                    sel = seen[(c.group[seen] == t) & (hold if a < 0 else (~hold & (c.arm[seen] == a)))]
                    y = c.cash[sel] - c.cost[sel] - sp.complaint_cost * c.complaints[sel]
                    if valued:
                        y = y + c.value[sel]
                    if a >= 0:
                        self.stats[t][a].add(y, c.balance[sel] / 100.0 if per_balance else c.days[sel])
                    prev = period.get((t, a), (0, 0, 0.0, 0.0, 0.0, 0.0, 0))
                    period[(t, a)] = (prev[0] + len(sel), prev[1] + int(c.days[sel].sum()),
                                      prev[2] + float(c.cash[sel].sum()), prev[3] + float(c.cost[sel].sum()),
                                      prev[4] + float(c.value[sel].sum()), prev[5] + float(c.balance[sel].sum()),
                                      prev[6] + int(round(float(c.complaints[sel].sum()))))
        p_start = min((c.start for c in ready), default=None)
        p_end = max((c.end for c in ready), default=None)
        before = self.shares.copy()
        m = sp.draws
        counter = np.arange(len(names) * k * m, dtype=np.int64)
        u1 = self._streams.uniform("adaptive", day, counter, "posterior")
        u2 = self._streams.uniform("adaptive", day, counter, "posterior_angle")
        z_all = (np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)).reshape(len(names), k, m)
        for t, (tier, bucket) in enumerate(names):
            post = [posterior(s, sp.prior_sd) for s in self.stats[t]]
            mean = np.array([p[0] for p in post])
            sd = np.array([p[1] for p in post])
            best, self.shares[t] = thompson_shares(mean, sd, z_all[t], sp.min_share)
            lead = int(np.argmax(best))
            why = (f"no matured period yet (rewards wait {sp.attribution_days} days): shares from the prior"
                   if not ready else
                   f"{self.arm_names[lead]} best with P = {best[lead]:.2f} "
                   f"({mean[lead]:.3f} ± {sd[lead]:.3f} {unit})")
            for a in range(-1, k):
                acc, days, cash, cost, value, bal, compl = period.get((t, a), (0, 0, 0.0, 0.0, 0.0, 0.0, 0))
                net = cash - cost - sp.complaint_cost * compl + (value if valued else 0.0)
                row = {
                    "review": self._n_reviews, "day": day, "tier": tier, "bucket": bucket,
                    "arm": "holdout" if a < 0 else self.arm_names[a],
                    "period_start": p_start, "period_end": p_end,
                    "window_end": None if p_end is None else p_end + sp.attribution_days,
                    "accounts": acc, "account_days": days, "cash": cash, "contact_cost": cost,
                    "resolution_value": value,
                    "complaints": compl,
                    "balance": bal,
                    "value_per_account_day": net / days if days else float("nan"),
                    "value_per_100_balance": 100.0 * net / bal if bal > 0 else float("nan"),
                    "posterior_mean": float("nan") if a < 0 else float(mean[a]),
                    "posterior_sd": float("nan") if a < 0 else float(sd[a]),
                    "p_best": float("nan") if a < 0 else float(best[a]),
                    "share_before": sp.holdout if a < 0 else float(before[t, a] * (1 - sp.holdout)),
                    "share_after": sp.holdout if a < 0 else float(self.shares[t, a] * (1 - sp.holdout)),
                    "why": ("control group: champion arm throughout, not learnt from" if a < 0 else
                            f"{why}; {self.arm_names[a]}: P(best) {best[a]:.2f} -> share "
                            f"{before[t, a]:.2f} -> {self.shares[t, a]:.2f} of the non-holdout accounts"),
                }
                self._rows.append(row)
        if sp.reassign == "review":  # reassign today's active non-holdout accounts
            live = ~self._holdout[ids]
            self._arm[ids[live]] = self._pick(day, ids[live], groups[live])

    def to_dict(self) -> dict:
        """The policy as plain data, as written under ``[policy]`` in a policy file."""
        return self.spec.model_dump(mode="json", exclude_none=True)


def load_adaptive(data: dict, source: str = "") -> AdaptivePolicy:
    """An :class:`AdaptivePolicy` from a policy file's ``[policy]`` table (InputError naming the field)."""
    try:
        return AdaptivePolicy(AdaptiveSpec.model_validate(data))
    except ValidationError as e:
        raise from_pydantic(e, source, prefix="policy") from None
