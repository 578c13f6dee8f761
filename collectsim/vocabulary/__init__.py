"""The vocabulary: the words every other layer uses, with their integer codes.

Nothing here depends on a scenario: contact channels and offers (:mod:`.channels`,
:mod:`.offers`), account statuses, contact outcomes and DPD buckets with the one DPD → bucket
function (:mod:`.accounts`), and units (:mod:`.units`). A code is an index into a name tuple,
so ``CHANNELS[SMS] == "sms"``.
"""

from collectsim.vocabulary.accounts import (
    ACTIVE,
    BUCKETS,
    CHARGED_OFF,
    CURED,
    GOOD_ENDINGS,
    OUTCOMES,
    PAID,
    SETTLED,
    STATUS_NAMES,
    bucket_of,
    dpd_buckets,
)
from collectsim.vocabulary.channels import (
    CALL,
    CHANNEL_INDEX,
    CHANNELS,
    CONVERSATION_CHANNELS,
    EMAIL,
    IVR,
    LETTER,
    SMS,
    VISIT,
    channel_code,
)
from collectsim.vocabulary.offers import INSTALMENT, NO_OFFER, OFFER_INDEX, OFFERS, PTP, SETTLEMENT
from collectsim.vocabulary.units import CENTS_PER_UNIT, DAYS_PER_YEAR, DT

__all__ = [
    "ACTIVE", "CURED", "PAID", "SETTLED", "CHARGED_OFF", "STATUS_NAMES", "GOOD_ENDINGS", "OUTCOMES", "BUCKETS",
    "bucket_of", "dpd_buckets",
    "CHANNELS", "CHANNEL_INDEX", "SMS", "EMAIL", "IVR", "CALL", "VISIT", "LETTER", "CONVERSATION_CHANNELS",
    "channel_code",
    "OFFERS", "OFFER_INDEX", "NO_OFFER", "PTP", "INSTALMENT", "SETTLEMENT",
    "CENTS_PER_UNIT", "DAYS_PER_YEAR", "DT",
]
