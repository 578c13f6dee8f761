"""Argument types and the parser of the command line: one-line errors, exit code 2."""

from __future__ import annotations

import argparse

__all__ = ["Parser", "int_arg", "positive_float", "policy_arg", "JOBS", "SEED", "SEED_MAX"]

#: The largest seed: a signed 64-bit integer, what a result folder's config.toml can hold
SEED_MAX = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with code 2."""

    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def int_arg(name: str, minimum: int = 1, *, also: int | None = None, note: str = "", maximum: int | None = None):
    """An argparse type: a whole number >= ``minimum`` (and <= ``maximum`` if given; or
    exactly ``also``), with a one-line error."""
    span = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum:,}"

    def conv(v: str) -> int:
        try:
            x = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} = {v[:60]!r}: must be a whole number {span}{note}") from None
        if (x < minimum or (maximum is not None and x > maximum)) and x != also:
            raise argparse.ArgumentTypeError(f"{name} = {v[:60]!r}: must be {span}{note}")
        return x

    conv.__doc__ = f"{name}: a whole number {span}{note}"
    return conv


def policy_arg(name: str = "policy"):
    """An argparse type: a non-empty policy reference (a built-in name or a policy file)."""

    def conv(v: str) -> str:
        if not v.strip():
            raise argparse.ArgumentTypeError(
                f"{name} = {v!r}: empty; give a built-in policy name (no-contact, sms-only, max-legal, "
                "seed-champion) or a .toml policy file"
            )
        return v

    conv.__doc__ = f"{name}: a built-in policy name or a policy file"
    return conv


def positive_float(name: str):
    """An argparse type: a finite number > 0, with a one-line error."""

    def conv(v: str) -> float:
        try:
            x = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} = {v!r}: must be a number > 0") from None
        if not x > 0 or x == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} = {v!r}: must be a finite number > 0")
        return x

    return conv


#: ``--seed``: a whole number in 0..2^63-1
SEED = int_arg("seed", 0, maximum=SEED_MAX)
#: ``--jobs``: worker processes, >= 1 or -1 (all cores)
JOBS = int_arg("jobs", 1, also=-1, note=" (or -1: all cores)")
