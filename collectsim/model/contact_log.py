"""The contact log: one row per executed contact, kept day by day.

Columns: ``account`` (account number), ``day``, ``hour``, ``seq`` (the request's position
among the account's requests of the day: execution order), ``channel``, ``connected``
(answered or delivered, by anyone), ``reached`` (a right-party contact: the debtor), ``outcome`` (:data:`~collectsim.vocabulary.accounts.OUTCOMES`), ``complaint`` and
``opted_out`` (this contact made the debtor opt out of its channel).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from collectsim.vocabulary.accounts import OUTCOMES
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["ContactLog", "LOG_COLUMNS"]

#: The log's columns, in order.
LOG_COLUMNS: tuple[str, ...] = ("account", "day", "hour", "seq", "channel", "connected", "reached", "outcome",
                                "complaint", "opted_out")


class ContactLog:
    """The executed contacts of a run, appended one day at a time.

    ``keep``: hold the rows for :meth:`frame` (the export, ``contacts.parquet``).
    ``listener``: called with each day's columns as keyword arguments (``account``, ``day``
    — a number —, ``hour``, ``seq``, ``channel`` — integer codes into
    :attr:`CHANNEL_NAMES` —, ``connected``, ``reached``, ``outcome``, ``complaint``,
    ``opted_out``) as the day is appended: a consumer that reads the log as it is written,
    such as the streaming audit, needs no rows kept.
    """

    #: Channel code → name of the ``channel`` column (the vocabulary's order).
    CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNELS)

    def __init__(self, keep: bool = True, listener=None) -> None:
        self.keep = keep
        self.listener = listener
        self._days: list[dict[str, np.ndarray]] = []
        self._frame: pd.DataFrame | None = None

    def append(self, *, account, day: int, hour, seq, channel, connected, reached, outcome, complaint, opted_out) -> None:
        """Add one day's executed contacts (parallel arrays; ``day`` is a number)."""
        if self._frame is not None:
            raise RuntimeError("the contact log was already turned into a frame")
        if self.listener is not None:
            self.listener(account=account, day=day, hour=hour, seq=seq, channel=channel, connected=connected,
                          reached=reached, outcome=outcome, complaint=complaint, opted_out=opted_out)
        if not self.keep:
            return
        self._days.append(
            {
                "account": account,
                "day": np.full(len(account), day, dtype=np.int32),
                "hour": hour.astype(np.int8),
                "seq": seq.astype(np.int32),
                "channel": channel.astype(np.int8),
                "connected": connected,
                "reached": reached,
                "outcome": outcome,
                "complaint": complaint,
                "opted_out": opted_out,
            }
        )

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame (``channel`` and ``outcome`` as categorical names).

        Built once, column by column, each day's arrays released as their column is joined, and
        without a further copy into pandas blocks: the peak is about one log plus one column, not
        three logs. Later calls return the same frame; :meth:`append` after it is refused.
        """
        if self._frame is not None:
            return self._frame
        if not self._days:
            return pd.DataFrame({c: [] for c in LOG_COLUMNS})
        cols: dict[str, np.ndarray] = {}
        for c in LOG_COLUMNS:
            cols[c] = np.concatenate([d.pop(c) for d in self._days])
        self._days = []
        cols["channel"] = pd.Categorical.from_codes(cols["channel"], categories=list(CHANNELS))
        cols["outcome"] = pd.Categorical.from_codes(cols["outcome"], categories=list(OUTCOMES))
        self._frame = pd.DataFrame(cols, copy=False)
        return self._frame
