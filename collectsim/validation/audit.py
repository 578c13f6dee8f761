"""The audit: a contact log re-checked against the contact rules from scratch.

It runs on the log of executed contacts (pandas, vectorised), sharing no code with the
rule engine (:mod:`collectsim.compliance`), and counts every violation per rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from collectsim.scenario.rules import Rule

__all__ = ["audit"]


def audit(log: pd.DataFrame, rules: list[Rule]) -> dict[str, int]:
    """Re-check a contact log against ``rules`` from scratch; return violations per rule.

    ``log`` has one row per executed contact with columns ``account``, ``day``, ``hour``,
    ``seq`` (execution order within the day), ``channel`` (name), ``reached`` (bool) and
    ``opted_out`` (bool: this contact made the debtor opt out of its channel).
    """
    out: dict[str, int] = {}
    if len(log) == 0:
        return {r.name: 0 for r in rules}
    log = log.sort_values(["account", "day", "seq"], kind="stable").reset_index(drop=True)
    for r in rules:
        sub = log[log["channel"].isin(r.channels)]
        if r.kind == "quiet_hours":
            out[r.name] = int(((sub["hour"] < r.start_hour) | (sub["hour"] >= r.end_hour)).sum())
        elif r.kind == "opt_out":
            # a contact on a channel after an earlier opt-out from that same channel
            t = sub.assign(t=sub["day"].astype(np.int64) * 1_000_000 + sub["seq"])
            first_opt = t[t["opted_out"]].groupby(["account", "channel"])["t"].min()
            joined = t.join(first_opt.rename("t_opt"), on=["account", "channel"])
            out[r.name] = int((joined["t"] > joined["t_opt"]).sum())
        elif r.kind in ("max_attempts", "max_connects"):
            ev = sub if r.kind == "max_attempts" else sub[sub["connected"]]  # connected: answered
            daily = ev.groupby(["account", "day"]).size().rename("n").reset_index()
            big = np.int64(1 << 20)
            key = daily["account"].to_numpy(np.int64) * big + daily["day"].to_numpy(np.int64)
            cum = np.r_[0, np.cumsum(daily["n"].to_numpy())]
            lo = np.searchsorted(key, key - r.window_days + 1, side="left")
            window = cum[1:] - cum[lo]
            out[r.name] = int((window > r.max_count).sum())
        elif r.kind == "cooldown_after_conversation":
            big = np.int64(1 << 40)
            t = sub["day"].to_numpy(np.int64) * 1_000_000 + sub["seq"].to_numpy(np.int64)
            key = sub["account"].to_numpy(np.int64) * big + t
            conv = sub["reached"].to_numpy(bool)
            conv_key, conv_day = key[conv], sub["day"].to_numpy(np.int64)[conv]
            conv_acc = sub["account"].to_numpy(np.int64)[conv]
            i = np.searchsorted(conv_key, key, side="left") - 1  # latest conversation before
            has = i >= 0
            i = np.maximum(i, 0)
            same = has & (conv_acc[i] == sub["account"].to_numpy(np.int64)) if len(conv_key) else has & False
            recent = conv_day[i] > sub["day"].to_numpy(np.int64) - r.window_days if len(conv_key) else same
            out[r.name] = int((same & recent).sum())
        else:  # pragma: no cover - Literal in the schema forbids it
            raise ValueError(f"unknown rule kind {r.kind}")
    return out
