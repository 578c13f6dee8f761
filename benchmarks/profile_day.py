"""Where the time of a 10^6-account day goes, by named behaviour step.

Runs the quickstart book (``seed-champion``, us-reg-f) with every named step of
:meth:`collectsim.model.CollectionsModel.step` wrapped in a timer, and prints for each
step its time on day 0 (every account active: the busiest day) and its mean time per day
over the whole horizon, in milliseconds and in *population passes*: the time one
``np.add`` over ``n`` float64 values takes on this machine, measured in the same run (a
yardstick that makes the figures comparable across machines).

    .venv/bin/python benchmarks/profile_day.py                       # 10^6 accounts, 180 days
    .venv/bin/python benchmarks/profile_day.py --accounts 100000 --days 30

Sub-steps of contact execution are indented; "(rest)" is what a step spends outside its
named sub-steps (sorting and filtering the requests, bookkeeping). ``repack`` and
``restore_account_order`` move the accounts between slots (``_move_slots`` does the same for
the rule memory); see docs/performance.md, "Dense slots". ``settle`` is
``keep_promises``, ``pay_plans``, ``repay`` and ``charge_off`` in that order. The counter-based
random-number draws are counted inside the steps that make them and also shown on their
own line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

TOP = [  # the day's phases (collectsim/model/model.py)
    ("borrowers", "age"),
    ("borrowers", "observe"),
    ("policy", "decide"),
    ("contacts", "screen"),
    ("contacts", "draw_outcomes"),
    ("contacts", "work"),
    ("contacts", "act"),
    ("borrowers", "receive_payments"),
    ("borrowers", "charge_off"),
    ("model", "close_day"),
    ("datacollector", "collect"),
]
EXECUTE = [  # inside the contact phases
    ("rules", "pre_filter"),
    ("rules", "during_execution"),
    ("teams", "work"),
    ("rules", "record"),
    ("borrowers", "absorb_contacts"),
    ("borrowers", "converse"),
]
SETTLE = [  # inside receive_payments and close_day
    ("borrowers", "keep_promises"),
    ("borrowers", "pay_plans"),
    ("borrowers", "repay"),
    ("borrowers", "repack"),
    ("borrowers", "restore_account_order"),
]


def instrument(model) -> dict[str, float]:
    """Wrap the named steps of ``model`` in timers; return the (live) totals by label."""
    timers: dict[str, float] = defaultdict(float)
    owners = {
        "borrowers": [model.borrowers],
        "policy": [model.policy],
        "model": [model],
        "datacollector": [model.datacollector],
        "rules": [model.rule_engine],
        "contacts": [model.contacts],
        "teams": list(model.teams.values()),
        "streams": [model.streams],
    }

    def wrap(obj, name: str, label: str) -> None:
        fn = getattr(obj, name, None)
        if fn is None:
            return

        def timed(*args, **kw):
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                timers[label] += time.perf_counter() - t

        setattr(obj, name, timed)

    for owner, name in TOP + EXECUTE + SETTLE:
        for obj in owners[owner]:
            wrap(obj, name, f"{owner}.{name}")
    wrap(model.streams, "uniform", "streams.uniform")
    return timers


def yardstick(n: int) -> float:
    """Seconds of one np.add over n float64 values (best of 30)."""
    a, b, c = np.ones(n), np.ones(n), np.empty(n)
    best = float("inf")
    for _ in range(30):
        t = time.perf_counter()
        np.add(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--policy", default="seed-champion")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-pin", action="store_true")
    a = ap.parse_args(argv)
    if not a.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {_bench.default_cpu()})
    from collectsim import CollectionsModel, prepare_policy, simulate

    simulate(_bench.scenario(3000, 12), a.policy, seed=a.seed, audit=False)  # warm-up (imports, JIT cache)
    sc = _bench.scenario(a.accounts, a.days)
    t = time.perf_counter()
    model = CollectionsModel(sc, prepare_policy(a.policy, sc), seed=a.seed, log_contacts=False)
    setup = time.perf_counter() - t
    timers = instrument(model)
    per_day: list[dict[str, float]] = []
    day_total: list[float] = []
    for _ in range(a.days):
        before = dict(timers)
        t = time.perf_counter()
        model.step()
        day_total.append(time.perf_counter() - t)
        per_day.append({k: v - before.get(k, 0.0) for k, v in timers.items()})
    unit = yardstick(a.accounts)

    labels = [f"{o}.{n}" for o, n in TOP]
    sub = [f"{o}.{n}" for o, n in EXECUTE]
    subs = {"contacts.act": [x for x in sub if x != "rules.pre_filter" and x != "rules.during_execution"
                             and x != "teams.work"],
            "contacts.screen": ["rules.pre_filter"], "contacts.draw_outcomes": ["rules.during_execution"],
            "contacts.work": ["teams.work"],
            "borrowers.receive_payments": [f"{o}.{n}" for o, n in SETTLE[:3]],
            "model.close_day": [f"{o}.{n}" for o, n in SETTLE[3:]]}
    day0, days = per_day[0], len(per_day)
    mean = {k: sum(d.get(k, 0.0) for d in per_day) / days for k in set().union(*per_day)}
    total0, total_mean = day_total[0], sum(day_total) / days

    def line(name: str, v0: float, vm: float, indent: str = "") -> str:
        return (f"| {indent}{name} | {1e3 * v0:9.2f} | {v0 / unit:8.1f} | {1e3 * vm:9.2f} | {vm / unit:8.1f} "
                f"| {100 * vm / total_mean:5.1f} % |")

    print(f"# profile_day: {a.accounts:,} accounts, {a.policy}, us-reg-f, {a.days} days; {_bench.machine()}")
    print(f"yardstick: one np.add over {a.accounts:,} float64 = {1e3 * unit:.3f} ms (a 'pass'); "
          f"model set-up {setup:.2f} s; whole run {sum(day_total):.2f} s "
          f"= {a.accounts * a.days / (sum(day_total) + setup):,.0f} borrower-days/s incl. set-up")
    print()
    print("| step | day 0 ms | day 0 passes | mean ms/day | mean passes | share |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for lab in labels:
        if lab not in mean:
            continue
        print(line(lab, day0.get(lab, 0.0), mean[lab]))
        parts = [x for x in subs.get(lab, []) if x in mean]
        if parts:
            for x in parts:
                print(line(x, day0.get(x, 0.0), mean[x], "  "))
            rest0 = day0.get(lab, 0.0) - sum(day0.get(x, 0.0) for x in parts)
            restm = mean[lab] - sum(mean.get(x, 0.0) for x in parts)
            print(line("(rest)", rest0, restm, "  "))
    other0 = total0 - sum(day0.get(k, 0.0) for k in labels)
    otherm = total_mean - sum(mean.get(k, 0.0) for k in labels)
    print(line("(other: Mesa step, tallies)", other0, otherm))
    print(line("**day total**", total0, total_mean))
    if "streams.uniform" in mean:
        print(line("of which counter-based RNG", day0.get("streams.uniform", 0.0), mean["streams.uniform"]))
    act0 = int((model.borrowers.status == 0).sum())
    print(f"\nactive accounts at the end: {act0:,}; command: .venv/bin/python benchmarks/profile_day.py "
          f"{' '.join(argv if argv is not None else sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
