"""The parametric rule-table policy: a strategy per risk tier × DPD bucket.

This is the "strategy formulation" step of the source document: each tier (and
bucket) gets a contact frequency per channel, an hour, an offer and an escalation rule.
A table is a list of *cells*; each (tier, bucket) pair takes the first cell that matches
it, and pairs no cell matches are not contacted.

Contacts per week become a deterministic schedule: with frequency f per week and a fixed
phase φ ∈ [0, 7) per account and channel, account i gets
``floor((t+1+φ)·f/7) − floor((t+φ)·f/7)`` contacts on day t — exactly f per week on
average, spread evenly over the week and over the portfolio (so collector load is level).
Several contacts on one day go out at consecutive hours from the cell's hour.

:meth:`RuleTablePolicy.decide` is one numba kernel (:func:`_requests`) over the active
accounts: it writes the day's requests already sorted by account, then hour (as the model
executes them), so a day costs O(active accounts + requests).

TOML form (``collectsim run --policy FILE``)::

    [policy]
    name = "my-strategy"
    kind = "rule-table"
    priority = "expected_value"
    [[policy.cells]]
    tiers = ["high"]
    buckets = ["M2", "M3"]
    call_per_week = 3
    visit_per_week = 1
    visit_from_dpd = 45
    offer = "instalment"
    plan_months = 6
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from collectsim.errors import InputError, from_pydantic
from collectsim.kernels import njit
from collectsim.policies.base import Observation, Policy, Requests
from collectsim.vocabulary.accounts import BUCKETS, bucket_of
from collectsim.vocabulary.channels import CHANNELS, VISIT
from collectsim.vocabulary.offers import OFFER_INDEX

__all__ = ["Cell", "RuleTableSpec", "RuleTablePolicy", "PRIORITIES", "FREQUENCY_FIELDS", "HOUR_FIELDS", "updated_cell",
           "cells_for_tier"]

PRIORITIES = ("expected_value", "balance", "dpd", "score", "risk")
_GOLDEN = 0.6180339887498949


class Cell(BaseModel):
    """One strategy cell: what to do with the accounts of some tiers and buckets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: list[str] | Literal["*"] = Field("*", description="Tier names this cell applies to ('*': all).")
    buckets: list[str] | Literal["*"] = Field("*", description="DPD buckets M1..M6 ('*': all).")
    sms_per_week: float = Field(0.0, ge=0.0, le=70.0, description="SMS reminders per week.")
    email_per_week: float = Field(0.0, ge=0.0, le=70.0, description="E-mails per week.")
    ivr_per_week: float = Field(0.0, ge=0.0, le=70.0, description="Automated voice calls per week.")
    call_per_week: float = Field(0.0, ge=0.0, le=70.0, description="Agent call attempts per week.")
    visit_per_week: float = Field(0.0, ge=0.0, le=7.0, description="Field visits per week.")
    letter_per_week: float = Field(0.0, ge=0.0, le=7.0, description="Letters per week.")
    visit_from_dpd: int = Field(0, ge=0, le=3650, description="Escalation: visits only from this DPD on.")
    call_hour: int = Field(18, ge=0, le=23, description="Hour of the first call of a day.")
    message_hour: int = Field(10, ge=0, le=23, description="Hour of SMS, e-mail, IVR and letters.")
    visit_hour: int = Field(17, ge=0, le=23, description="Hour of field visits.")
    offer: Literal["none", "ptp", "instalment", "settlement"] = Field(
        "ptp", description="What a right-party conversation offers."
    )
    plan_months: int = Field(6, ge=1, le=60, description="Length of an offered instalment plan.")
    settlement_discount: float = Field(
        0.0, ge=0.0, le=0.9, description="Share of the balance forgiven by a settlement offer."
    )

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, v):
        if v != "*":
            if not v:
                raise ValueError("an empty list matches no account; name tiers or use '*' for all")
            for t in v:
                if not t.strip():
                    raise ValueError("a tier name is empty")
        return v

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, v):
        if v != "*":
            if not v:
                raise ValueError("an empty list matches no account; name buckets (M1..M6) or use '*' for all")
            for b in v:
                if b not in BUCKETS:
                    raise ValueError(f"unknown bucket {b!r}; allowed: {', '.join(BUCKETS)} or '*'")
        return v


