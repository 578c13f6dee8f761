"""The Optuna study: its storage, sampler and pruner, heartbeats and resuming.

Only Optuna's public API is used. The study lives in an Optuna journal file inside the run
folder (:data:`JOURNAL_NAME`) or in a storage URL shared by several drivers (an RDB such
as PostgreSQL, with heartbeats, or a journal file path). A driver that dies leaves its
running trials behind. They are failed and **re-run with the same parameters**
(:class:`optuna.storages.RetryFailedTrialCallback`: a waiting copy that the next
``study.ask()`` of any driver takes, up to :data:`MAX_RETRY` times): for an RDB, by any
live driver once their heartbeat is older than the grace period
(:func:`optuna.storages.fail_stale_trials`, checked every round); for a journal, on
``--resume`` (a journal is for one driver at a time, so every running trial is a dead
driver's). The heartbeat interval and grace period are :data:`HEARTBEAT_SECONDS` and four
times that, or the environment variables ``COLLECTSIM_HEARTBEAT_SECONDS`` and
``COLLECTSIM_HEARTBEAT_GRACE_SECONDS`` (:func:`heartbeat_settings`).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import warnings
from pathlib import Path

import optuna
from optuna.storages import JournalStorage, RDBStorage, RetryFailedTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from collectsim.errors import InputError
from collectsim.experiments.optimize.plan import StudyPlan

__all__ = [
    "JOURNAL_NAME",
    "folder_study",
    "HEARTBEAT_SECONDS",
    "MAX_RETRY",
    "heartbeat_settings",
    "retry_trial",
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
#: How many times a trial whose driver died is re-run with the same parameters.
MAX_RETRY = 3


def heartbeat_settings() -> tuple[float, float]:
    """(interval, grace period) in seconds of the heartbeats of RDB storages: by default
    :data:`HEARTBEAT_SECONDS` and four times it; ``COLLECTSIM_HEARTBEAT_SECONDS`` and
    ``COLLECTSIM_HEARTBEAT_GRACE_SECONDS`` override them (the crash test uses 1 and 4 s)."""
    values = []
    for var, default in (("COLLECTSIM_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS), ("COLLECTSIM_HEARTBEAT_GRACE_SECONDS", None)):
        raw = os.environ.get(var, "").strip()
        if not raw:
            values.append(default)
            continue
        try:
            v = float(raw)
        except ValueError:
            v = float("nan")
        if not (0.1 <= v <= 86400):
            raise InputError(f"{var} = {raw!r}: must be a number of seconds in 0.1..86400")
        values.append(v)
    interval, grace = values
    grace = 4 * interval if grace is None else grace
    if grace <= interval:
        raise InputError(f"COLLECTSIM_HEARTBEAT_GRACE_SECONDS = {grace:g}: must exceed the heartbeat interval ({interval:g} s)")
    return interval, grace


def _retry_callback() -> RetryFailedTrialCallback:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryFailedTrialCallback(max_retry=MAX_RETRY)


def retry_trial(study: optuna.Study, number: int) -> None:
    """Re-enqueue failed trial ``number`` with the same parameters (a waiting trial the next
    ``study.ask()`` takes; a trial killed before its parameters were drawn gets them then),
    as :class:`~optuna.storages.RetryFailedTrialCallback` does for stale heartbeats."""
    frozen = next((t for t in study.get_trials(deepcopy=True, states=(TrialState.FAIL,)) if t.number == number), None)
    if frozen is not None:
        _retry_callback()(study, frozen)


def open_storage(url: str | None, journal: Path | None):
    """An Optuna storage: the embedded journal file, a journal file path, or an RDB URL
    (with heartbeats, :func:`heartbeat_settings`, and stale trials re-run)."""
    if url is None:
        return JournalStorage(JournalFileBackend(str(journal)))
    if "://" not in url:
        p = Path(url)
        if not p.parent.exists():
            raise InputError(f"storage = {url!r}: folder {str(p.parent)!r} does not exist")
        return JournalStorage(JournalFileBackend(str(p)))
    interval, grace = heartbeat_settings()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return RDBStorage(url, heartbeat_interval=max(1, round(interval)), grace_period=max(2, round(grace)),
                              heartbeat_stale_trial_callback=_retry_callback())
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
    """Fail the trials a dead driver left running and re-enqueue each with the same
    parameters: those with a stale heartbeat (RDB storages; live drivers' trials keep
    running), or every running trial (journal files, which have no heartbeats: resume only
    when no other driver works on the study)."""
    if _heartbeats(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # the storage's callback re-enqueues them
        return
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        try:
            study.tell(t.number, state=TrialState.FAIL)
        except Exception:  # finished meanwhile
            continue
        retry_trial(study, t.number)


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
        self.study = study
        self.enabled = _heartbeats(storage)
        self.interval = float(storage.get_heartbeat_interval()) if self.enabled else float(HEARTBEAT_SECONDS)
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

    def reap(self) -> None:
        """Fail (and re-enqueue) other drivers' trials whose heartbeat is stale (RDB storages)."""
        if self.enabled:
            fail_abandoned_trials(self.study, self.storage)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for tid in list(self.ids):
                with contextlib.suppress(Exception):
                    self.storage.record_heartbeat(tid)

    def close(self) -> None:
        """Stop the heartbeat thread."""
        self._stop.set()

def folder_study(folder: str | Path):
    """The storage and study name of an optimizer result folder (its ``experiment.json``):
    ``(storage, study_name)``. The embedded journal is opened from the folder; another
    storage by the URL the folder records.

    Raises
    ------
    InputError
        When ``folder`` is not an optimizer result folder or its study cannot be opened.
    """
    f = Path(folder)
    meta_path = f / "experiment.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("study_name"), str):
        raise InputError(f"folder = {str(folder)!r}: not an optimizer result folder (no experiment.json with "
                         "the study's name; `collectsim optimize` writes one)")
    url = str(meta.get("storage") or "study.journal")
    if "://" in url:
        storage = open_storage(url, None)
    else:
        journal = Path(url) if Path(url).is_absolute() else f / url
        if not journal.is_file():
            raise InputError(f"folder = {str(folder)!r}: its study journal {str(journal)!r} is missing")
        storage = JournalStorage(JournalFileBackend(str(journal)))
    return storage, meta["study_name"]
