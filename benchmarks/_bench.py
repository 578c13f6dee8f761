"""Shared helpers of the benchmark scripts (not a benchmark itself).

Every measurement runs in a fresh Python subprocess, so peak memory is that run's alone:

* **time**: wall time of ``collectsim.simulate`` (model construction, every day, KPIs;
  ``audit=False``: no contact log; ``engine``: the horizon only, ``valued``: with the
  valuation's run-off of the open accounts), ``time.perf_counter``;
* **peak memory**: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the process's peak
  resident set) after the run minus the same figure just before the model is built (after
  the imports and the scenario), divided by the number of accounts;
* **one core**: the child is pinned to one CPU (``os.sched_setaffinity``) and BLAS/OpenMP/
  numba thread pools are limited to one thread;
* **collectors**: the time spent in the collector teams' daily work
  (``CollectorTeam.work``) per collector-day — it should not grow with the book (the
  default teams scale with it: 60 callers and 6 field agents per 100,000 accounts);
* **yardstick**: one ``np.add`` over 10^6 float64 values, timed in the same process (best
  of 30): how fast this machine was at that moment (shared machines vary by ±30 %).

Run the scripts next to this file (``python benchmarks/scale.py``); they import it by path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def scenario(accounts: int, days: int = 180):
    """The quickstart book (``experiments/quickstart.toml``: default card portfolio, us-reg-f)."""
    import collectsim  # the public API: the same in every layout a baseline may have

    return collectsim.Scenario.model_validate(
        {"portfolio": {"accounts": accounts, "horizon_days": days, "product": "card"}, "rules": {"preset": "us-reg-f"}}
    )


def _maxrss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _simulate(simulate, sc, pol, seed: int, valued: bool):
    """``simulate`` with the audit off; ``valued``: with the valuation's run-off (a baseline from
    before valuation existed has no such option and no run-off)."""
    try:
        return simulate(sc, pol, seed=seed, audit=False, value=valued)
    except TypeError:
        return simulate(sc, pol, seed=seed, audit=False)


def child(kind: str, accounts: int, days: int, policy: str, seed: int) -> dict:
    """One measurement, in this (fresh) process. ``kind``: ``engine`` (the horizon only),
    ``valued`` (the horizon and the valuation's run-off) or ``reference``."""
    import numpy as np

    import collectsim  # (imports count in the baseline, not in the run)

    try:  # the layout since the architecture change
        from collectsim.agents import CollectorTeam
        from collectsim.policies import prepare_policy
        from collectsim.validation.reference import ReferenceModel
    except ImportError:  # a baseline from before it
        from collectsim.agents.reference import ReferenceModel

        from collectsim.agents.collectors import CollectorTeam
        from collectsim.experiments.simulation import prepare_policy
    simulate = collectsim.simulate

    a, b, c = np.ones(10**6), np.ones(10**6), np.empty(10**6)
    yard = float("inf")
    for _ in range(30):
        t = time.perf_counter()
        np.add(a, b, out=c)
        yard = min(yard, time.perf_counter() - t)
    del a, b, c

    sc = scenario(accounts, days)
    pol = prepare_policy(policy, sc)
    if kind != "reference":  # warm-up: compile / import everything the run needs, tiny book
        _simulate(simulate, scenario(3000, 12), policy, seed, valued=True)
    team_time = [0.0]
    work = CollectorTeam.work

    def timed_work(self, *args):
        t = time.perf_counter()
        try:
            return work(self, *args)
        finally:
            team_time[0] += time.perf_counter() - t

    CollectorTeam.work = timed_work
    rss0 = _maxrss_bytes()
    t0 = time.perf_counter()
    if kind != "reference":
        res = _simulate(simulate, sc, pol, seed, valued=kind == "valued")
        kpis = res.kpis
    else:
        model = ReferenceModel(sc, pol, seed=seed)
        for _ in range(days):
            model.step()
        kpis = model.kpis()
    wall = time.perf_counter() - t0
    rss1 = _maxrss_bytes()
    CollectorTeam.work = work
    collectors = sum(t.resolved_headcount(accounts) for t in sc.teams)
    return {
        "source": str(Path(collectsim.__file__).parent),
        "kind": kind,
        "accounts": accounts,
        "days": days,
        "seconds": wall,
        "borrower_days_per_second": accounts * days / wall,
        "peak_bytes_per_account": (rss1 - rss0) / accounts,
        "collector_us_per_collector_day": 1e6 * team_time[0] / max(collectors * days, 1) if kind != "reference" else None,
        "yardstick_ms": 1e3 * yard,
        "recovery_rate": kpis["recovery_rate"],
        "cure_rate": kpis["cure_rate"],
        "runoff_days": (kpis.get("runoff") or {}).get("days"),
    }


def measure(kind: str, accounts: int, days: int = 180, policy: str = "seed-champion", seed: int = 1,
            cpu: int | None = None, src: str | None = None) -> dict:
    """Run :func:`child` in a fresh subprocess (pinned to ``cpu`` if given) and return its figures.

    ``src``: a directory holding another copy of the ``collectsim`` package to measure
    instead of the installed one (e.g. the last commit, ``git archive HEAD collectsim |
    tar -x -C DIR``).
    """
    env = dict(os.environ, **ONE_THREAD)
    code = (
        f"import json, os, sys; sys.path.insert(0, {str(HERE)!r})\n"
        f"src = {src!r}\n"
        "if src: sys.path.insert(0, src)\n"
        f"cpu = {cpu!r}\n"
        "if cpu is not None: os.sched_setaffinity(0, {cpu})\n"
        f"import _bench; print('RESULT ' + json.dumps(_bench.child({kind!r}, {accounts}, {days}, {policy!r}, {seed})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-3000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def best_of(kind: str, accounts: int, repeat: int, **kw) -> dict:
    """The fastest of ``repeat`` runs; memory is the largest seen (conservative)."""
    runs = [measure(kind, accounts, **kw) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    best = dict(best, peak_bytes_per_account=max(r["peak_bytes_per_account"] for r in runs), runs=len(runs))
    return best


def default_cpu() -> int | None:
    """The CPU to pin children to: the last one this process may use."""
    try:
        return max(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None


def fmt_rate(x: float) -> str:
    """Borrower-days per second, short."""
    return f"{x / 1e6:,.1f} M" if x >= 1e6 else f"{x / 1e3:,.0f} k"


def machine() -> str:
    """One line describing the machine and the software."""
    import platform

    import numpy as np

    try:
        import numba

        nb = f", numba {numba.__version__}"
    except ImportError:
        nb = ", numba not installed"
    try:
        load = " load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs,{load}; "
            f"Python {platform.python_version()}, numpy {np.__version__}{nb}")


if __name__ == "__main__":  # pragma: no cover
    print(__doc__)
