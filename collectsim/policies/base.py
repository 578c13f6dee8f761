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

from collectsim.errors import InputError
from collectsim.vocabulary.accounts import dpd_buckets
from collectsim.vocabulary.channels import CHANNELS
from collectsim.vocabulary.offers import OFFERS

__all__ = ["Observation", "Outcomes", "Requests", "Effort", "Policy"]


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


@dataclass(frozen=True)
class Outcomes:
    """What a collections department learns about one finished day (``day``).

    Given to a *learning* policy (:attr:`Policy.learns`) through :meth:`Policy.observe` at
    the end of the day, so it knows them the next morning before :meth:`Policy.decide`.
    Every array names accounts by **account number** (stable across days, unlike slots),
    never by slot, and holds only what the department's own systems record — never a
    latent trait (segment, regime, λ, willingness, irritation, reachability).

    The ``contact_*`` arrays are parallel, one entry per contact the collectors actually
    made today (requests the rules blocked or the collectors did not reach are absent), in
    the order made (account, then hour):
    """

    day: int  #: the day these outcomes are of
    contact_account: np.ndarray = field(default_factory=lambda: _empty(np.int64))  #: int64: account number
    contact_channel: np.ndarray = field(default_factory=lambda: _empty(np.int8))  #: int8: channel code (``CHANNELS``)
    contact_hour: np.ndarray = field(default_factory=lambda: _empty(np.int8))  #: int8: hour made
    contact_connected: np.ndarray = field(default_factory=lambda: _empty(bool))  #: bool: answered / delivered (by anyone)
    contact_reached: np.ndarray = field(default_factory=lambda: _empty(bool))  #: bool: a right-party contact (the debtor)
    #: int8: outcome code (``collectsim.vocabulary.accounts.OUTCOMES``: no answer, connect, rpc, promise, plan, settled)
    contact_outcome: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    contact_complaint: np.ndarray = field(default_factory=lambda: _empty(bool))  #: bool: the contact drew a complaint
    contact_opted_out: np.ndarray = field(default_factory=lambda: _empty(bool))  #: bool: the debtor opted out of its channel
    #: float64: what the contact cost, cents (the channel's cost plus the collector's minutes at the team's cost)
    contact_cost: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    payment_account: np.ndarray = field(default_factory=lambda: _empty(np.int64))  #: int64: accounts that paid today
    payment_amount: np.ndarray = field(default_factory=lambda: _empty(np.int64))  #: int64: what each paid today, cents
    promise_kept: np.ndarray = field(default_factory=lambda: _empty(np.int64))  #: int64: accounts whose promise due today was kept
    promise_broken: np.ndarray = field(default_factory=lambda: _empty(np.int64))  #: int64: accounts whose promise due today was broken
    #: int64: accounts that left collections today (cured, paid, settled or charged off)
    resolved_account: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    #: int8: the status each left in (``collectsim.vocabulary.accounts.STATUS_NAMES`` code)
    resolved_status: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    #: float64: what the lender's books value the resolution at, cents, with the scenario's
    #: ``[valuation]`` rates (not discounted): a cure ``performing_value_rate`` × the balance
    #: that performs again, a charge-off ``debt_sale_rate`` × the charged-off balance, a paid
    #: or settled account 0 (its cash is in ``payment_amount``)
    resolved_value: np.ndarray = field(default_factory=lambda: _empty(np.float64))


#: The fields of :class:`Requests` and their dtypes.
_FIELDS: dict[str, type] = {
    "account": np.int64,
    "channel": np.int8,
    "hour": np.int8,
    "offer": np.int8,
    "discount": np.float32,
    "plan_months": np.int8,
    "priority": np.float32,
}


