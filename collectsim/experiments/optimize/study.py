"""The Optuna study: its storage, sampler and pruner, heartbeats and resuming.

Only Optuna's public API is used. The study lives in an Optuna journal file inside the run
folder (:data:`JOURNAL_NAME`) or in a storage URL shared by several drivers (an RDB such
as PostgreSQL, with heartbeats, or a journal file path). A driver that dies leaves its
running trials behind: on ``--resume`` they are failed (stale heartbeats for an RDB, any
running trial for a journal).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from pathlib import Path

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from collectsim.errors import InputError
from collectsim.experiments.optimize.plan import StudyPlan

__all__ = [
    "JOURNAL_NAME",
    "HEARTBEAT_SECONDS",
    "open_storage",
    "repair_journal",
    "safe_url",
    "study_exists",
    "make_sampler",
    "make_pruner",
    "fail_abandoned_trials",
    "Heartbeat",
]

#: File name of the embedded study journal inside the run folder.
JOURNAL_NAME = "study.journal"
#: Interval of the heartbeats a driver records for its running trials (RDB storages).
HEARTBEAT_SECONDS = 30


def open_storage(url: str | None, journal: Path | None):
    """An Optuna storage: the embedded journal file, a journal file path, or an RDB URL
    (with heartbeats every :data:`HEARTBEAT_SECONDS`)."""
    if url is None:
        return JournalStorage(JournalFileBackend(str(journal)))
    if "://" not in url:
        p = Path(url)
        if not p.parent.exists():
            raise InputError(f"storage = {url!r}: folder {str(p.parent)!r} does not exist")
        return JournalStorage(JournalFileBackend(str(p)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=4 * HEARTBEAT_SECONDS)
    except Exception as e:  # sqlalchemy raises many kinds
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"storage = {safe_url(url)!r}: cannot open ({msg[:160]})") from None


def repair_journal(path: Path) -> None:
    """Drop a torn last line (a driver killed mid-write) so new records start on a fresh line."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)


def safe_url(url: str | None) -> str | None:
    """A storage URL fit to print: the password hidden."""
    if url is None or "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url  # lazy: only RDB URLs need sqlalchemy

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://***"


def study_exists(storage, name: str) -> bool:
    """Whether ``storage`` holds a study called ``name``."""
    return any(s.study_name == name for s in storage.get_all_studies())


def make_sampler(plan: StudyPlan, seed: int):
    """The plan's sampler (TPE, random or NSGA-II), seeded."""
    s = plan.settings
    startup = s.startup_trials if s.startup_trials is not None else max(4, min(10, plan.trials // 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if s.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if s.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, plan.batch))
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, multivariate=True, group=True, constant_liar=True
        )


def make_pruner(plan: StudyPlan):
    """Wilcoxon pruning between replication stages (scalar mode), else none."""
    stages = plan.stages()
    if len(stages) == 1:
        return optuna.pruners.NopPruner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.WilcoxonPruner(p_threshold=plan.settings.prune_p, n_startup_steps=stages[0])


def _heartbeats(storage) -> bool:
    return isinstance(storage, RDBStorage) and storage.get_heartbeat_interval() is not None


def fail_abandoned_trials(study: optuna.Study, storage) -> None:
    """Fail the trials a dead driver left running: those with a stale heartbeat (RDB
    storages; live drivers' trials keep running), or every running trial (journal files,
    which have no heartbeats: resume only when no other driver works on the study)."""
    if _heartbeats(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        with contextlib.suppress(Exception):
            study.tell(t.number, state=TrialState.FAIL)


class Heartbeat:
    """Records Optuna heartbeats for this driver's running trials (RDB storages), so another
    driver can tell a crashed driver's trials from live ones.

    Parameters
    ----------
    storage:
        The storage the study lives in (nothing is recorded unless it keeps heartbeats).
    study:
        The study.
    """

    def __init__(self, storage, study: optuna.Study) -> None:
        self.storage = storage
        self.enabled = _heartbeats(storage)
        self._study_id = storage.get_study_id_from_name(study.study_name) if self.enabled else None
        self.ids: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()

    def _trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def add(self, number: int) -> None:
        """Start beating for trial ``number``."""
        if self.enabled:
            tid = self._trial_id(number)
            self.ids.add(tid)
            self.storage.record_heartbeat(tid)

    def discard(self, number: int) -> None:
        """Stop beating for trial ``number`` (it has been told)."""
        if self.enabled:
            self.ids.discard(self._trial_id(number))

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            for tid in list(self.ids):
                with contextlib.suppress(Exception):
                    self.storage.record_heartbeat(tid)

    def close(self) -> None:
        """Stop the heartbeat thread."""
        self._stop.set()
