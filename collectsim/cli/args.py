"""Argument types and the parser of the command line: one-line errors, exit code 2."""

from __future__ import annotations

import argparse

__all__ = ["Parser", "int_arg", "positive_float", "JOBS", "SEED"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with code 2."""

    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def int_arg(name: str, minimum: int = 1, *, also: int | None = None, note: str = ""):
    """An argparse type: a whole number >= ``minimum`` (or exactly ``also``), with a one-line error."""

    def conv(v: str) -> int:
        try:
            x = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} = {v!r}: must be a whole number >= {minimum}{note}") from None
        if x < minimum and x != also:
            raise argparse.ArgumentTypeError(f"{name} = {v!r}: must be >= {minimum}{note}")
        return x

    conv.__doc__ = f"{name}: a whole number >= {minimum}{note}"
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


#: ``--seed``: a whole number >= 0
SEED = int_arg("seed", 0)
#: ``--jobs``: worker processes, >= 1 or -1 (all cores)
JOBS = int_arg("jobs", 1, also=-1, note=" (or -1: all cores)")
