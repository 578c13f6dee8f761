"""The one seed convention for replications.

Replication ``i`` of a study that starts at seed ``s`` runs on seed ``s + i``
(:func:`replication_seeds`). ``collectsim run`` is replication 0; a comparison's
replications are ``seed, seed + 1, …``; the optimizer keeps two disjoint *banks* of
replications, each a run of consecutive seeds from its own start (:func:`bank_start`):
the search bank from ``seed·100000 + 1``, the validation bank from ``seed·100000 + 50001``.
"""

from __future__ import annotations

__all__ = ["replication_seeds", "bank_start", "BANK_STRIDE", "BANK_OFFSETS"]

#: Seeds reserved per optimizer seed (its banks never overlap another optimizer seed's).
BANK_STRIDE = 100_000
#: Where each optimizer bank starts within its stride.
BANK_OFFSETS: dict[str, int] = {"search": 1, "validation": 50_001}


def replication_seeds(first: int, n: int) -> list[int]:
    """The seeds of replications ``0 .. n − 1`` starting at seed ``first``."""
    return list(range(first, first + n))


def bank_start(seed: int, bank: str) -> int:
    """The first seed of an optimizer bank (``search`` or ``validation``) for ``seed``."""
    return seed * BANK_STRIDE + BANK_OFFSETS[bank]
