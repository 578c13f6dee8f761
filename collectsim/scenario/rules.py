"""Contact rules as data: the rule kinds, a rule set, and the jurisdiction presets (primer §3).

A :class:`Rule` is one hard limit (quiet hours, an attempt or connect cap over a window, a
cooldown after a conversation, an opt-out); a :class:`RuleSet` names a preset and adds
rules. :data:`PRESETS` are the presets' rules. The engine that enforces them is
:mod:`collectsim.compliance`; the audit that re-checks a contact log from the rule texts is
:mod:`collectsim.validation.audit`.

Rule kinds:

``quiet_hours``
    a contact on one of ``channels`` is allowed only for ``start_hour <= hour < end_hour``.
``opt_out``
    no contact on any of ``channels`` after the debtor opted out of one of ``channels``: the
    rule's channels are one medium, and an opt-out through any of them stops them all (the
    same day included). For one medium per rule, list one rule per medium; rules may share
    a name, and their blocked counts then add up.
``max_attempts``
    at most ``max_count`` executed contacts on ``channels`` in any ``window_days``
    consecutive days (the current day counts as day 1).
``max_connects``
    at most ``max_count`` connected contacts (answered or delivered, by anyone) on
    ``channels`` in any ``window_days`` days; once the cap is reached no further attempt
    is made in the window.
``cooldown_after_conversation``
    after a conversation (a right-party contact) on ``channels`` on day d, no further contact on
    ``channels`` on days d .. d + window_days − 1 (Reg F: the conversation day is day 1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from collectsim.scenario.base import Strict
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["Rule", "RuleSet", "PRESETS", "resolve_rules"]


class Rule(Strict):
    """One hard contact rule (the kinds: module docstring)."""

    kind: Literal[
        "quiet_hours", "max_attempts", "max_connects", "cooldown_after_conversation", "opt_out"
    ] = Field(..., description="What the rule limits.")
    name: str = Field(..., min_length=1, description="Name used in the 'blocked' counts.")
    channels: list[str] = Field(
        default_factory=lambda: list(CHANNELS), description="Channels the rule counts and limits."
    )
    start_hour: int = Field(8, ge=0, le=23, description="quiet_hours: first allowed hour.")
    end_hour: int = Field(21, ge=1, le=24, description="quiet_hours: first hour no longer allowed.")
    max_count: int = Field(7, ge=0, le=1000, description="max_*: the cap within the window.")
    window_days: int = Field(
        7, ge=1, le=60, description="max_* / cooldown: window length in days (day itself = day 1)."
    )

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        for c in v:
            if c not in CHANNELS:
                raise ValueError(f"unknown channel {c!r}; allowed: {', '.join(CHANNELS)}")
        if not v:
            raise ValueError("needs at least one channel")
        return v

    @model_validator(mode="after")
    def _hours(self) -> Rule:
        if self.kind == "quiet_hours" and self.start_hour >= self.end_hour:
            raise ValueError(f"start_hour ({self.start_hour}) must be < end_hour ({self.end_hour})")
        return self


class RuleSet(Strict):
    """A contact rule set: a named preset, optionally extended by extra rules."""

    preset: Literal["us-reg-f", "us-ma", "cn-gbt-45251", "none"] = Field(
        "us-reg-f", description="Jurisdiction preset (primer §3)."
    )
    extra: list[Rule] = Field(default_factory=list, description="Rules added to the preset.")


_ALL = list(CHANNELS)

#: Rule presets by name (primer §3 gives the legal sources and numbers).
PRESETS: dict[str, list[Rule]] = {
    "us-reg-f": [
        Rule(kind="quiet_hours", name="reg-f-inconvenient-time", channels=_ALL, start_hour=8, end_hour=21),
        Rule(kind="opt_out", name="reg-f-opt-out", channels=["sms", "email"]),
        Rule(kind="max_attempts", name="reg-f-7-in-7", channels=["call"], max_count=7, window_days=7),
        Rule(
            kind="cooldown_after_conversation",
            name="reg-f-7-after-conversation",
            channels=["call"],
            window_days=7,
        ),
    ],
    "us-ma": [
        Rule(kind="quiet_hours", name="ma-inconvenient-time", channels=_ALL, start_hour=8, end_hour=21),
        Rule(kind="opt_out", name="ma-opt-out", channels=["sms", "email"]),
        Rule(
            kind="max_attempts",
            name="ma-2-per-7",
            channels=["call", "sms", "ivr"],
            max_count=2,
            window_days=7,
        ),
    ],
    "cn-gbt-45251": [
        Rule(kind="quiet_hours", name="cn-quiet-22-08", channels=_ALL, start_hour=8, end_hour=22),
        Rule(kind="max_attempts", name="cn-6-attempts-per-day", channels=["call"], max_count=6, window_days=1),
        Rule(kind="max_connects", name="cn-3-connected-per-day", channels=["call"], max_count=3, window_days=1),
    ],
    "none": [],
}


def resolve_rules(rules: RuleSet) -> list[Rule]:
    """The preset's rules followed by the extra ones."""
    return list(PRESETS[rules.preset]) + list(rules.extra)
