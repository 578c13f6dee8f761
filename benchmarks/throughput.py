"""Issue 2's throughput figures: borrower-days per second and peak memory per account for
10^5 and 10^6 accounts × 180 days with ``seed-champion`` (the quickstart book, us-reg-f),
with the per-agent reference at 10^4 accounts as the baseline measured in the same run.

    .venv/bin/python benchmarks/throughput.py
    .venv/bin/python benchmarks/throughput.py --repeat 5

Each run is a fresh subprocess pinned to one CPU; see ``benchmarks/_bench.py`` for what is
measured. Target (issue 2): ≥ 10^7 borrower-days per second at 10^6 accounts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (best time is kept)")
    ap.add_argument("--baseline-accounts", type=int, default=10_000, help="book size of the reference baseline")
    ap.add_argument("--no-pin", action="store_true")
    a = ap.parse_args(argv)
    cpu = None if a.no_pin else _bench.default_cpu()
    kw = dict(days=a.days, policy="seed-champion", cpu=cpu)
    print(f"# throughput: seed-champion, {a.days} days; {_bench.machine()}; pinned to CPU {cpu}")
    base = _bench.best_of("reference", a.baseline_accounts, 1, **kw)
    print(f"baseline: per-agent reference, {a.baseline_accounts:,} accounts: "
          f"{base['borrower_days_per_second']:,.0f} borrower-days/s")
    print("| accounts | time | borrower-days/s | peak memory per account | × reference |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n in (100_000, 1_000_000):
        r = _bench.best_of("engine", n, a.repeat, **kw)
        bds = r["borrower_days_per_second"]
        print(f"| {n:,} | {r['seconds']:.2f} s | {bds:,.0f} | {r['peak_bytes_per_account']:.0f} B "
              f"| {bds / base['borrower_days_per_second']:,.0f}× |", flush=True)
        if n == 1_000_000:
            print(f"target ≥ 10^7 borrower-days/s at 10^6: {'met' if bds >= 1e7 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
