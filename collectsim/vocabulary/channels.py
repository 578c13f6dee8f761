"""The contact channels a collections department uses (primer §1), with their integer codes.

The channels are fixed by the domain; their *parameters* (cost, reach by hour, effect,
irritation, which team works them) are scenario data: :mod:`collectsim.scenario.channels`.
"""

from __future__ import annotations

from collectsim.errors import InputError

__all__ = [
    "CHANNELS",
    "CHANNEL_INDEX",
    "SMS",
    "EMAIL",
    "IVR",
    "CALL",
    "VISIT",
    "LETTER",
    "CONVERSATION_CHANNELS",
    "channel_code",
]

#: Channel names in code order; a channel's code is its index here.
CHANNELS: tuple[str, ...] = ("sms", "email", "ivr", "call", "visit", "letter")
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}
SMS, EMAIL, IVR, CALL, VISIT, LETTER = range(len(CHANNELS))

#: Channels on which reaching the debtor is a conversation with a person (an agent's call,
#: a field visit): only a conversation can carry an offer.
CONVERSATION_CHANNELS: tuple[int, ...] = (CALL, VISIT)


def channel_code(name: str, field: str = "channel") -> int:
    """Return the code of channel ``name``; raise :class:`~collectsim.errors.InputError` if unknown."""
    try:
        return CHANNEL_INDEX[name]
    except KeyError:
        raise InputError(f"{field} = {name!r}: unknown channel; allowed: {', '.join(CHANNELS)}") from None
