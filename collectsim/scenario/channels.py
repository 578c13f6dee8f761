"""Contact channels as scenario data: what each costs, when it reaches people, what it does.

:class:`ChannelSpec` is one channel's table in an experiment file (``[channels.sms]``, …);
the defaults below cite their evidence (primer §4). :class:`ChannelTable` is the same data
as the per-channel arrays the kernels read (indexed by channel code), built once per model
from the scenario's channels and teams — the one place channel parameters are turned into
numbers for the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, field_validator, model_validator

from collectsim.scenario.base import Strict, probability
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["ChannelSpec", "ChannelTable", "default_channels"]


def _flat(v: float) -> list[float]:
    return [v] * 24


class ChannelSpec(Strict):
    """One contact channel: what it costs, whom it reaches and when, what it does to them.

    An executed contact is *connected* (answered, delivered and seen — by anyone: the
    debtor, a relative, a colleague) with probability ``connect · connect_by_hour[h] ·
    reachability``; a connected contact is a *right-party contact* (RPC: the debtor
    themself) with probability ``right_party · exp(−answer_fatigue · irritation)``. Only a
    right-party contact delivers effort, carries an offer or counts as a conversation.
    """

    cost_per_contact: float = Field(
        0.0, ge=0.0, le=1e4, description="Money per executed contact (attempt or message)."
    )
    attempt_minutes: float = Field(
        0.0, ge=0.0, le=600.0, description="Collector minutes for an attempt nobody answers."
    )
    connect_minutes: float = Field(
        0.0, ge=0.0, le=600.0,
        description="Collector minutes for a contact answered by someone else (a connect, not an RPC).",
    )
    handle_minutes: float = Field(
        0.0, ge=0.0, le=600.0, description="Collector minutes for a right-party contact (a conversation)."
    )
    connect: float = probability(
        "Base probability that a contact is connected: answered, delivered and seen, by anyone.", 0.3
    )
    connect_by_hour: list[float] = Field(
        default_factory=lambda: _flat(1.0),
        min_length=24,
        max_length=24,
        description="Multiplier of connect for each hour 0..23 (local time).",
    )
    right_party: float = probability(
        "Probability that a connected contact reaches the debtor themself (a right-party contact), "
        "before contact fatigue.",
        0.5,
    )
    effect: float = Field(
        0.0,
        ge=0.0,
        le=1000.0,
        description="Units of collection effort a right-party contact delivers (× δ2 raises λ).",
    )
    irritation: float = Field(
        0.0, ge=0.0, le=100.0, description="Irritation added by each executed contact."
    )
    complaint_weight: float = Field(
        1.0, ge=0.0, le=1000.0, description="Relative complaint risk of one contact."
    )
    optout_prob: float = probability(
        "Probability that a right-party contact makes the debtor opt out of this channel (before "
        "irritation); 0 for channels without an opt-out.",
        0.0,
    )
    team: str | None = Field(
        None, description="Collector team that works this channel (None: automated)."
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: object) -> object:
        if isinstance(data, dict):
            for old in ("reach", "reach_by_hour"):
                if old in data:
                    raise ValueError(
                        f"{old} is replaced by connect, connect_by_hour and right_party (a contact connects, "
                        "then reaches the right party or not; docs/model.md §5.1)"
                    )
        return data

    @field_validator("connect_by_hour")
    @classmethod
    def _hours(cls, v: list[float]) -> list[float]:
        if any(not 0 <= x <= 10 for x in v):
            raise ValueError("each hourly multiplier must be in [0, 10]")
        return v


def _hours(day: float, evening: float, night: float) -> list[float]:
    out = []
    for h in range(24):
        if 8 <= h < 18:
            out.append(day)
        elif 18 <= h < 21:
            out.append(evening)
        else:
            out.append(night)
    return out


def default_channels() -> dict[str, ChannelSpec]:
    """The default parameters of every channel, with their evidence (primer §4; docs/model.md §5)."""
    return {
        # US outbound SMS ≈ $0.008 (primer §4); reminders raise on-time repayment 7–9 %
        # (Cadena & Schoar, primer §4): the effect is fitted to that fact (docs/facts.md). The
        # effects of e-mail, IVR and letters keep their earlier ratio to the SMS effect, the
        # visit's to the call's (no fact measures them).
        "sms": ChannelSpec(
            cost_per_contact=0.008,
            connect=0.66,
            connect_by_hour=_hours(1.0, 1.1, 0.6),
            right_party=0.9,
            effect=3.42,
            irritation=0.15,
            complaint_weight=0.3,
            optout_prob=0.01,
        ),
        "email": ChannelSpec(
            cost_per_contact=0.002,
            connect=0.28,
            connect_by_hour=_hours(1.0, 1.0, 0.8),
            right_party=0.9,
            effect=1.71,
            irritation=0.05,
            complaint_weight=0.1,
            optout_prob=0.01,
        ),
        "ivr": ChannelSpec(
            cost_per_contact=0.05,
            connect=0.3,
            connect_by_hour=_hours(0.9, 1.3, 0.5),
            right_party=0.67,
            effect=5.7,
            irritation=0.3,
            complaint_weight=0.8,
            optout_prob=0.02,
        ),
        # 100–120 dials/collector/day at a 20–30 % contact rate, fewer than 30 % of connects
        # right-party (primer §4): connects ≈ 24 % of dials (evening ×1.15), RPCs ≈ 30 % of them.
        # Minutes: 420 a day / ~3.7 minutes a dial on average (3.3 per attempt, more for the
        # connects) ≈ 113 dials. The effect is fitted to the conversation fact (docs/facts.md).
        "call": ChannelSpec(
            cost_per_contact=0.05,
            attempt_minutes=3.3,
            connect_minutes=4.0,
            handle_minutes=8.0,
            connect=0.24,
            connect_by_hour=_hours(0.85, 1.15, 0.75),
            right_party=0.3,
            effect=180.0,
            irritation=0.35,
            complaint_weight=1.0,
            team="phone",
        ),
        "visit": ChannelSpec(
            cost_per_contact=6.0,
            attempt_minutes=45.0,
            connect_minutes=50.0,
            handle_minutes=60.0,
            connect=0.6,
            connect_by_hour=_hours(0.9, 1.3, 0.6),
            right_party=0.75,
            effect=450.0,
            irritation=2.0,
            complaint_weight=12.0,
            team="field",
        ),
        "letter": ChannelSpec(
            cost_per_contact=0.8,
            connect=0.9,
            right_party=0.55,
            effect=2.85,
            irritation=0.05,
            complaint_weight=0.2,
        ),
    }


@dataclass(frozen=True)
class ChannelTable:
    """Per-channel parameters as arrays indexed by channel code (what the kernels read).

    Attributes
    ----------
    cost_cents, attempt_minutes, connect_minutes, handle_minutes, connect, right_party, effect, irritation, complaint_weight, optout_prob:
        One value per channel (money in cents).
    connect_by_hour:
        ``(channels, 24)`` hourly multipliers of connect.
    team:
        Name of the team that works each channel (None: automated).
    team_of:
        Index of that team in ``team_names`` (−1: automated), per channel code.
    team_names:
        The scenario's team names, in order.
    """

    cost_cents: np.ndarray
    attempt_minutes: np.ndarray
    connect_minutes: np.ndarray
    handle_minutes: np.ndarray
    connect: np.ndarray
    connect_by_hour: np.ndarray
    right_party: np.ndarray
    effect: np.ndarray
    irritation: np.ndarray
    complaint_weight: np.ndarray
    optout_prob: np.ndarray
    team: tuple[str | None, ...]
    team_of: np.ndarray
    team_names: tuple[str, ...]

    @classmethod
    def build(cls, channels: dict[str, ChannelSpec], team_names: list[str] | tuple[str, ...]) -> ChannelTable:
        """The table of a scenario's ``channels`` worked by the teams ``team_names``."""
        specs = [channels[c] for c in CHANNELS]
        names = tuple(team_names)
        col = lambda attr: np.array([getattr(c, attr) for c in specs])  # noqa: E731
        return cls(
            cost_cents=np.array([c.cost_per_contact * 100.0 for c in specs]),
            attempt_minutes=col("attempt_minutes"),
            connect_minutes=col("connect_minutes"),
            handle_minutes=col("handle_minutes"),
            connect=col("connect"),
            connect_by_hour=np.array([c.connect_by_hour for c in specs]),
            right_party=col("right_party"),
            effect=col("effect"),
            irritation=col("irritation"),
            complaint_weight=col("complaint_weight"),
            optout_prob=col("optout_prob"),
            team=tuple(c.team for c in specs),
            team_of=np.array([names.index(c.team) if c.team in names else -1 for c in specs]),
            team_names=names,
        )
