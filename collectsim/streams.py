"""Random streams: one per source of randomness, addressed by (source, day, account).

Common random numbers (CRN) are what make two policies comparable on the same seed: the
same account on the same day must meet the same luck whatever the policy did to *other*
accounts. A sequential generator cannot promise that (drawing for a different set of
accounts shifts every later draw), so daily behaviour uses a *counter-based* generator: the
uniform for (source, day, sub-stream, counter) is a hash of those numbers (SplitMix64
finaliser, Steele, Lea & Flood 2014). Each source has its own 64-bit key derived from the
seed with :class:`numpy.random.SeedSequence` under the source's name, so streams are
independent and adding a source never changes another one's draws.

Every source is declared once, in :data:`SOURCES`: whether it is drawn once at set-up
(a :class:`numpy.random.Generator`) or day by day, its named sub-streams, and what its
counter counts — the account number, or (account number, request) for draws made per
requested contact, laid out as ``account × REQUESTS_PER_ACCOUNT_DAY + request``
(:func:`request_counter`). :meth:`Streams.base` refuses a source or sub-stream that is
not declared.

Inside the numba kernels a uniform is :func:`uniform_at` ``(base, counter)``, where
``base`` = :meth:`Streams.base` ``(source, day, substream)`` is computed once per call.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from collectsim.kernels import njit

__all__ = ["Source", "SOURCES", "REQUESTS_PER_ACCOUNT_DAY", "Streams", "uniform_at", "request_counter"]


@dataclass(frozen=True)
class Source:
    """One source of randomness.

    Attributes
    ----------
    name:
        The source's name (its key derives from it).
    kind:
        ``setup``: one-off sequential draws when the model is built
        (:meth:`Streams.generator`); ``daily``: counter-based draws, one per counter value
        and day (:meth:`Streams.base` and :func:`uniform_at`).
    counter:
        For daily sources, what the counter counts: ``account`` (the account number) or
        ``request`` (:func:`request_counter` of the account number and the request's
        position among the account's requests of the day).
    substreams:
        Names of independent sub-streams of a daily source (the first is the default).
    use:
        What the draws decide.
    """

    name: str
    kind: Literal["setup", "daily"]
    counter: Literal["account", "request"] | None = None
    substreams: tuple[str, ...] = ("main",)
    use: str = ""


#: Every source of randomness, by name.
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("population", "setup", use="segments, balances, latent traits, score noise, entry DPD"),
        Source("collectors", "setup", use="collector skills"),
        Source("regime", "daily", "account", use="moves of the ability regime"),
        Source("repay_event", "daily", "account", use="whether a self-exciting repayment happens"),
        Source("full_payment", "daily", "account", use="whether a repayment pays everything due"),
        Source("repay_fraction", "daily", "account", use="the fraction R a partial repayment pays"),
        Source("connect", "daily", "request", use="whether a contact is connected (answered, delivered)"),
        Source("right_party", "daily", "request", use="whether a connected contact reaches the debtor themself"),
        Source("optout", "daily", "request", use="whether a reached contact makes the debtor opt out"),
        Source("complaint", "daily", "request", use="whether a contact draws a complaint"),
        Source("response", "daily", "account", ("offer", "promise_day"),
               use="acceptance of the offer in a conversation; the promised day"),
        Source("keep", "daily", "account", ("promise", "plan"), use="promises kept; plan instalments paid"),
        Source("churn", "daily", "account", use="whether a resolved customer leaves"),
        Source("bankruptcy", "daily", "account", use="whether a bankruptcy notice charges an account off"),
        Source("policy", "daily", "account", use="a policy's own randomisation"),
        Source("adaptive", "daily", "account", ("holdout", "assign", "posterior", "posterior_angle"),
               use="the adaptive policy: holdout membership, arm assignment, Thompson draws of the posterior"),
    )
}

#: Counter layout of ``request`` sources: at most this many requests per account and day
#: have distinct draws (``account × REQUESTS_PER_ACCOUNT_DAY + request``).
REQUESTS_PER_ACCOUNT_DAY = 1024

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


@njit
def request_counter(account_id, request) -> np.int64:
    """Counter of a ``request`` source: account number × REQUESTS_PER_ACCOUNT_DAY + request."""
    return np.int64(account_id) * REQUESTS_PER_ACCOUNT_DAY + request


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

    @staticmethod
    def _source(name: str, kind: str) -> Source:
        src = SOURCES.get(name)
        if src is None or src.kind != kind:
            have = ", ".join(n for n, s in SOURCES.items() if s.kind == kind)
            raise ValueError(f"source = {name!r}: not a declared {kind} source; declared: {have}")
        return src

    def generator(self, source: str) -> np.random.Generator:
        """A sequential generator for the one-off draws of a ``setup`` source."""
        self._source(source, "setup")
        ss = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(source.encode()), 1))
        return np.random.default_rng(ss)

    def key(self, source: str) -> int:
        """The 64-bit key of ``source``."""
        return self._keys[source]

    def base(self, source: str, day: int, substream: str | None = None) -> np.uint64:
        """The 64-bit offset of ``(source, day, substream)`` for :func:`uniform_at`.

        ``substream`` names one of the source's declared sub-streams (default: its first).
        """
        src = self._source(source, "daily")
        slot = 0 if substream is None else src.substreams.index(substream) if substream in src.substreams else -1
        if slot < 0:
            raise ValueError(f"substream = {substream!r}: not a sub-stream of {source!r}; declared: "
                             f"{', '.join(src.substreams)}")
        return np.uint64(_mix_scalar(self._keys[source] ^ _mix_scalar(day * 0x100000001B3 + slot + 1)))

    def uniform(self, source: str, day: int, counters: np.ndarray, substream: str | None = None) -> np.ndarray:
        """Uniforms in [0, 1), one per counter value (vectorised :func:`uniform_at`).

        The value for a given (source, day, sub-stream, counter) never depends on which
        other counters are drawn in the same call: the basis of common random numbers.
        """
        base = self.base(source, day, substream)
        x = counters.astype(np.uint64) * _GOLDEN
        x += np.uint64(base)
        x = _mix(x)
        return (x >> _S11).astype(np.float64) * _INV53
