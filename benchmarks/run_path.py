"""The audited run users type, against the engine alone, measured in the same run.

For each book size (default 10^4 and 10^6 accounts; ``--big`` adds 10^7) × 180 days of
``experiments/quickstart.toml`` (seed champion, us-reg-f), two measurements, each in a
fresh subprocess pinned to one CPU with one thread per pool:

* ``cli``: ``collectsim run experiments/quickstart.toml --accounts N --out DIR --quiet``,
  through :func:`collectsim.cli.main` — the whole command users type: the file read and
  validated, the simulation with its contact log, the valuation's run-off, the
  independent audit of every contact, and the result folder written (parquet, plots,
  report). Timed from the call to the folder in place;
* ``engine``: :func:`collectsim.simulate` on the same scenario and seed with ``audit=False``
  (no contact log, no audit, no folder), the valuation's run-off included, as in ``cli``.

Printed per size: both wall times and their ratio, and the peak resident memory of each
process; the memory of the command above a 10^4-account run, per account; and a yardstick
(one ``np.add`` over 10^6 floats, best of 30) timed in each child, since this machine's
speed varies by 10–30 % between runs.

    .venv/bin/python benchmarks/run_path.py                 # 10^4 and 10^6 (~1 minute)
    .venv/bin/python benchmarks/run_path.py --big           # and 10^7 (several minutes, ~GBs)

Targets (issue 14): at 10^6 accounts × 180 days the audited command ≤ 1.3× the engine-only
time and ≤ 300 bytes per account above a 10^4-account run; 10^7 × 180 completes with a
peak of ≤ 6 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

EXPERIMENT = "experiments/quickstart.toml"

_CHILD = r"""
import json, os, resource, sys, time
cpu = {cpu!r}
if cpu is not None:
    os.sched_setaffinity(0, {{cpu}})
import numpy as np
x = np.ones(1_000_000); y = np.empty_like(x)
yard = 1e9
for _ in range(30):
    t = time.perf_counter(); np.add(x, x, out=y); yard = min(yard, time.perf_counter() - t)
kind, accounts, out = {kind!r}, {accounts}, {out!r}
t0 = time.perf_counter()
if kind == "cli":
    from collectsim.cli import main
    rc = main(["run", {experiment!r}, "--accounts", str(accounts), "--out", out, "--quiet"])
    assert rc == 0, rc
    kpis = json.load(open(os.path.join(out, "summary.json")))["kpis"]
else:
    import collectsim
    exp = collectsim.load_experiment({experiment!r}, accounts=accounts)
    res = collectsim.simulate(exp.scenario, exp.run.policy, seed=exp.run.seed, audit=False)
    kpis = res.kpis
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("RESULT " + json.dumps({{"kind": kind, "accounts": accounts, "seconds": wall, "peak_bytes": peak,
                              "yardstick_ms": 1e3 * yard, "recovery_rate": kpis["recovery_rate"],
                              "violations": kpis.get("violations_total")}}))
"""


def measure(kind: str, accounts: int, cpu: int | None) -> dict:
    """One measurement in a fresh, pinned subprocess (a ``cli`` run writes into a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="collectsim-bench-") as tmp:
        code = _CHILD.format(cpu=cpu, kind=kind, accounts=accounts, out=str(Path(tmp) / "run"), experiment=EXPERIMENT)
        env = dict(os.environ, **_bench.ONE_THREAD)
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=_bench.ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-3000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 0 (the figures are the output; targets are printed beside them)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,1000000", help="comma-separated account counts (the first is the "
                    "memory baseline)")
    ap.add_argument("--big", action="store_true", help="also 10^7 accounts (the command only)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size and kind (the fastest is kept)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the runs to one CPU")
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    cpu = None if a.no_pin else _bench.default_cpu()
    print(f"# run path: `collectsim run {EXPERIMENT} --accounts N` (audit on, folder written) versus "
          f"`collectsim.simulate(..., audit=False)`, 180 days; {_bench.machine()}; pinned to CPU {cpu}")
    print("| accounts | command s | engine s | ratio | command peak MB | engine peak MB | violations | yardstick ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for n in sizes:
        cli = min((measure("cli", n, cpu) for _ in range(a.repeat)), key=lambda r: r["seconds"])
        eng = min((measure("engine", n, cpu) for _ in range(a.repeat)), key=lambda r: r["seconds"])
        rows[n] = (cli, eng)
        print(f"| {n:,} | {cli['seconds']:.2f} | {eng['seconds']:.2f} | {cli['seconds'] / eng['seconds']:.2f} | "
              f"{cli['peak_bytes'] / 1e6:,.0f} | {eng['peak_bytes'] / 1e6:,.0f} | {cli['violations']} | "
              f"{cli['yardstick_ms']:.3f} / {eng['yardstick_ms']:.3f} |", flush=True)
    base = sizes[0]
    for n in sizes[1:]:
        extra = (rows[n][0]["peak_bytes"] - rows[base][0]["peak_bytes"]) / (n - base)
        ratio = rows[n][0]["seconds"] / rows[n][1]["seconds"]
        print(f"\n{n:,} accounts: the audited command takes {ratio:.2f}x the engine-only time (target <= 1.3x) and "
              f"{extra:,.0f} bytes per account above the {base:,}-account command (target <= 300)")
    if a.big:
        big = measure("cli", 10_000_000, cpu)
        print(f"\n10,000,000 accounts x 180 days: the command took {big['seconds']:,.0f} s with a peak of "
              f"{big['peak_bytes'] / 1e9:.2f} GB (target <= 6 GB); violations {big['violations']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
