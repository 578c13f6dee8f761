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

The daily behaviour steps are numba kernels (``docs/performance.md``); inside them a
uniform is :func:`uniform_at` ``(base, counter)``, where ``base`` =
:meth:`Streams.base` ``(source, day, slot)`` is computed once per call. It is the same
hash as :meth:`Streams.uniform`, bit for bit.
"""

from __future__ import annotations

import zlib

import numpy as np

try:  # numba compiles the daily kernels; without it they run as (slow) plain Python
    from numba import njit as _numba_njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency
    _numba_njit = None
    HAVE_NUMBA = False

__all__ = ["Streams", "SOURCES", "njit", "uniform_at", "HAVE_NUMBA"]


def njit(fn=None, **kw):
    """``numba.njit(cache=True, error_model="numpy")``, or the plain function without numba.

    ``error_model="numpy"``: a division by zero gives inf/nan instead of raising, so
    divisions carry no zero check (the kernels never divide by zero: κ > 0 and
    instalments >= 1 cent are validated).
    """
    if fn is None:
        return lambda f: njit(f, **kw)
    if _numba_njit is None:  # pragma: no cover
        return fn
    return _numba_njit(cache=True, error_model="numpy", **kw)(fn)

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


@njit
def uniform_at(base: np.uint64, counter: np.int64) -> float:
    """The uniform of a stream position: SplitMix64 of ``counter · golden + base`` (kernels)."""
    x = np.uint64(counter) * _GOLDEN + base
    x = x ^ (x >> _S30)
    x = x * _C1
    x = x ^ (x >> _S27)
    x = x * _C2
    x = x ^ (x >> _S31)
    return np.float64(x >> _S11) * _INV53


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

    def base(self, source: str, day: int, slot: int = 0) -> np.uint64:
        """The 64-bit offset of ``(source, day, slot)``; see :func:`uniform_at`."""
        return np.uint64(_mix_scalar(self._keys[source] ^ _mix_scalar(day * 0x100000001B3 + slot + 1)))

    def uniform(self, source: str, day: int, accounts: np.ndarray, slot: int = 0) -> np.ndarray:
        """Uniforms in [0, 1), one per entry of ``accounts``, for ``(source, day, slot)``.

        The value for a given (source, day, account, slot) never depends on which other
        accounts are drawn in the same call: the basis of common random numbers.
        """
        base = self.base(source, day, slot)
        x = accounts.astype(np.uint64) * _GOLDEN
        x += np.uint64(base)
        x = _mix(x)
        return (x >> _S11).astype(np.float64) * _INV53

    def uniform_all(self, source: str, day: int, n: int, slot: int = 0) -> np.ndarray:
        """Uniforms for accounts 0..n-1 (the whole population) for ``(source, day, slot)``."""
        return self.uniform(source, day, np.arange(n, dtype=np.uint64), slot)
