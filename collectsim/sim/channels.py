"""The contact channels and offers the simulator knows, with their integer codes.

Channels are fixed by the domain (primer §1): the six treatments a collections
department uses. Their *parameters* (cost, reach by hour, effect, irritation…) live in
the scenario (:class:`collectsim.sim.scenario.ChannelSpec`).
"""

from __future__ import annotations

__all__ = [
    "CHANNELS",
    "CHANNEL_INDEX",
    "AGENT_CHANNELS",
    "AUTOMATED_CHANNELS",
    "TELEPHONE_CHANNELS",
    "OFFERS",
    "OFFER_INDEX",
    "SMS",
    "EMAIL",
    "IVR",
    "CALL",
    "VISIT",
    "LETTER",
    "channel_code",
]

#: Channel names in code order; a channel's code is its index here.
CHANNELS: tuple[str, ...] = ("sms", "email", "ivr", "call", "visit", "letter")
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}
SMS, EMAIL, IVR, CALL, VISIT, LETTER = range(len(CHANNELS))

#: Channels worked by collectors (they need a team with minutes).
AGENT_CHANNELS: frozenset[int] = frozenset({CALL, VISIT})
#: Channels sent by rules, with no collector: they cost money, not minutes.
AUTOMATED_CHANNELS: frozenset[int] = frozenset({SMS, EMAIL, IVR, LETTER})
#: Channels that reach the debtor's phone (for rules counting "telephone communications").
TELEPHONE_CHANNELS: frozenset[int] = frozenset({SMS, IVR, CALL})

#: Offers a conversation can carry. ``ptp`` asks for a promise to pay the arrears.
OFFERS: tuple[str, ...] = ("none", "ptp", "instalment", "settlement")
OFFER_INDEX: dict[str, int] = {name: i for i, name in enumerate(OFFERS)}


def channel_code(name: str, field: str = "channel") -> int:
    """Return the code of channel ``name``; raise :class:`~collectsim.errors.InputError` if unknown."""
    from collectsim.errors import InputError

    try:
        return CHANNEL_INDEX[name]
    except KeyError:
        raise InputError(
            f"{field} = {name!r}: unknown channel; allowed: {', '.join(CHANNELS)}"
        ) from None
