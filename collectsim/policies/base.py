"""The policy interface: observable state in, contact requests out.

A policy sees exactly what a collections department sees (:class:`Observation`): risk tier
and score, DPD, balances, contact and payment history, promises, plans and opt-outs —
never the latent traits (segment, regime, willingness, intensity, irritation). It returns
:class:`Requests`: which account to contact, on which channel, at what hour, with which
offer, in what priority order. The model's rule engine then filters the requests; the
collectors execute what the rules allow and their minutes permit.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from collectsim.vocabulary.accounts import dpd_buckets
from collectsim.vocabulary.channels import CHANNELS
from collectsim.vocabulary.offers import OFFERS

__all__ = ["Observation", "Requests", "Policy"]


@dataclass(frozen=True)
class Observation:
    """What a real collections department can see on ``day`` (read-only array views).

    All arrays are indexed by *slot* (length ``n``), one account per slot, and requests
    name slots; ``active`` marks accounts still in collections (not cured, paid, settled or
    charged off). Slots are stable within a day; between days the engine may move the
    active accounts to the front slots (dense memory while the book shrinks) and puts
    every account back into the slot of its number when the horizon ends. ``account_id``
    is the account number each slot holds: a policy that keeps state across days keys it
    by account number. ``active_index`` lists the active slots in ascending order (the
    same information as ``active``), so a policy can work on the accounts in collections
    without scanning the whole book.
    """

    day: int
    n: int
    active: np.ndarray  #: bool: still in collections
    tier: np.ndarray  #: int8: risk tier index (0 = riskiest), see ``tier_names``
    tier_names: tuple[str, ...]
    score: np.ndarray  #: float32: risk score in (0, 1), higher = more likely to pay
    dpd: np.ndarray  #: int16: days past due
    balance: np.ndarray  #: int64: outstanding balance, cents
    arrears: np.ndarray  #: int64: amount overdue, cents
    last_payment_day: np.ndarray  #: int16: day of the last payment (-1: none)
    last_contact_day: np.ndarray  #: int16: day of the last executed contact (-1: none)
    last_rpc_day: np.ndarray  #: int16: day of the last right-party contact (-1: none)
    promise_due_day: np.ndarray  #: int16: due day of a pending promise (-1: none)
    broken_promises: np.ndarray  #: int8: promises broken so far
    in_plan: np.ndarray  #: bool: paying an instalment plan
    opted_out: np.ndarray  #: uint8: bit c set = opted out of channel code c
    account_id: np.ndarray  #: int64: account number held by each slot
    active_index: np.ndarray  #: int64: ascending slots of the active accounts
    entry_day: np.ndarray  #: int16: the day the account entered collections (0: the opening stock)

    def account_number(self, slots: np.ndarray) -> np.ndarray:
        """The account numbers held by ``slots`` (stable across days, unlike slots)."""
        return self.account_id[slots]

    @property
    def bucket(self) -> np.ndarray:
        """DPD bucket index 0..5 (M1..M6; M6 includes everything past 180 DPD)."""
        return dpd_buckets(self.dpd)


def _empty(dtype: type) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class Requests:
    """Contact requests of one day: parallel arrays, one entry per requested contact.

    ``offer`` codes index :data:`collectsim.vocabulary.offers.OFFERS`; ``discount`` is the
    settlement discount (fraction of the balance forgiven) and ``plan_months`` the length of
    an instalment plan, used when the offer is made in a conversation. Higher ``priority``
    is worked first by collectors.
    """

    account: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    channel: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    hour: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    offer: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    discount: np.ndarray = field(default_factory=lambda: _empty(np.float32))
    plan_months: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    priority: np.ndarray = field(default_factory=lambda: _empty(np.float32))

    def __len__(self) -> int:
        return len(self.account)

    def validate(self, n: int) -> None:
        """Raise ``ValueError`` if arrays disagree in length or hold out-of-range codes."""
        m = len(self.account)
        for name in ("channel", "hour", "offer", "discount", "plan_months", "priority"):
            if len(getattr(self, name)) != m:
                raise ValueError(f"Requests.{name} has length {len(getattr(self, name))}, expected {m}")
        if m == 0:
            return
        if self.account.min() < 0 or self.account.max() >= n:
            raise ValueError(f"Requests.account out of range [0, {n})")
        if self.channel.min() < 0 or self.channel.max() >= len(CHANNELS):
            raise ValueError("Requests.channel holds an unknown channel code")
        if self.hour.min() < 0 or self.hour.max() > 23:
            raise ValueError("Requests.hour must be in 0..23")
        if self.offer.min() < 0 or self.offer.max() >= len(OFFERS):
            raise ValueError("Requests.offer holds an unknown offer code")
        if self.discount.min() < 0 or self.discount.max() >= 1:
            raise ValueError("Requests.discount must be in [0, 1)")

    def take(self, mask_or_index: np.ndarray) -> Requests:
        """The subset selected by a boolean mask or an index array."""
        return Requests(
            **{k: getattr(self, k)[mask_or_index] for k in self.__dataclass_fields__}
        )

    @staticmethod
    def concat(parts: list[Requests]) -> Requests:
        """Concatenate several request sets."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Requests()
        return Requests(
            **{k: np.concatenate([getattr(p, k) for p in parts]) for k in Requests.__dataclass_fields__}
        )


class Policy(abc.ABC):
    """A contact policy: observable state in, contact requests out.

    Subclass it and implement :meth:`decide`; give the class (or instance) a ``name``.
    :meth:`prepare` is called once before a run with the scenario's tier names (check that
    the policy fits the scenario there, raising :class:`~collectsim.errors.InputError`);
    :meth:`to_dict` returns the policy as plain data when it has a file form (a rule table).
    Policies must be picklable (replications run in worker processes).
    """

    name: str = "policy"

    def prepare(self, tier_names: tuple[str, ...]) -> None:  # noqa: B027 - optional hook
        """Check the policy against a scenario's risk tiers before a run (default: nothing)."""

    @abc.abstractmethod
    def decide(self, obs: Observation) -> Requests:
        """Return today's contact requests for the observable state ``obs``."""

    def to_dict(self) -> dict | None:
        """The policy as plain data (a policy file's ``[policy]`` table), or None if it has none."""
        return None
