"""``collectsim calibrate`` on a large history, as users type it, against simulating the same book.

Two commands, each a fresh process, timed from start to exit, their memory the peak of the
sum of the resident memory of the process and all its children (the joblib workers),
sampled every 0.2 s:

* ``synth``: ``collectsim synth experiments/quickstart.toml --accounts N --days D --format
  parquet --out DIR`` — the engine simulating the book and writing its history (the
  yardstick: what one simulation of this book costs on this machine today);
* ``calibrate``: ``collectsim calibrate DIR --base experiments/quickstart.toml --jobs 2
  --out OUT`` — the whole job: the history read and checked, every fit (reach, right party,
  opt-outs, complaints, the book, the repayment level by simulated moments), the observed
  policy, the statistics against ``--reps`` simulated histories, the backtest, the report.

Printed: the history's size, both wall times and their ratio, the peak memory of each.

    .venv/bin/python benchmarks/calibrate_scale.py                       # 10^6 × 180 (~15 minutes)
    .venv/bin/python benchmarks/calibrate_scale.py --accounts 100000     # a quick look

Target (issue 12): a history of 10^6 accounts × 180 days calibrates in ≤ 15 minutes on
this 2-core machine with ≤ 8 GB peak memory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def measured(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; its wall time (s) and the peak of its process tree's resident memory (GB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    peak = 0.0
    done = threading.Event()

    def sample():
        nonlocal peak
        p = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
                peak = max(peak, rss / 1e9)
            except psutil.Error:
                pass
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    rc = proc.wait()
    done.set()
    t.join()
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {rc}")
    return time.perf_counter() - start, peak


def main(argv: list[str] | None = None) -> int:
    """Measure and print (see the module's docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=180)
    p.add_argument("--reps", type=int, default=8)
    a = p.parse_args(argv)
    py = [sys.executable, "-m", "collectsim"]
    exp = str(ROOT / "experiments" / "quickstart.toml")
    with tempfile.TemporaryDirectory() as tmp:
        hist, out = Path(tmp) / "history", Path(tmp) / "fit"
        t_synth, m_synth = measured([*py, "synth", exp, "--accounts", str(a.accounts), "--days", str(a.days),
                                     "--format", "parquet", "--out", str(hist)])
        import pyarrow.parquet as pq

        contacts = pq.ParquetFile(hist / "contacts.parquet").metadata.num_rows
        payments = pq.ParquetFile(hist / "payments.parquet").metadata.num_rows
        t_cal, m_cal = measured([*py, "calibrate", str(hist), "--base", exp, "--jobs", "2", "--reps", str(a.reps),
                                 "--out", str(out)])
    print(f"history: {a.accounts:,} accounts × {a.days} days, {contacts:,} contacts, {payments:,} payments")
    print(f"synth (the yardstick): {t_synth:8.1f} s   peak {m_synth:5.2f} GB")
    print(f"calibrate --jobs 2:    {t_cal:8.1f} s   peak {m_cal:5.2f} GB   ({t_cal / t_synth:.1f}× the synth)")
    print(f"target: ≤ 900 s and ≤ 8 GB at 10^6 × 180: {'met' if t_cal <= 900 and m_cal <= 8 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
