"""The daily series: what Mesa's ``DataCollector`` records at the end of every day.

Money is in currency units. ``collected``, ``cost``, ``complaints``, ``optouts``,
``requested``, ``blocked``, ``rpcs`` and ``connects`` (agent calls that reached the debtor /
were answered), ``ptps``, ``inflow`` (accounts entering collections: an open book) and
``exits`` (accounts leaving it), and ``contacts_<channel>`` are the day's
figures; ``collected_cum``, ``recovery_rate`` and ``churned`` are cumulative; statuses and
DPD buckets are counts of accounts at the end of the day. Under behavioural re-scoring the
re-score's tier migrations are more of the day's figures (:func:`rescore_columns`).
"""

from __future__ import annotations

import functools

from collectsim.vocabulary.accounts import BUCKETS, STATUS_NAMES
from collectsim.vocabulary.channels import CHANNELS
from collectsim.vocabulary.units import CENTS_PER_UNIT

__all__ = ["DAILY_COLUMNS", "CUMULATIVE_COLUMNS", "reporters", "rescore_columns"]

#: Columns of the daily series (``daily.parquet``), besides ``day``.
DAILY_COLUMNS: tuple[str, ...] = (
    "collected",
    "collected_cum",
    "recovery_rate",
    "cost",
    "complaints",
    "optouts",
    "requested",
    "blocked",
    "rpcs",
    "connects",
    "ptps",
    "inflow",
    "exits",
    "churned",
    *[f"contacts_{c}" for c in CHANNELS],
    *STATUS_NAMES,
    *BUCKETS,
)
#: Columns that are running totals since day 0 (never sum them over days).
CUMULATIVE_COLUMNS: tuple[str, ...] = ("collected_cum", "recovery_rate", "churned")


def _today(model, key: str) -> float:
    return model.tally.today.get(key, 0.0)


def _today_money(model, key: str) -> float:
    return model.tally.today.get(key, 0.0) / CENTS_PER_UNIT


def _churned(model) -> int:
    return int(model.borrowers.churned_count)


def _status_count(model, code: int) -> int:
    return int(model.borrowers.status_counts[code])


def _bucket_count(model, k: int) -> int:
    return int(model.borrowers.bucket_counts[k])


def rescore_columns(tier_names) -> dict[str, tuple[int, int] | str]:
    """The daily series' extra columns under behavioural re-scoring (``[scoring]
    rescore_every_days`` > 0; :mod:`collectsim.model.rescoring`), each with what it counts:
    ``rescored`` (accounts re-scored that day; 0 on days without a re-score), ``tier_riskier``
    and ``tier_safer`` (of them, moved to a riskier or a safer tier) and
    ``tier_<from>_to_<to>`` for every pair of distinct tiers (index pair ``(from, to)``)."""
    out: dict[str, tuple[int, int] | str] = {"rescored": "rescored", "tier_riskier": "riskier", "tier_safer": "safer"}
    for i, a in enumerate(tier_names):
        for j, b in enumerate(tier_names):
            if i != j:
                out[f"tier_{a}_to_{b}"] = (i, j)
    return out


def reporters(extra=()) -> dict:
    """Mesa ``model_reporters`` for every column of :data:`DAILY_COLUMNS` (and ``day``), then
    the day's figures named in ``extra`` (e.g. :func:`rescore_columns`)."""
    out: dict = {"day": "day"}
    for key in ("collected", "cost"):
        out[key] = functools.partial(_today_money, key=key)
    for key in ("complaints", "optouts", "requested", "blocked", "rpcs", "connects", "ptps", "inflow", "exits"):
        out[key] = functools.partial(_today, key=key)
    out["churned"] = _churned
    out["collected_cum"] = "collected_cum_units"
    out["recovery_rate"] = "recovery_rate"
    for c in CHANNELS:
        out[f"contacts_{c}"] = functools.partial(_today, key=f"contacts_{c}")
    for code, name in enumerate(STATUS_NAMES):
        out[name] = functools.partial(_status_count, code=code)
    for k, name in enumerate(BUCKETS):
        out[name] = functools.partial(_bucket_count, k=k)
    for key in extra:
        out[key] = functools.partial(_today, key=key)
    return out
