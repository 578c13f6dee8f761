"""Refusing, up front, a run that clearly will not fit in memory.

The engine holds the whole book as a struct of arrays: its peak resident memory is
:data:`ENGINE_BYTES_PER_ACCOUNT` per account (``benchmarks/scale.py``: 220–264 B/account
from 10^4 to 3×10^6 accounts, 240 B measured at 10^6; README "Performance"). The audit
(:class:`~collectsim.validation.audit.StreamingAudit`) reads each day's contacts as they are
made and keeps :data:`AUDIT_BYTES_PER_ACCOUNT` per account, no log. Only a run that exports
its contact log (``--log-contacts``) keeps it: :data:`LOG_BYTES_PER_CONTACT` per made
contact (22 B per row in the day arrays, as much again when they are concatenated into a
frame), at least :data:`MIN_CONTACTS_PER_ACCOUNT_DAY` made contacts per account and day for
any policy that contacts (the lightest built-in, ``sms-only``, makes 0.067 on the
quickstart book; ``seed-champion`` 0.107; ``max-legal`` 0.83). Each parallel worker holds
its own book. :func:`check_memory` compares that estimate — a lower bound for a typical
policy — with the memory the system says is available (``MemAvailable`` in
``/proc/meminfo``) and refuses with one line when it does not fit.

Giving freed memory back between the large steps of a job (:func:`release_memory`): glibc's
allocator keeps the pages of freed blocks. After numpy frees a large array that was mapped
on its own, glibc raises its threshold for mapping blocks (up to 32 MB), so the next step's
arrays of a few megabytes come from the heap, and one small object still alive above them
keeps all of it resident. In a calibration of 10^6 accounts that left 6.9 GB resident after
the observed policy's replay had returned (what stayed alive: 1.1 GB), and the steps after
it and their workers stacked on top (docs/data.md, "Scale").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import cache
from pathlib import Path

from collectsim.errors import InputError

__all__ = [
    "ENGINE_BYTES_PER_ACCOUNT",
    "AUDIT_BYTES_PER_ACCOUNT",
    "LOG_BYTES_PER_CONTACT",
    "MIN_CONTACTS_PER_ACCOUNT_DAY",
    "available_memory",
    "estimate_bytes",
    "check_memory",
    "release_memory",
]

#: Peak engine memory per account (bytes), measured with ``benchmarks/scale.py``.
ENGINE_BYTES_PER_ACCOUNT = 250
#: The streaming audit's state per account (35 B under ``us-reg-f``, 38 B under GB/T 45251).
AUDIT_BYTES_PER_ACCOUNT = 40
#: Contact-log memory per made contact (bytes): the day arrays and their concatenation.
LOG_BYTES_PER_CONTACT = 44
#: A floor on made contacts per account and day for a policy that contacts at all.
MIN_CONTACTS_PER_ACCOUNT_DAY = 0.01


def available_memory(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """Bytes of memory available to new work (``MemAvailable``), or None when unknown."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def estimate_bytes(accounts: int, days: int, *, contact_log: bool = False, contacts: bool = True,
                   processes: int = 1) -> int:
    """The memory (bytes) a job needs at least: ``processes`` audited books of ``accounts``
    accounts, plus, with ``contact_log`` (kept for export), the log of ``days`` days of a
    policy that ``contacts``."""
    per_book = (ENGINE_BYTES_PER_ACCOUNT + AUDIT_BYTES_PER_ACCOUNT) * accounts
    if contact_log and contacts:
        per_book += int(LOG_BYTES_PER_CONTACT * MIN_CONTACTS_PER_ACCOUNT_DAY * accounts * days)
    return per_book * max(1, processes)


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def check_memory(what: str, accounts: int, days: int, *, contact_log: bool = False, contacts: bool = True,
                 processes: int = 1, available: int | None = None) -> int:
    """Raise :class:`InputError` when the job clearly does not fit in the available memory;
    return the estimate (bytes). ``what`` names the job in the message."""
    need = estimate_bytes(accounts, days, contact_log=contact_log, contacts=contacts, processes=processes)
    have = available_memory() if available is None else available
    if have is not None and need > have:
        parts = f"{accounts:,} accounts x {ENGINE_BYTES_PER_ACCOUNT + AUDIT_BYTES_PER_ACCOUNT} B"
        if contact_log and contacts:
            parts += f" + the contact log of {days:,} days"
        if processes > 1:
            parts = f"({parts}) x {processes} worker processes"
        raise InputError(
            f"{what}: needs at least {_gb(need)} of memory ({parts}) but {_gb(have)} is available; "
            "use fewer accounts, fewer days or fewer jobs"
        )
    return need


@cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_memory() -> None:
    """Collect garbage and return the allocator's free pages to the operating system (glibc
    ``malloc_trim(0)``; only the collection where glibc is absent). Costs milliseconds to a
    second: call it after a step that freed a lot, not in a loop."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
