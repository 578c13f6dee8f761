"""Trials per minute of ``collectsim optimize`` with 1 and 2 local jobs, and the speed-up.

Runs the search of ``experiments/optimize.toml`` twice — ``--jobs 1`` then ``--jobs 2`` —
with the same batch size, so both runs evaluate exactly the same trials (results do not
depend on the number of jobs) and the comparison is fair. Trials per minute count the
search phase only (the held-out validation is reported separately).

    .venv/bin/python benchmarks/optimize_speed.py                 # the full example (minutes)
    .venv/bin/python benchmarks/optimize_speed.py --trials 12     # a quick look

Figures on a shared or busy machine are noisy; run it on an idle one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from collectsim import optimize

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default=str(ROOT / "experiments" / "optimize.toml"))
    ap.add_argument("--trials", type=int, help="trials per run (default: the file's)")
    ap.add_argument("--accounts", type=int, help="override portfolio.accounts")
    ap.add_argument("--days", type=int, help="override portfolio.horizon_days")
    ap.add_argument("--batch", type=int, default=4, help="trials per batch, the same for both runs (default 4)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="job counts to compare (default: 1 2)")
    args = ap.parse_args(argv)
    print(f"experiment {args.experiment}  cpus {os.cpu_count()}  load {os.getloadavg()[0]:.2f}")
    rates = {}
    with tempfile.TemporaryDirectory(prefix="optbench-") as tmp:
        for jobs in args.jobs:
            t0 = time.perf_counter()
            res = optimize(
                args.experiment,
                trials=args.trials,
                jobs=jobs,
                batch=args.batch,
                accounts=args.accounts,
                days=args.days,
                out=Path(tmp) / f"jobs{jobs}",
            )
            wall = time.perf_counter() - t0
            m = res.validation["meta"]
            n = m["search_trials_this_run"]
            rate = 60.0 * n / m["search_seconds"]
            rates[jobs] = rate
            # share of the workers' time spent simulating: < 1 means idle workers (barriers,
            # driver overhead); slow simulations on a busy machine do not lower it
            util = m["search_simulation_seconds"] / (jobs * m["search_seconds"])
            print(
                f"jobs {jobs}: {n} trials in {m['search_seconds']:.1f} s -> {rate:.1f} trials/min; "
                f"worker utilization {100 * util:.0f} % "
                f"(validation {m['validation_seconds']:.1f} s, total {wall:.1f} s, {m['simulations']} simulations, "
                f"load {os.getloadavg()[0]:.2f})"
            )
    if len(rates) >= 2:
        j0, j1 = sorted(rates)[0], sorted(rates)[-1]
        print(f"speed-up {j1} vs {j0} jobs: {rates[j1] / rates[j0]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
