"""Random streams: one per source of randomness, addressed by (account, day, slot).

Common random numbers (CRN) are what make two policies comparable on the same seed: the
same account on the same day must meet the same luck whatever the policy did to *other*
accounts. A sequential generator cannot promise that (drawing for a different set of
accounts shifts every later draw), so daily behaviour uses a *counter-based* generator: the
uniform for (stream, day, account, slot) is a hash of those four numbers
(SplitMix64 finaliser, Steele, Lea & Flood 2014), computed vectorised in numpy. Each
source (regime moves, repayment events, reach, responses, complaints, ...) has its own
64-bit key derived from the seed with :class:`numpy.random.SeedSequence`, so streams are
independent and adding a source never changes another one's draws.

One-off draws at set-up (balances, latent traits) come from a :class:`numpy.random.Generator`
seeded from the same :class:`~numpy.random.SeedSequence` under the source name.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams", "SOURCES"]

#: The named sources of randomness. Their order never matters: keys derive from the names.
SOURCES: tuple[str, ...] = (
    "population",
    "regime",
    "repay_event",
    "repay_fraction",
    "full_payment",
    "reach",
    "response",
    "keep",
    "complaint",
    "optout",
    "churn",
    "collectors",
    "policy",
)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic), in place where possible."""
    x = x ^ (x >> _S30)
    x *= _C1
    x ^= x >> _S27
    x *= _C2
    x ^= x >> _S31
    return x


def _mix_scalar(x: int) -> int:
    m = (1 << 64) - 1
    x &= m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


class Streams:
    """The random streams of one replication, derived from one integer seed.

    Parameters
    ----------
    seed:
        Non-negative integer seed of the replication.
    """

    def __init__(self, seed: int) -> None:
        if not isinstance(seed, (int, np.integer)) or int(seed) < 0:
            raise ValueError(f"seed = {seed!r}: must be a non-negative integer")
        self.seed = int(seed)
        self._keys: dict[str, int] = {}
        for name in SOURCES:
            ss = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
            self._keys[name] = int(ss.generate_state(1, dtype=np.uint64)[0])

    def generator(self, source: str) -> np.random.Generator:
        """A sequential generator for one-off draws of ``source`` (e.g. the population)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(source.encode()), 1))
        return np.random.default_rng(ss)

    def key(self, source: str) -> int:
        """The 64-bit key of ``source``."""
        return self._keys[source]

    def uniform(self, source: str, day: int, accounts: np.ndarray, slot: int = 0) -> np.ndarray:
        """Uniforms in [0, 1), one per entry of ``accounts``, for ``(source, day, slot)``.

        The value for a given (source, day, account, slot) never depends on which other
        accounts are drawn in the same call: the basis of common random numbers.
        """
        base = _mix_scalar(self._keys[source] ^ _mix_scalar(day * 0x100000001B3 + slot + 1))
        x = accounts.astype(np.uint64) * _GOLDEN
        x += np.uint64(base)
        x = _mix(x)
        return (x >> _S11).astype(np.float64) * _INV53

    def uniform_all(self, source: str, day: int, n: int, slot: int = 0) -> np.ndarray:
        """Uniforms for accounts 0..n-1 (the whole population) for ``(source, day, slot)``."""
        return self.uniform(source, day, np.arange(n, dtype=np.uint64), slot)
