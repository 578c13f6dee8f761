"""Progress of long steps, as messages: plain lines, or counted steps that say how far they are.

A long job (a comparison's replications, the optimizer's validation, a report's plots)
reports through one callback that takes a message, ``progress(msg)``. The message of a
counted step is a :class:`Progress`: still a ``str`` (``"replications: 12/40 simulations"``),
so a caller that prints or shows the messages keeps working unchanged, and it carries
``step``, ``done`` and ``total`` for a caller that draws a bar. :class:`ProgressBars` is such a
caller: one tqdm bar on stderr per counted step, other messages printed above it — what the
command line shows (``--quiet`` switches it off).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

__all__ = ["Progress", "counter", "ProgressBars"]


class Progress(str):
    """A progress message of a counted step: the text ``"STEP: DONE/TOTAL UNIT"`` with the parts as attributes.

    Attributes
    ----------
    step:
        What is being counted ("replications", "validation", "plots").
    done, total:
        How many of how many are finished.
    unit:
        What one of them is ("simulations", "plots"), for the text.
    """

    step: str
    done: int
    total: int
    unit: str

    def __new__(cls, step: str, done: int, total: int, unit: str = "") -> Progress:
        text = f"{step}: {done}/{total}" + (f" {unit}" if unit else "")
        self = super().__new__(cls, text)
        self.step, self.done, self.total, self.unit = step, int(done), int(total), unit
        return self

    def __reduce__(self):  # a str subclass with attributes: pickle it by its parts
        return (Progress, (self.step, self.done, self.total, self.unit))


def counter(
    progress: Callable[[str], None] | None, step: str, total: int, unit: str = ""
) -> Callable[[int], None] | None:
    """A ``done``-callback (e.g. for :func:`~collectsim.experiments.replicate.run_tasks`'s
    ``on_done``) that sends ``Progress(step, done, total, unit)`` to ``progress``; None without one.

    It reports ``0/total`` at once, so a bar appears when the step starts.
    """
    if progress is None:
        return None
    progress(Progress(step, 0, total, unit))

    def done(k: int) -> None:
        progress(Progress(step, k, total, unit))

    return done


class ProgressBars:
    """A progress callback that draws a tqdm bar on stderr for each counted step.

    Plain messages are printed on their own line above the bars (prefixed with
    ``prefix``); a :class:`Progress` message moves the bar of its step (a bar closes when its
    step is done or another step starts). ``enabled=False`` makes it silent (``--quiet``).
    Use it as a context manager, or call :meth:`close` at the end.

    Parameters
    ----------
    prefix:
        Printed before plain messages, e.g. ``"collectsim compare: "``.
    enabled:
        False: show nothing.
    file:
        Where bars and messages go (default: stderr).
    """

    def __init__(self, prefix: str = "", *, enabled: bool = True, file: TextIO | None = None) -> None:
        self.prefix = prefix
        self.enabled = enabled
        self.file = file if file is not None else sys.stderr
        self._bar: tqdm | None = None
        self._step: str | None = None

    def __call__(self, msg: str) -> None:
        """Show one message (a bar update for a :class:`Progress`)."""
        if not self.enabled:
            return
        if isinstance(msg, Progress):
            if self._bar is None or self._step != msg.step or msg.total != self._bar.total:
                self._close_bar()
                self._bar = tqdm(total=msg.total, desc=msg.step, unit=f" {msg.unit}" if msg.unit else "it",
                                 file=self.file, leave=False, dynamic_ncols=True)
                self._step = msg.step
            self._bar.update(max(0, msg.done - self._bar.n))
            if msg.done >= msg.total:
                self._close_bar()
            return
        text = f"{self.prefix}{msg}"
        if self._bar is not None:
            self._bar.write(text, file=self.file)
        else:
            print(text, file=self.file, flush=True)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._step = None, None

    def close(self) -> None:
        """Close the open bar, if any."""
        self._close_bar()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
