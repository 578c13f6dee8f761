"""What valuing a result costs: the run-off of the open accounts against the horizon itself.

For each book size and horizon, the quickstart book under ``seed-champion`` runs twice in
fresh processes pinned to one CPU: the horizon only (``engine``) and the horizon plus the
valuation's run-off under ``no-contact`` until every open account has resolved
(``valued``). The run-off's cost is the difference; the target (issue 10) is at most the
horizon's own time.

    .venv/bin/python benchmarks/valuation.py                  # 10^5 and 10^6 accounts, 90 and 180 days
    .venv/bin/python benchmarks/valuation.py --sizes 100000 --horizons 90
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--horizons", default="90,180")
    ap.add_argument("--policy", default="seed-champion")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args(argv)
    cpu = _bench.default_cpu()
    print(f"# valuation: {a.policy}, us-reg-f; {_bench.machine()}; pinned to CPU {cpu}")
    print("| accounts | horizon days | horizon only | with run-off | run-off | run-off days | run-off / horizon |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in [int(s) for s in a.sizes.split(",")]:
        for days in [int(h) for h in a.horizons.split(",")]:
            eng = _bench.best_of("engine", n, a.repeat, days=days, policy=a.policy, cpu=cpu)
            val = _bench.best_of("valued", n, a.repeat, days=days, policy=a.policy, cpu=cpu)
            extra = val["seconds"] - eng["seconds"]
            print(f"| {n:,} | {days} | {eng['seconds']:.2f} s | {val['seconds']:.2f} s | {extra:.2f} s | "
                  f"{val['runoff_days']} | {extra / eng['seconds']:.2f}× |", flush=True)
    print(f"\ncommand: .venv/bin/python benchmarks/valuation.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
