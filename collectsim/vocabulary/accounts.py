"""Account statuses, contact outcomes and DPD buckets (primer §1).

An account is *active* while in collections and leaves it exactly once: cured (arrears
paid, back to current), paid (whole balance), settled (a settlement accepted) or charged
off. DPD buckets: M1 = 1–30 DPD, …, M6 = 151–180 (M6 also holds everything past 180);
:func:`bucket_of` / :func:`dpd_buckets` are the one DPD → bucket function.
"""

from __future__ import annotations

import numpy as np

from collectsim.kernels import njit

__all__ = [
    "ACTIVE",
    "CURED",
    "PAID",
    "SETTLED",
    "CHARGED_OFF",
    "STATUS_NAMES",
    "GOOD_ENDINGS",
    "OUTCOMES",
    "BUCKETS",
    "bucket_of",
    "dpd_buckets",
]

#: Account status codes and their names.
ACTIVE, CURED, PAID, SETTLED, CHARGED_OFF = range(5)
STATUS_NAMES: tuple[str, ...] = ("active", "cured", "paid", "settled", "charged_off")
#: Resolutions of a customer who may stay or leave afterwards (churn counts only these).
GOOD_ENDINGS: tuple[int, ...] = (CURED, PAID, SETTLED)

#: Outcome of an executed contact, by code (the contact log's ``outcome``): nobody answered,
#: answered by someone else (a connect), the debtor reached (a right-party contact), a
#: promise to pay made, an instalment plan accepted, a settlement accepted.
OUTCOMES: tuple[str, ...] = ("no_answer", "connect", "rpc", "promise", "plan", "settled")

#: DPD buckets (primer §1): bucket k holds DPD 30k+1 .. 30(k+1); M6 also holds > 180.
BUCKETS: tuple[str, ...] = ("M1", "M2", "M3", "M4", "M5", "M6")


@njit
def bucket_of(dpd) -> int:
    """Bucket index 0..5 of one DPD value: ⌊(dpd − 1)/30⌋ clipped to [0, 5] (for kernels)."""
    return min(max((np.int64(dpd) - 1) // 30, 0), 5)


def dpd_buckets(dpd: np.ndarray) -> np.ndarray:
    """Bucket index 0..5 (int8) of every entry of ``dpd`` (same rule as :func:`bucket_of`)."""
    return np.clip((dpd.astype(np.int32) - 1) // 30, 0, 5).astype(np.int8)
