"""Speed of the audit of the contact log: rows per second on a synthetic log of 2×10^7 rows,
with the old (pandas) audit on a smaller log as the yardstick, in the same process.

    .venv/bin/python benchmarks/audit_speed.py
    .venv/bin/python benchmarks/audit_speed.py --rows 20000000 --old-rows 2000000 --repeat 3

The synthetic log looks like the engine's: 10^6 accounts × 180 days, contacts on every
channel (most at 08:00–20:59, a few outside), 1–4 contacts per account-day with ``seq`` in
hour order, ``connected``/``reached``/``opted_out`` flags, ``channel`` as int8 codes with
``channel_names``. Three storage orders are timed: as the engine appends it (day by day:
the audit sorts it by account, stably), already in execution order (no sort), and shuffled
(one ``np.lexsort``). Each figure is the best of ``--repeat`` runs, after one warm-up on a
tiny log (numba compilation or loading its cache is not timed; it is printed). Extra
memory is the peak of numpy allocations during the audit (``tracemalloc``), in a separate
untimed run. The old audit is the pandas version this module replaced (copied below
unchanged but for its name, ``old_audit``), fed the engine's ``us-reg-f`` rules.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's collectsim, not an installed one

from collectsim.scenario import PRESETS, Rule, RuleSet  # noqa: E402
from collectsim.validation.audit import audit  # noqa: E402

NAMES = ("sms", "email", "ivr", "call", "visit", "letter")


def synthetic_log(rows: int, accounts: int = 1_000_000, days: int = 180, seed: int = 1) -> dict[str, np.ndarray]:
    """An engine-like contact log of about ``rows`` rows, stored day by day (as appended)."""
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, accounts, rows, dtype=np.int64)
    day = rng.integers(0, days, rows).astype(np.int32)
    hour = np.where(rng.random(rows) < 0.995, rng.integers(8, 21, rows), rng.integers(0, 24, rows)).astype(np.int8)
    order = np.lexsort((hour, acc, day))  # day-major, then account, then hour: the engine's layout
    acc, day, hour = acc[order], day[order], hour[order]
    del order
    new_run = np.ones(rows, dtype=bool)
    new_run[1:] = (acc[1:] != acc[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_run)
    seq = (np.arange(rows) - np.repeat(starts, np.diff(np.r_[starts, rows]))).astype(np.int32)
    channel = rng.choice(len(NAMES), rows, p=[0.35, 0.15, 0.15, 0.25, 0.02, 0.08]).astype(np.int8)
    connected = rng.random(rows) < 0.3
    reached = connected & (rng.random(rows) < 0.4)
    opted_out = reached & (rng.random(rows) < 0.01) & (channel <= 2)
    return {"account": acc, "day": day, "hour": hour, "seq": seq, "channel": channel, "connected": connected,
            "reached": reached, "opted_out": opted_out}


def reorder(log: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    """The same log stored in another row order."""
    return {k: v[order] for k, v in log.items()}


def best_seconds(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def extra_bytes(fn) -> int:
    """Peak bytes of Python/numpy allocations during ``fn()`` (tracemalloc)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# --- the old audit (collectsim/validation/audit.py before the rewrite), verbatim -------------


def old_audit(log: pd.DataFrame, rules: list[Rule]) -> dict[str, int]:
    """The replaced pandas audit, kept here only as the yardstick."""
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
            ev = sub if r.kind == "max_attempts" else sub[sub["reached"]]
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


def as_frame(log: dict[str, np.ndarray]) -> pd.DataFrame:
    """The engine's DataFrame form (``channel`` categorical)."""
    df = pd.DataFrame(log)
    df["channel"] = pd.Categorical.from_codes(df["channel"], categories=list(NAMES))
    return df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--old-rows", type=int, default=2_000_000, help="log size for the old audit")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    print(f"# audit speed; Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{platform.processor() or platform.platform()}")
    t0 = time.perf_counter()
    tiny = synthetic_log(1000, accounts=50, days=10)
    for preset in ("us-reg-f", "us-ma", "cn-gbt-45251"):
        audit(tiny, RuleSet(preset=preset), channel_names=NAMES)
    print(f"warm-up (numba compilation or cache load): {time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    log = synthetic_log(a.rows)
    n = len(log["account"])
    print(f"synthetic log: {n:,} rows, built in {time.perf_counter() - t0:.1f} s (not timed)")
    by_account = reorder(log, np.lexsort((log["seq"], log["hour"], log["day"], log["account"])))
    shuffled = reorder(log, np.random.default_rng(2).permutation(n))
    print("| log order | preset | seconds | rows/s | extra memory |")
    print("| --- | --- | ---: | ---: | ---: |")
    cases = [("as appended (day-major)", log, "us-reg-f"), ("execution order", by_account, "us-reg-f"),
             ("shuffled", shuffled, "us-reg-f"), ("as appended (day-major)", log, "us-ma"),
             ("as appended (day-major)", log, "cn-gbt-45251")]
    results = {}
    for label, lg, preset in cases:
        rs = RuleSet(preset=preset)
        results[(label, preset)] = audit(lg, rs, channel_names=NAMES)
        sec = best_seconds(lambda lg=lg, rs=rs: audit(lg, rs, channel_names=NAMES), a.repeat)
        mem = extra_bytes(lambda lg=lg, rs=rs: audit(lg, rs, channel_names=NAMES))
        print(f"| {label} | {preset} | {sec:.2f} | {n / sec:,.0f} | {mem / 2**20:,.0f} MiB ({mem / n:.1f} B/row) |")
    assert len({tuple(v.items()) for (_, p), v in results.items() if p == "us-reg-f"}) == 1, "orders disagree"
    print(f"violations found (us-reg-f): {results[('execution order', 'us-reg-f')]}")
    del by_account, shuffled

    small = {k: v[: a.old_rows] for k, v in log.items()}
    m = len(small["account"])
    frame = as_frame(small)
    sec_old = best_seconds(lambda: old_audit(frame, PRESETS["us-reg-f"]), a.repeat)
    sec_new = best_seconds(lambda: audit(frame, RuleSet(preset="us-reg-f")), a.repeat)
    print(f"yardstick, {m:,} rows (DataFrame, day-major), us-reg-f: old pandas audit {sec_old:.2f} s "
          f"({m / sec_old:,.0f} rows/s); new audit {sec_new:.3f} s ({m / sec_new:,.0f} rows/s); "
          f"× {sec_old / sec_new:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