class RuleTableSpec(BaseModel):
    """A whole rule table as plain data (what a policy file holds under ``[policy]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("rule-table", min_length=1, description="Policy name shown in reports.")
    kind: Literal["rule-table"] = Field("rule-table", description="Policy kind.")
    priority: Literal["expected_value", "balance", "dpd", "score", "risk"] = Field(
        "expected_value",
        description="Queue order for collectors: balance·score, balance, DPD, score or 1−score.",
    )
    pause_on_promise: bool = Field(True, description="No contact while a promise or plan is running.")
    respect_opt_out: bool = Field(True, description="Never request a channel the debtor opted out of.")
    cells: list[Cell] = Field(default_factory=list, description="Strategy cells, first match wins.")


def updated_cell(cell: Cell, **update) -> Cell:
    """``cell`` with some fields changed, validated (a bad value: InputError naming the field)."""
    try:
        return Cell.model_validate({**cell.model_dump(), **update})
    except ValidationError as e:
        raise from_pydantic(e, prefix="policy.cells") from None


def cells_for_tier(cells: list[Cell], tier: str, **fields) -> list[Cell]:
    """Cells under which every DPD bucket of ``tier`` has ``fields`` (e.g. ``call_per_week=3``).

    A cell that covers only ``tier`` is changed; a cell that covers it among other tiers gets a
    copy for ``tier`` alone just before it (first match wins), so the other tiers keep theirs;
    buckets of ``tier`` no cell covered get a cell of their own at the end.
    """
    out: list[Cell] = []
    covered: set[str] = set()
    for cell in cells:
        tiers = cell.tiers
        if tiers != "*" and tier not in tiers:
            out.append(cell)
            continue
        buckets = set(BUCKETS) if cell.buckets == "*" else set(cell.buckets)
        if buckets <= covered:  # never reached for this tier
            out.append(cell)
            continue
        if tiers == [tier]:
            out.append(updated_cell(cell, **fields))
        else:
            out.append(updated_cell(cell, tiers=[tier], **fields))
            out.append(cell)
        covered |= buckets
    rest = [b for b in BUCKETS if b not in covered]
    if rest:
        out.append(updated_cell(Cell(tiers=[tier], buckets=rest), **fields))
    return out


#: The cell field of each channel's contacts per week, in channel-code order.
FREQUENCY_FIELDS: tuple[str, ...] = tuple(f"{c}_per_week" for c in CHANNELS)
#: The cell field of each channel's hour: calls and visits have their own, messages share one.
HOUR_FIELDS: dict[str, str] = {c: {"call": "call_hour", "visit": "visit_hour"}.get(c, "message_hour") for c in CHANNELS}


class RuleTablePolicy(Policy):
    """A rule-table policy (see the module docstring). Picklable plain data.

    Parameters
    ----------
    spec:
        The table, as a :class:`RuleTableSpec` or a dict of the same shape.
    """

    def __init__(self, spec: RuleTableSpec | dict) -> None:
        self.table = spec if isinstance(spec, RuleTableSpec) else RuleTableSpec.model_validate(spec)
        self.name = self.table.name
        #: the arrays the kernel reads (cell of each tier × bucket, frequencies, hours, offers), set by :meth:`prepare`
        self.compiled: dict | None = None
        self._tier_names: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"RuleTablePolicy(name={self.name!r}, cells={len(self.table.cells)})"

    def prepare(self, tier_names: tuple[str, ...] | list[str]) -> None:
        """Compile the cells for a scenario's tiers; raise InputError on unknown tier names."""
        tier_names = tuple(tier_names)
        nt, nb = len(tier_names), len(BUCKETS)
        cell_of = np.full((nt, nb), -1, dtype=np.int64)
        for i, cell in enumerate(self.table.cells):
            tiers = range(nt) if cell.tiers == "*" else []
            if cell.tiers != "*":
                tiers = []
                for tname in cell.tiers:
                    if tname not in tier_names:
                        raise InputError(
                            f"policy {self.name!r}: cells[{i}].tiers: unknown tier {tname!r}; "
                            f"allowed: {', '.join(tier_names)} or '*'"
                        )
                    tiers.append(tier_names.index(tname))
            buckets = range(nb) if cell.buckets == "*" else [BUCKETS.index(b) for b in cell.buckets]
            for t in tiers:
                for b in buckets:
                    if cell_of[t, b] < 0:
                        cell_of[t, b] = i
        cells = self.table.cells
        col = lambda f: np.array([getattr(c, f) for c in cells] + [0], dtype=float)  # noqa: E731
        self.compiled = {
            "cell_of": cell_of,
            "freq": np.stack([col(f) for f in FREQUENCY_FIELDS], axis=1),  # (cells+1, channels)
            "hour": np.stack([col(HOUR_FIELDS[c]) for c in CHANNELS], axis=1).astype(np.int64),
            "visit_from_dpd": col("visit_from_dpd"),
            "offer": np.array([OFFER_INDEX[c.offer] for c in cells] + [0], dtype=np.int8),
            "plan_months": col("plan_months").astype(np.int8),
            "discount": col("settlement_discount").astype(np.float32),
        }
        # per cell, the channels it contacts on (the kernel loops over these only)
        freq = self.compiled["freq"]
        uses = np.full(freq.shape, -1, dtype=np.int64)
        for k in range(freq.shape[0]):
            on = np.flatnonzero(freq[k] > 0)
            uses[k, : len(on)] = on
        self.compiled["uses"] = uses
        self._tier_names = tier_names

    def decide(self, obs: Observation) -> Requests:
        """Today's requests from the table, sorted by account, then hour."""
        if self.compiled is None or self._tier_names != tuple(obs.tier_names):
            self.prepare(obs.tier_names)
        tb = self.compiled
        out = _requests(
            obs.active_index.astype(np.int64, copy=False), obs.account_id, obs.day, obs.tier, obs.dpd, obs.promise_due_day, obs.in_plan,
            obs.opted_out, obs.balance, obs.score, self.table.pause_on_promise, self.table.respect_opt_out,
            tb["cell_of"], tb["freq"], tb["uses"], tb["hour"], tb["visit_from_dpd"], tb["offer"], tb["discount"],
            tb["plan_months"], PRIORITIES.index(self.table.priority),
        )
        account, channel, hour, offer, discount, plan_months, priority = out
        return Requests(account=account, channel=channel, hour=hour, offer=offer, discount=discount,
                        plan_months=plan_months, priority=priority)

    def to_dict(self) -> dict:
        """The table as plain data, as written under ``[policy]`` in a policy file."""
        return self.table.model_dump(mode="json")


