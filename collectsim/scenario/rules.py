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

# The engine's own reading of what each channel is (docs/audit.md, "What each channel is in
# law", quotes the texts; the independent audit keeps its own table and shares nothing):
#: telephone calls by any means: an agent's call and an automated-voice (IVR) call both ring
#: the person's telephone (12 CFR 1006.14(b)(1): "place telephone calls ... at the called
#: number"; 940 CMR 7.04(1)(f): "via telephone, either in person or via ... recorded audio
#: message"; GB/T 45251: "以语音形式（含智能语音）", by voice, intelligent voice included).
_TELEPHONE = ["call", "ivr"]
#: the media of communication (12 CFR 1006.14(h)(1): no contact "through a medium of
#: communication if the person has requested that the debt collector not use that medium"):
#: telephone (agent and IVR calls), text message, e-mail, in person, mail.
_MEDIA = [_TELEPHONE, ["sms"], ["email"], ["visit"], ["letter"]]


def _opt_out(name: str) -> list[Rule]:
    """One opt-out rule per medium, all named ``name`` (their blocked counts add up)."""
    return [Rule(kind="opt_out", name=name, channels=list(medium)) for medium in _MEDIA]


#: Rule presets by name. Each rule counts what its text counts; docs/audit.md quotes the
#: texts ("The requirements and their texts") and docs/model.md lists the presets.
PRESETS: dict[str, list[Rule]] = {
    "us-reg-f": [
        # 12 CFR 1006.6(b)(1)(i): "a time before 8:00 a.m. and after 9:00 p.m. local time at the
        # consumer's location is inconvenient"; any communication or attempt, every medium
        Rule(kind="quiet_hours", name="reg-f-inconvenient-time", channels=_ALL, start_hour=8, end_hour=21),
        # 12 CFR 1006.6(e), 1006.14(h)(1): no further contact through a medium opted out of
        *_opt_out("reg-f-opt-out"),
        # 12 CFR 1006.14(b)(2)(i)(A): a telephone call placed "more than seven times within seven
        # consecutive days"; telephone calls by any means, answered or not
        Rule(kind="max_attempts", name="reg-f-7-in-7", channels=list(_TELEPHONE), max_count=7, window_days=7),
        # 12 CFR 1006.14(b)(2)(i)(B): "within a period of seven consecutive days after having had a
        # telephone conversation ... The date of the telephone conversation is the first day"
        Rule(
            kind="cooldown_after_conversation",
            name="reg-f-7-after-conversation",
            channels=list(_TELEPHONE),
            window_days=7,
        ),
    ],
    "us-ma": [
        # 940 CMR 7.04(1), 7.05(3)(e): "at any time other than between 8:00 A.M. and 9:00 P.M."
        Rule(kind="quiet_hours", name="ma-inconvenient-time", channels=_ALL, start_hour=8, end_hour=21),
        # the preset applies Regulation F's opt-out (12 CFR 1006.14(h)(1)): per medium
        *_opt_out("ma-opt-out"),
        # 940 CMR 7.04(1)(f): "via telephone, either in person or via text messaging or recorded
        # audio message, in excess of two such communications in each seven-day period"
        Rule(
            kind="max_attempts",
            name="ma-2-per-7",
            channels=["call", "sms", "ivr"],
            max_count=2,
            window_days=7,
        ),
    ],
    "cn-gbt-45251": [
        # GB/T 45251 and the CBA guideline (2026): no collection 22:00-08:00, any medium
        Rule(kind="quiet_hours", name="cn-quiet-22-08", channels=_ALL, start_hour=8, end_hour=22),
        # CBA guideline: "尝试拨打次数当天不宜超过6次", at most 6 dial attempts a day, by any means
        Rule(kind="max_attempts", name="cn-6-attempts-per-day", channels=list(_TELEPHONE), max_count=6, window_days=1),
        # GB/T 45251: "以语音形式（含智能语音）... 主动有效通话每日不应超过3次", at most 3 connected
        # voice calls a day, intelligent voice included
        Rule(kind="max_connects", name="cn-3-connected-per-day", channels=list(_TELEPHONE), max_count=3, window_days=1),
    ],
    "none": [],
}


def resolve_rules(rules: RuleSet) -> list[Rule]:
    """The preset's rules followed by the extra ones."""
    return list(PRESETS[rules.preset]) + list(rules.extra)
