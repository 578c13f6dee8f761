"""What adapting costs in time: an adaptive run against a static run of the same book.

The target (issue 13): an adaptive run costs at most 1.5× a static run of the same book.
Measured on the path users type, ``collectsim run EXPERIMENT --policy P --out DIR`` in a
fresh process (the audit on, the folder, its plots and report written), for the static
champion and each shipped adaptive policy, in interleaved rounds; the figure is the best of
``--repeat`` rounds. Two times per run: the whole command (wall clock around the
subprocess: imports, simulation, audit, valuation, files, plots) and the simulation alone
(``meta.wall_seconds`` in the folder's ``summary.json``: the model's days, the run-off and
the KPIs). The ratio is against the static champion measured in the same rounds.

    .venv/bin/python benchmarks/adaptive_speed.py                      # experiments/seed-failure.toml, 3 rounds
    .venv/bin/python benchmarks/adaptive_speed.py --experiment experiments/quickstart.toml --repeat 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

POLICIES = ("seed-champion", "experiments/policies/thompson.toml", "experiments/policies/thompson-value.toml",
            "experiments/policies/thompson-reminders.toml")


def one(experiment: str, policy: str, out: Path) -> tuple[float, float]:
    """(whole command, simulation) seconds of one ``collectsim run``."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "collectsim", "run", experiment, "--policy", policy, "--out", str(out),
                    "--quiet"], cwd=_bench.ROOT, check=True, stdout=subprocess.DEVNULL)
    whole = time.perf_counter() - t0
    return whole, float(json.loads((out / "summary.json").read_text())["meta"]["wall_seconds"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="experiments/seed-failure.toml")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    best: dict[str, list[float]] = {p: [float("inf"), float("inf")] for p in POLICIES}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeat):
            for k, p in enumerate(POLICIES):
                whole, sim = one(a.experiment, p, Path(tmp) / f"r{r}-{k}")
                best[p] = [min(best[p][0], whole), min(best[p][1], sim)]
    print(f"# adaptive speed: {a.experiment}; {_bench.machine()}; best of {a.repeat} interleaved rounds")
    print("| policy | collectsim run | ratio | simulation | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    w0, s0 = best[POLICIES[0]]
    for p in POLICIES:
        w, s = best[p]
        print(f"| {p} | {w:.2f} s | {w / w0:.2f}× | {s:.2f} s | {s / s0:.2f}× |")
    print(f"\ncommand: .venv/bin/python benchmarks/adaptive_speed.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