@njit
def _contacts_today(a, c, f, day):
    """Contacts of account ``a`` on channel ``c`` today at ``f`` per week (fixed phase φ):
    ⌊(t + 1 + φ)·f/7⌋ − ⌊(t + φ)·f/7⌋ with φ = frac(a·g + c·g') · 7 (g, g' golden ratios)."""
    x = a * _GOLDEN + c * 0.3819660112501051
    phase = (x - np.floor(x)) * 7.0  # frac(x), x >= 0
    return np.int64(np.floor((day + 1 + phase) * f / 7.0) - np.floor((day + phase) * f / 7.0))


@njit
def _requests(idx, ids, day, tier, dpd, promise_due_day, in_plan, opted_out, balance, score, pause, respect_opt_out,
              cell_of, freq, uses, hours, visit_from, offer_of, discount_of, months_of, priority_kind):
    """The day's requests of the active accounts ``idx`` (ascending slots; ``ids``: the
    account number of each slot), sorted by account and hour.

    An account takes the cell of its (tier, bucket); per channel it gets
    :func:`_contacts_today` contacts at consecutive hours from the cell's hour (visits only
    from ``visit_from`` DPD; none on an opted-out channel if the table respects opt-outs;
    none at all while a promise or plan runs if it pauses). Within an account and hour,
    channel order. Returns the :class:`Requests` arrays.
    """
    n_ch = freq.shape[1]
    # pass 1: each account's contacts per channel today
    count = np.zeros((len(idx), n_ch), dtype=np.uint8)
    todo = np.empty(len(idx), dtype=np.int64)  # positions (in idx) of accounts with requests
    cell_at = np.empty(len(idx), dtype=np.int16)
    n_todo = 0
    total = 0
    for p in range(len(idx)):
        a = idx[p]
        if pause and (promise_due_day[a] >= 0 or in_plan[a]):
            continue
        cell = cell_of[tier[a], bucket_of(dpd[a])]
        if cell < 0:
            continue
        opted = opted_out[a] if respect_opt_out else 0
        mine = 0
        for q in range(n_ch):  # the channels the cell uses
            c = uses[cell, q]
            if c < 0:
                break
            if (opted >> c) & 1 or (c == VISIT and dpd[a] < visit_from[cell]):
                continue
            k = _contacts_today(ids[a], c, freq[cell, c], day)  # phase by account number
            count[p, c] = k
            mine += k
        if mine:
            todo[n_todo] = p
            cell_at[p] = cell
            n_todo += 1
            total += mine
    account = np.empty(total, dtype=np.int64)
    channel = np.empty(total, dtype=np.int8)
    hour = np.empty(total, dtype=np.int8)
    offer = np.empty(total, dtype=np.int8)
    discount = np.empty(total, dtype=np.float32)
    plan_months = np.empty(total, dtype=np.int8)
    priority = np.empty(total, dtype=np.float32)
    # pass 2: write them, each account's sorted by hour (stable: channel order, then sequence)
    j = 0
    for t in range(n_todo):
        p = todo[t]
        a, cell = idx[p], cell_at[p]
        start = j
        for c in range(n_ch):
            for k in range(count[p, c]):
                h = min(hours[cell, c] + k, 23)
                q = j  # insertion sort by hour; equal hours keep their order
                while q > start and hour[q - 1] > h:
                    account[q], channel[q], hour[q] = account[q - 1], channel[q - 1], hour[q - 1]
                    q -= 1
                account[q], channel[q], hour[q] = a, c, h
                j += 1
        if priority_kind == 0:  # expected_value: balance · score
            prio = np.float32(balance[a] * np.float64(score[a]))
        elif priority_kind == 1:  # balance
            prio = np.float32(balance[a])
        elif priority_kind == 2:  # dpd
            prio = np.float32(dpd[a])
        elif priority_kind == 3:  # score
            prio = np.float32(score[a])
        else:  # risk: 1 − score
            prio = np.float32(1.0 - np.float64(score[a]))
        for q in range(start, j):
            offer[q] = offer_of[cell]
            discount[q] = discount_of[cell]
            plan_months[q] = months_of[cell]
            priority[q] = prio
    return account, channel, hour, offer, discount, plan_months, priority
