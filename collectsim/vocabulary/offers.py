"""What a right-party conversation can offer (primer §1), with integer codes.

``ptp`` asks for a promise to pay the arrears; ``instalment`` offers a repayment plan;
``settlement`` accepts part of the balance and forgives the rest.
"""

from __future__ import annotations

__all__ = ["OFFERS", "OFFER_INDEX", "NO_OFFER", "PTP", "INSTALMENT", "SETTLEMENT"]

#: Offer names in code order.
OFFERS: tuple[str, ...] = ("none", "ptp", "instalment", "settlement")
OFFER_INDEX: dict[str, int] = {name: i for i, name in enumerate(OFFERS)}
NO_OFFER, PTP, INSTALMENT, SETTLEMENT = range(len(OFFERS))
