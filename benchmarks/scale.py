"""Issue 5's scale table: borrower-days per second, peak memory per account, and the speed
ratio against the per-agent reference measured in the same run.

For each book size (default 10^4, 10^5, 10^6 and 3×10^6 accounts) × 180 days with
``seed-champion`` under ``us-reg-f`` (the quickstart book), the engine runs in a fresh
subprocess pinned to one CPU (see ``benchmarks/_bench.py`` for what is measured); the
per-agent reference (:mod:`collectsim.validation.reference`) runs at the sizes up to
``--reference-max``. Prints a markdown table and the flatness of the cost per
borrower-day from 10^5 to the largest size.

    .venv/bin/python benchmarks/scale.py                      # the full table (~10 minutes)
    .venv/bin/python benchmarks/scale.py --quick              # 10^4 and 10^5 only, no repeats

Targets (issue 5): ≥ 3×10^7 borrower-days/s at 10^6 accounts, ≤ 300 bytes per account at
10^6, cost per borrower-day within 1.5× from 10^5 to 3×10^6.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000,3000000", help="comma-separated account counts")
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--policy", default="seed-champion")
    ap.add_argument("--repeat", type=int, default=3, help="engine runs per size (best time is kept)")
    ap.add_argument("--reference-max", type=int, default=100_000, help="largest size the reference runs at")
    ap.add_argument("--reference-repeat", type=int, default=1)
    ap.add_argument("--no-pin", action="store_true", help="do not pin the runs to one CPU")
    ap.add_argument("--quick", action="store_true", help="sizes 10^4 and 10^5, one run each")
    ap.add_argument("--baseline-src", help="also time the collectsim package in this directory (e.g. the last "
                    "commit: git archive HEAD collectsim | tar -x -C DIR) and print the speed-up over it")
    ap.add_argument("--baseline-repeat", type=int, default=1)
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    if a.quick:
        sizes, a.repeat = [10_000, 100_000], 1
    cpu = None if a.no_pin else _bench.default_cpu()
    kw = dict(days=a.days, policy=a.policy, cpu=cpu)

    print(f"# scale: {a.policy}, us-reg-f, {a.days} days; {_bench.machine()}; pinned to CPU {cpu}")
    rows, before = [], {}
    for n in sizes:
        eng = _bench.best_of("engine", n, a.repeat, **kw)
        ref = _bench.best_of("reference", n, a.reference_repeat, **kw) if n <= a.reference_max else None
        rows.append((n, eng, ref))
        r = f", reference {_bench.fmt_rate(ref['borrower_days_per_second'])}/s" if ref else ""
        if a.baseline_src:
            before[n] = _bench.best_of("engine", n, a.baseline_repeat, src=a.baseline_src, **kw)
            r += (f", baseline engine {_bench.fmt_rate(before[n]['borrower_days_per_second'])}/s, "
                  f"{before[n]['peak_bytes_per_account']:.0f} B/account")
        print(f"  {n:>9,} accounts: engine {eng['seconds']:.2f} s, "
              f"{_bench.fmt_rate(eng['borrower_days_per_second'])}/s, "
              f"{eng['peak_bytes_per_account']:.0f} B/account{r}", flush=True)

    print()
    print("| accounts | days | engine time | borrower-days/s | ns per borrower-day | peak memory per account "
          "| collector µs per collector-day | reference borrower-days/s | engine / reference |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, eng, ref in rows:
        bds = eng["borrower_days_per_second"]
        if ref:
            ref_s = f"{ref['borrower_days_per_second']:,.0f}"
            ratio = f"{bds / ref['borrower_days_per_second']:,.0f}×"
        else:
            ref_s, ratio = "—", "—"
        print(f"| {n:,} | {a.days} | {eng['seconds']:.2f} s | {bds:,.0f} | {1e9 / bds:.1f} | "
              f"{eng['peak_bytes_per_account']:.0f} B | {eng['collector_us_per_collector_day']:.2f} | {ref_s} | {ratio} |")
    yard = min(eng["yardstick_ms"] for _, eng, _ in rows)
    print(f"\nyardstick (this machine, same runs): one np.add over 10^6 float64 took {yard:.3f} ms at best")
    if before:
        print(f"\nbaseline engine ({a.baseline_src}, same run):")
        print("| accounts | baseline borrower-days/s | baseline memory per account | speed-up |")
        print("| ---: | ---: | ---: | ---: |")
        for n, eng, _ in rows:
            b = before[n]
            print(f"| {n:,} | {b['borrower_days_per_second']:,.0f} | {b['peak_bytes_per_account']:.0f} B | "
                  f"{eng['borrower_days_per_second'] / b['borrower_days_per_second']:.1f}× |")
    big = [(n, 1e9 / eng["borrower_days_per_second"]) for n, eng, _ in rows if n >= 100_000]
    if len(big) >= 2:
        costs = [c for _, c in big]
        print(f"\nflatness: cost per borrower-day from {big[0][0]:,} to {big[-1][0]:,} accounts varies "
              f"{max(costs) / min(costs):.2f}× (max/min; target ≤ 1.5×)")
    for n, eng, _ in rows:
        if n == 1_000_000:
            ok = lambda c: "met" if c else "NOT met"  # noqa: E731
            bds, mem = eng["borrower_days_per_second"], eng["peak_bytes_per_account"]
            print(f"at 10^6: {bds:,.0f} borrower-days/s (target 3×10^7: {ok(bds >= 3e7)}), "
                  f"{mem:.0f} B/account (target ≤ 300: {ok(mem <= 300)})")
    print(f"\ncommand: .venv/bin/python benchmarks/scale.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