def _as_array(value, name: str, dtype: type, where: str) -> np.ndarray:
    """``value`` as a 1-D array of ``dtype``; converted only when every value is exactly
    representable (finite whole numbers in range for integer fields, finite numbers for
    float fields), else an :class:`InputError` naming the field."""
    try:
        a = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise InputError(f"{where}.{name}: not an array ({str(e).splitlines()[0][:80]})") from None
    if a.ndim != 1:
        raise InputError(f"{where}.{name} has shape {a.shape}; must be one-dimensional (one entry per request)")
    if a.dtype == dtype:
        if a.dtype.kind == "f" and len(a) and not np.isfinite(a).all():
            j = int(np.flatnonzero(~np.isfinite(a))[0])
            raise InputError(f"{where}.{name}[{j}] = {float(a[j])!r}: must be a finite number")
        return a
    kind = a.dtype.kind
    if len(a) == 0 and kind in "biufO":
        return np.zeros(0, dtype=dtype)
    if kind not in "iuf":
        raise InputError(f"{where}.{name} has dtype {a.dtype}; must hold numbers ({np.dtype(dtype).name})")
    if kind == "f" and not np.isfinite(a).all():
        j = int(np.flatnonzero(~np.isfinite(a))[0])
        raise InputError(f"{where}.{name}[{j}] = {float(a[j])!r}: must be a finite number")
    target = np.dtype(dtype)
    if target.kind == "f":
        out = a.astype(target)
        if not np.isfinite(out).all():
            j = int(np.flatnonzero(~np.isfinite(out))[0])
            raise InputError(f"{where}.{name}[{j}] = {a[j].item()!r}: too large for {target.name}")
        return out
    info = np.iinfo(target)
    if kind == "f":
        whole = np.floor(a) == a
        if not whole.all():
            j = int(np.flatnonzero(~whole)[0])
            raise InputError(f"{where}.{name}[{j}] = {a[j].item()!r}: must be a whole number")
    low, high = a.min(), a.max()
    if low < info.min or high > info.max:
        j = int(np.flatnonzero((a < info.min) | (a > info.max))[0])
        raise InputError(f"{where}.{name}[{j}] = {a[j].item()!r}: out of the range of {target.name} "
                         f"[{info.min}, {info.max}]")
    return a.astype(target)


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

    def validate(self, n: int, policy: str = "policy") -> None:
        """Check and normalise the requests in place; raise :class:`~collectsim.errors.InputError`
        naming ``policy`` and the field when one is wrong.

        Every field must be a one-dimensional array (or list) of the same length. Integer
        fields (``account``, ``channel``, ``hour``, ``offer``, ``plan_months``) are converted
        to their dtype when every value is exactly representable (so ``[1.0, 2.0]`` is
        accepted, ``1.5`` or ``NaN`` is not); ``discount`` and ``priority`` must be finite
        numbers. Ranges: ``account`` in ``[0, n)``, a known ``channel`` and ``offer`` code,
        ``hour`` in 0..23, ``discount`` in ``[0, 1)``, ``plan_months`` in 1..127.
        """
        where = f"policy {policy!r}: Requests"
        for name, dtype in _FIELDS.items():
            setattr(self, name, _as_array(getattr(self, name), name, dtype, where))
        m = len(self.account)
        for name in _FIELDS:
            if len(getattr(self, name)) != m:
                raise InputError(
                    f"{where}.{name} has length {len(getattr(self, name))}; must equal len(account) = {m}"
                )
        if m == 0:
            return
        checks = (
            ("account", 0, n - 1, f"a slot in [0, {n})"),
            ("channel", 0, len(CHANNELS) - 1, f"a channel code 0..{len(CHANNELS) - 1} ({', '.join(CHANNELS)})"),
            ("hour", 0, 23, "an hour 0..23"),
            ("offer", 0, len(OFFERS) - 1, f"an offer code 0..{len(OFFERS) - 1} ({', '.join(OFFERS)})"),
            ("plan_months", 1, 127, "a plan length of 1..127 months"),
        )
        for name, lo, hi, allowed in checks:
            a = getattr(self, name)
            bad = np.flatnonzero((a < lo) | (a > hi))
            if len(bad):
                j = int(bad[0])
                raise InputError(f"{where}.{name}[{j}] = {a[j].item()!r}: must be {allowed}")
        bad = np.flatnonzero(~((self.discount >= 0) & (self.discount < 1)))
        if len(bad):
            j = int(bad[0])
            raise InputError(f"{where}.discount[{j}] = {float(self.discount[j])!r}: must be a fraction in [0, 1)")

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


