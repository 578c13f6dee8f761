"""The work behind *Run*, off the page's thread: a live lockstep run, then the replications.

:class:`Lockstep` is a Mesa model whose agents are whole :class:`~collectsim.CollectionsModel`
runs: one per policy, all on the same seed (common random numbers: the same borrowers meet
the same luck), each advanced one day per :meth:`Lockstep.step`; its ``DataCollector``
records, day by day and per policy, the cumulative recovery rate and cash, complaints and
customers lost. The live run is exactly the first replication's horizon.

:class:`Job` runs in a thread of its own: the lockstep run (publishing a
:class:`Snapshot` every few days: a copy of the series, never the live collector, so the page
never reads what the thread is writing), then :func:`collectsim.compare` on the replication
seeds (a ticker republishes every second with the elapsed time and the comparison's own
progress line), then the report (:meth:`collectsim.Comparison.save` and
:func:`collectsim.build_report` in a temporary folder). Every publication goes to one
callback; a bad input becomes the snapshot's one-line ``error``, never a traceback.

:class:`Relay` keeps the simulation from waiting for the page: the job hands each snapshot
to the relay, whose own thread delivers the newest one (older ones are skipped), so drawing
the charts never slows the run down and the page shows the latest day it can.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import mesa
import pandas as pd

import collectsim
from collectsim.app.inputs import RunSpec
from collectsim.errors import InputError

__all__ = ["Lockstep", "Snapshot", "Job", "Relay", "LIVE_METRICS", "label_policies"]

log = logging.getLogger("collectsim.app")

#: the live series: name -> (label, unit); per 1,000 accounts of the book where it says so
LIVE_METRICS: dict[str, tuple[str, str]] = {
    "recovery_rate": ("recovery rate (cumulative)", "share"),
    "collected": ("cash collected per 1,000 accounts", "money"),
    "complaints": ("complaints per 1,000 accounts", "per_1k"),
    "churned": ("customers lost per 1,000 accounts", "per_1k"),
}


def label_policies(policies: list) -> list[str]:
    """Distinct labels, as :func:`collectsim.compare` gives them (a repeated name gets `` (2)``)."""
    seen: set[str] = set()
    out = []
    for p in policies:
        name = str(p.name)
        label, k = name, 2
        while label in seen:
            label, k = f"{name} ({k})", k + 1
        seen.add(label)
        out.append(label)
    return out


class Lockstep(mesa.Model):
    """One :class:`~collectsim.CollectionsModel` per policy on one seed, stepped together day by day.

    Parameters
    ----------
    scenario:
        The scenario every policy runs on.
    policies:
        Prepared policies, the champion first (each model gets its own copy).
    seed:
        The seed of every model (the first replication's).
    """

    def __init__(self, scenario: collectsim.Scenario, policies: list, seed: int) -> None:
        super().__init__(rng=seed)
        self.days = scenario.portfolio.horizon_days
        self.labels = label_policies(policies)
        self.per = 1000.0 / scenario.portfolio.accounts
        self.runs = {
            label: collectsim.CollectionsModel(scenario, copy.deepcopy(pol), seed=seed, log_contacts=False)
            for label, pol in zip(self.labels, policies, strict=True)
        }
        self.complaints = dict.fromkeys(self.labels, 0.0)
        reporters: dict = {"day": lambda m: m.day}
        for label in self.labels:
            reporters[f"recovery_rate|{label}"] = lambda m, k=label: m.runs[k].recovery_rate
            reporters[f"collected|{label}"] = lambda m, k=label: m.runs[k].collected_cum_units * m.per
            reporters[f"complaints|{label}"] = lambda m, k=label: m.complaints[k] * m.per
            reporters[f"churned|{label}"] = lambda m, k=label: m.runs[k].borrowers.churned_count * m.per
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    @property
    def day(self) -> int:
        """Days simulated so far (inside :meth:`step`: the day being simulated, from 1)."""
        return int(self.steps)

    def step(self) -> None:
        """Advance every policy's model by one day and record the day."""
        for label, run in self.runs.items():
            run.step()
            self.complaints[label] += float(run.datacollector.model_vars["complaints"][-1])
        self.running = self.day < self.days
        self.datacollector.collect(self)

    def series(self) -> pd.DataFrame:
        """A copy of the recorded days: ``day`` (1, 2, ...), then ``metric|policy`` columns."""
        return self.datacollector.get_model_vars_dataframe().copy().reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What the page shows of a job at one moment (immutable; a new one is published for every change).

    ``phase`` is ``live``, ``replications``, ``report``, ``done``, ``error`` or ``cancelled``;
    ``run_id`` tells one press of *Run* from the next; snapshots compare by identity.
    """

    phase: str
    days: int
    labels: tuple[str, ...]
    seed: int = 0
    run_id: int = 0
    day: int = 0
    series: pd.DataFrame | None = None
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    phase_started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0
    simulations: int = 0
    comparison: collectsim.Comparison | None = None
    report_html: bytes | None = None
    comparison_csv: bytes | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        """Whether work is still under way."""
        return self.phase in ("live", "replications", "report")


class Job:
    """Runs one :class:`~collectsim.app.inputs.RunSpec` in a thread; publishes :class:`Snapshot` s.

    Parameters
    ----------
    spec:
        The checked inputs.
    publish:
        Called (from the job's thread) with every new snapshot.
    min_interval:
        Seconds between two live publications at least (the last day is always published).
    """

    def __init__(self, spec: RunSpec, publish: Callable[[Snapshot], None], *, min_interval: float = 0.1) -> None:
        self.spec = spec
        self.publish = publish
        self.min_interval = min_interval
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, name="collectsim-app-job", daemon=True)
        labels = tuple(label_policies(spec.policies))
        self.snapshot = Snapshot(phase="live", days=spec.days, labels=labels, seed=spec.seed)

    def start(self) -> Job:
        """Start the thread; return self."""
        self.thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the next day (live run) or drop the result when it arrives (replications)."""
        self.cancelled.set()

    def _put(self, **changes) -> None:
        with self._lock:  # the job's thread and the ticker publish in turn, newest last
            if self.cancelled.is_set() and changes.get("phase") != "cancelled":
                return
            now = time.monotonic()
            changes.setdefault("elapsed", now - self.snapshot.started)
            if "phase" in changes and changes["phase"] != self.snapshot.phase:
                changes.setdefault("phase_started", now)
            self.snapshot = replace(self.snapshot, **changes)
            self.publish(self.snapshot)

    def run(self) -> None:
        """The thread's body: live run, replications, report."""
        try:
            self._live()
            if self.cancelled.is_set():
                self._put(phase="cancelled", message="cancelled")
                return
            comparison = self._replications()
            if self.cancelled.is_set():
                self._put(phase="cancelled", message="cancelled")
                return
            self._put(phase="report", message="writing the report", comparison=comparison)
            html, csv = self._report(comparison)
            self._put(phase="done", message="done", report_html=html, comparison_csv=csv)
        except InputError as e:
            self._put(phase="error", error=str(e), message=str(e))
        except Exception as e:  # an internal error: one line on the page, the traceback in the server's log
            log.exception("collectsim app: the run failed")
            self._put(phase="error", error=f"internal error: {type(e).__name__}: {e}".splitlines()[0],
                      message="internal error")

    def _live(self) -> None:
        spec = self.spec
        model = Lockstep(spec.scenario, spec.policies, spec.seed)
        self._put(phase="live", message=f"day 0 of {spec.days}", series=model.series())
        last = 0.0
        while model.running and not self.cancelled.is_set():
            model.step()
            now = time.monotonic()
            if now - last >= self.min_interval or not model.running:
                last = now
                self._put(day=model.day, series=model.series(), message=f"day {model.day} of {spec.days}")
        for run in model.runs.values():
            run.remove_all_agents()
        model.remove_all_agents()

    def _replications(self) -> collectsim.Comparison:
        spec = self.spec
        n = spec.reps * len(spec.policies)
        self._put(phase="replications", simulations=n,
                  message=f"{spec.reps} replications × {len(spec.policies)} policies = {n} simulations")
        done = threading.Event()

        def tick() -> None:  # the elapsed time moves while compare() works
            while not done.wait(1.0):
                if not self.cancelled.is_set():
                    self._put()

        ticker = threading.Thread(target=tick, name="collectsim-app-ticker", daemon=True)
        ticker.start()
        try:
            return collectsim.compare(
                spec.experiment,
                spec.policies[0],
                spec.policies[1:],
                reps=spec.reps,
                jobs=spec.jobs,
                variants=[],
                seed=spec.seed,
                settings=spec.settings,
                progress=lambda msg: self._put(message=msg),
            )
        finally:
            done.set()
            ticker.join()

    def _report(self, comparison: collectsim.Comparison) -> tuple[bytes, bytes]:
        with tempfile.TemporaryDirectory(prefix="collectsim-app-report-") as tmp:
            folder = Path(tmp) / "compare"
            folder.mkdir()
            comparison.save(folder)
            collectsim.build_report(folder)
            return (folder / "report.html").read_bytes(), (folder / "comparison.csv").read_bytes()


class Relay:
    """Delivers the newest of the values :meth:`put` into it, from a thread of its own.

    ``deliver`` (for the page: setting Solara's reactive variables, which re-renders and
    sends the changes to the browser) may be slow; :meth:`put` never waits for it, and a
    value superseded before its delivery started is skipped. The last value put before
    :meth:`close` is always delivered.
    """

    def __init__(self, deliver: Callable[[object], None]) -> None:
        self.deliver = deliver
        self._cond = threading.Condition()
        self._value: object = None
        self._pending = False
        self._closed = False
        self.thread = threading.Thread(target=self._loop, name="collectsim-app-relay", daemon=True)
        self.thread.start()

    def put(self, value: object) -> None:
        """Hand over a new value (returns at once)."""
        with self._cond:
            self._value, self._pending = value, True
            self._cond.notify()

    def close(self) -> None:
        """Deliver what is pending, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending and self._closed:
                    return
                value, self._pending = self._value, False
            try:
                self.deliver(value)
            except Exception:  # a failed delivery must not stop the next ones
                log.exception("collectsim app: delivering an update failed")