@dataclass
class Effort:
    """Direct collection effort of one day: units of effort per account (parallel arrays).

    The abstract effort of Chehrazi, Glynn & Weber (2019, primer §6): each unit raises the
    account's repayment intensity by its segment's ``delta2`` and costs the scenario's
    ``costs.effort_cost_per_unit``, with no contact, reach, irritation or collector minutes.
    Returned by :meth:`Policy.effort` (only a policy that sets :attr:`Policy.applies_effort`);
    applied in phase 6 (act), after the contacts and before the day's payments
    (``docs/model.md`` §Direct effort). ``account`` names slots, like :class:`Requests`;
    entries for accounts no longer in collections are ignored; an account may appear more
    than once (its units add up).
    """

    account: np.ndarray = field(default_factory=lambda: _empty(np.int64))  #: int64: slot
    units: np.ndarray = field(default_factory=lambda: _empty(np.float64))  #: float64: units of effort, finite, >= 0

    def __len__(self) -> int:
        return len(self.account)

    def validate(self, n: int, policy: str = "policy") -> None:
        """Check and normalise in place; raise :class:`~collectsim.errors.InputError` naming
        ``policy`` and the field: ``account`` slots in ``[0, n)``, ``units`` finite and
        ``>= 0``, both one-dimensional and of the same length."""
        where = f"policy {policy!r}: Effort"
        self.account = _as_array(self.account, "account", np.int64, where)
        self.units = _as_array(self.units, "units", np.float64, where)
        if len(self.units) != len(self.account):
            raise InputError(f"{where}.units has length {len(self.units)}; must equal len(account) = {len(self.account)}")
        if len(self.account) == 0:
            return
        bad = np.flatnonzero((self.account < 0) | (self.account >= n))
        if len(bad):
            j = int(bad[0])
            raise InputError(f"{where}.account[{j}] = {int(self.account[j])}: must be a slot in [0, {n})")
        bad = np.flatnonzero(~(self.units >= 0))
        if len(bad):
            j = int(bad[0])
            raise InputError(f"{where}.units[{j}] = {float(self.units[j])!r}: must be a finite number >= 0")


class Policy(abc.ABC):
    """A contact policy: observable state in, contact requests out.

    Subclass it and implement :meth:`decide`; give the class (or instance) a ``name``.
    :meth:`prepare` is called once before a run with the scenario's tier names (check that
    the policy fits the scenario there, raising :class:`~collectsim.errors.InputError`);
    :meth:`to_dict` returns the policy as plain data when it has a file form (a rule table).
    Policies must be picklable (replications run in worker processes).

    A policy that learns during the run sets :attr:`learns`: the model then hands it the
    run's random streams once (:meth:`start`) and, at the end of every day, what the
    department observed that day (:meth:`observe`, an :class:`Outcomes`). Static policies
    leave both hooks alone and the model builds no outcomes for them.

    A policy that applies *direct effort* (the published model's continuous effort, not a
    contact) sets :attr:`applies_effort` and returns each day's units from :meth:`effort`.
    """

    name: str = "policy"
    #: Whether the model asks :meth:`effort` every day for direct effort units (:class:`Effort`).
    applies_effort: bool = False
    #: Whether the model reports each day's :class:`Outcomes` to :meth:`observe` (and calls :meth:`start`).
    learns: bool = False

    def start(self, streams) -> None:  # noqa: B027 - optional hook
        """Called by the model before day 0 of a run with its :class:`~collectsim.streams.Streams`
        (only when :attr:`learns`): a learning policy draws its randomness from a named
        source there, so runs are deterministic given the seed (default: nothing)."""

    def observe(self, outcomes: Outcomes) -> None:  # noqa: B027 - optional hook
        """Learn from the outcomes of the day just finished (only when :attr:`learns`; default: nothing)."""

    def prepare(self, tier_names: tuple[str, ...]) -> None:  # noqa: B027 - optional hook
        """Check the policy against a scenario's risk tiers before a run (default: nothing)."""

    @abc.abstractmethod
    def decide(self, obs: Observation) -> Requests:
        """Return today's contact requests for the observable state ``obs``."""

    def effort(self, obs: Observation) -> Effort:
        """Today's direct effort units (only when :attr:`applies_effort`; called right after
        :meth:`decide` with the same ``obs``; default: none). The scenario must price it
        (``costs.effort_cost_per_unit``)."""
        return Effort()

    def to_dict(self) -> dict | None:
        """The policy as plain data (a policy file's ``[policy]`` table), or None if it has none."""
        return None
