"""Result folders that appear whole or not at all, written safely.

:func:`result_folder` yields a hidden temporary folder next to the destination; the
destination appears (by one ``rename``) only when the block finishes without error. An
existing non-empty destination is never overwritten, so nothing already written is lost.

Safety rules every writer here follows:

* **No fixed temporary names.** A temporary file or folder is created with a unique name
  in the target's folder (``tempfile.mkstemp`` / ``mkdtemp``, which never follow a
  planted link) and renamed into place (``os.replace``). A destination that is a symbolic
  link is refused (:func:`write_atomic`): nothing is written through a link.
* **One writer per destination.** :func:`claim_out_dir` creates a lock file
  ``.NAME.lock`` next to the destination (an exclusive create, holding the writer's PID
  and host) before any work; a second writer gets a one-line error at once.
* **Stale temporaries are recognised.** Temporary names carry the writer's PID and a tag
  of its host, and temporary folders a marker file with both (:data:`MARKER`);
  :func:`sweep_stale` removes those of writers on this host that no longer run.
* **Names never act as paths.** :func:`safe_name` turns a user-given name into a file
  name (no separators, no leading dot, no ``..``), injectively: a short hash of the name
  is appended whenever the slug changed it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from collectsim.errors import InputError

__all__ = [
    "result_folder",
    "default_out_dir",
    "write_json",
    "write_toml",
    "check_out_dir",
    "jsonable",
    "write_atomic",
    "write_text_atomic",
    "safe_name",
    "unique_file_names",
    "claim_out_dir",
    "sweep_stale",
    "MARKER",
]

#: File inside a temporary result folder naming its writer (JSON: pid, host, started).
MARKER = ".collectsim-writer"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<host>[0-9a-f]{8})\.[a-z0-9_]+\.tmp$")


def safe_name(name: str, *, default: str = "experiment", limit: int = 60) -> str:
    """A file name made from a user-given ``name``: letters, digits and ``_ . + -`` only, no
    leading dot, never ``.`` or ``..``. When the slug differs from ``name`` a short hash of
    ``name`` is appended, so two different names never map to one file name
    (``x<y`` -> ``x_y-1a2b3c4d``, ``x>y`` -> ``x_y-5e6f7a8b``)."""
    name = str(name)
    slug = _SAFE.sub("_", name).lstrip(".")[:limit].strip("_") or default
    if slug == name:
        return slug
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}"


def unique_file_names(labels: Iterable[str]) -> dict[str, str]:
    """:func:`safe_name` of each distinct label, made distinct within the set (a counter is
    appended on the rare clash), so the mapping label -> file name is injective."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for label in dict.fromkeys(labels):
        base = name = safe_name(label, default="policy")
        k = 2
        while name.lower() in used:  # (also distinct on case-insensitive file systems)
            name, k = f"{base}-{k}", k + 1
        used.add(name.lower())
        out[label] = name
    return out


def default_out_dir(kind: str, name: str, seed: int | None = None) -> Path:
    """``results/<kind>-<name>-<timestamp>[-seed<N>]`` under the current folder (``name``
    made safe by :func:`safe_name`: it can never point outside ``results/``)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    tail = f"-seed{seed}" if seed is not None else ""
    return Path("results") / f"{kind}-{safe_name(name)}-{stamp}{tail}"


def check_out_dir(out: Path) -> None:
    """Raise InputError if ``out`` cannot become a new result folder."""
    out = Path(out)
    if out.is_symlink():
        raise InputError(f"out = {str(out)!r}: is a symbolic link; refusing to write through it; choose a new folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"out = {str(out)!r}: already exists and is not empty; choose a new folder")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"out = {str(out)!r}: cannot create parent folder ({e.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"out = {str(out)!r}: folder {str(parent)!r} is not writable")


# ------------------------------------------------------------------ writers and their traces ----
def _host() -> str:
    return socket.gethostname()


def _host_tag(host: str | None = None) -> str:
    return hashlib.sha256((host or _host()).encode()).hexdigest()[:8]


def _tmp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}-{_host_tag()}."


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _stale(pid: int, host_tag: str) -> bool:
    return host_tag == _host_tag() and pid != os.getpid() and not _alive(pid)


def sweep_stale(folder: str | Path) -> list[Path]:
    """Remove the temporary files and folders in ``folder`` left by collectsim writers on
    this host that no longer run (recognised by the PID and host tag in their name and, for
    folders, the :data:`MARKER` inside); return what was removed. Temporaries of live
    writers, of other hosts and anything else are left alone."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP.match(entry.name)
        if m is None:
            continue
        pid, tag = int(m["pid"]), m["host"]
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                marker = path / MARKER
                try:
                    info = json.loads(marker.read_text())
                    pid, tag = int(info["pid"]), _host_tag(str(info["host"]))
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # no readable marker: not known to be ours
                if _stale(pid, tag):
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
            elif entry.is_file(follow_symlinks=False) and _stale(pid, tag):
                path.unlink(missing_ok=True)
                removed.append(path)
        except OSError:
            continue
    return removed


def _lock_path(out: Path) -> Path:
    parent = out.parent if str(out.parent) else Path(".")
    return parent / f".{out.name}.lock"


def _read_lock(lock: Path) -> dict | None:
    try:
        info = json.loads(lock.read_text())
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def claim_out_dir(out: str | Path) -> Iterator[Path]:
    """Hold the exclusive right to write ``out`` for the duration (before any work).

    The claim is a lock file ``.NAME.lock`` next to ``out``, created exclusively and
    holding this writer's PID, host and start time; it is removed at the end. A lock of a
    writer on this host that no longer runs is stale and taken over. A live writer's lock
    (or another host's) is a one-line :class:`InputError`: two runs never write one folder.
    """
    out = Path(out)
    lock = _lock_path(out)
    info = {"pid": os.getpid(), "host": _host(), "started": datetime.now().isoformat(timespec="seconds"),
            "out": str(out)}
    for attempt in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            held = _read_lock(lock)
            if held is None:
                try:
                    young = time.time() - lock.lstat().st_mtime < 10
                except OSError:
                    continue  # it went away: try again
                if young or attempt == 2:  # a writer between create and write
                    raise InputError(
                        f"out = {str(out)!r}: another collectsim run is starting to write it (lock {str(lock)!r}); "
                        "choose another folder"
                    ) from None
                lock.unlink(missing_ok=True)
                continue
            pid, host = int(held.get("pid", -1)), str(held.get("host", ""))
            if host == _host() and pid != os.getpid() and not _alive(pid):
                lock.unlink(missing_ok=True)  # its writer was killed: stale
                continue
            raise InputError(
                f"out = {str(out)!r}: another collectsim run (pid {pid} on {host}, since {held.get('started', '?')}) "
                f"is writing it; wait for it to finish or choose another folder (stale? remove {str(lock)!r})"
            ) from None
        except OSError as e:
            raise InputError(f"out = {str(out)!r}: cannot write there ({e.strerror})") from None
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        break
    else:  # pragma: no cover - three stale locks in a row
        raise InputError(f"out = {str(out)!r}: cannot take the lock {str(lock)!r}; remove it if no run is writing")
    try:
        yield lock
    finally:
        if (_read_lock(lock) or {}).get("pid") == os.getpid():
            lock.unlink(missing_ok=True)


@contextlib.contextmanager
def result_folder(out: str | Path) -> Iterator[Path]:
    """Context manager: write into a temporary folder that becomes ``out`` on success.

    ``out`` is claimed first (:func:`claim_out_dir`: a concurrent writer gets a one-line
    error before any work), stale temporaries of killed writers next to it are removed
    (:func:`sweep_stale`), and the temporary folder carries a :data:`MARKER` naming this
    writer until it is renamed into place.
    """
    out = Path(out)
    check_out_dir(out)
    with claim_out_dir(out):
        check_out_dir(out)  # (again: under the lock)
        sweep_stale(out.parent if str(out.parent) else Path("."))
        try:
            tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(out.name), suffix=".tmp", dir=out.parent))
        except OSError as e:
            raise InputError(f"out = {str(out)!r}: cannot write there ({e.strerror})") from None
        try:
            (tmp / MARKER).write_text(json.dumps({"pid": os.getpid(), "host": _host(), "out": str(out)}))
            yield tmp
            (tmp / MARKER).unlink(missing_ok=True)
            if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
                raise InputError(
                    f"out = {str(out)!r}: was created by someone else while this run worked; nothing was written"
                )
            try:
                os.rename(tmp, out)  # onto an absent or empty folder: atomic
            except OSError as e:
                raise InputError(f"out = {str(out)!r}: cannot create it ({e.strerror}); nothing was written") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (NaN and infinities as null), atomically (:func:`write_atomic`)."""
    write_text_atomic(Path(path), json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


def write_toml(path: Path, data: dict) -> None:
    """Write ``data`` as TOML, atomically (:func:`write_atomic`)."""
    write_text_atomic(Path(path), tomli_w.dumps(data))


def jsonable(x: Any) -> Any:
    """Plain JSON data from ``x``: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_atomic(path: Path, write) -> None:
    """Write a file by ``write(tmp_path)`` into a unique temporary name in the same folder,
    then rename it into place (``os.replace``).

    A destination that is a symbolic link is refused (:class:`InputError`): nothing is
    written through a link. The temporary name is created exclusively (``mkstemp``), so a
    planted link cannot redirect it; it carries this writer's PID and host tag
    (:func:`sweep_stale`) and is removed if ``write`` fails.
    """
    path = Path(path)
    if path.is_symlink():
        raise InputError(f"{str(path)!r}: is a symbolic link; refusing to write through it (remove the link)")
    folder = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(path.name), suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # (mkstemp makes 0600: the mode a plain open would give)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) by :func:`write_atomic`."""
    write_atomic(Path(path), lambda p: p.write_text(text, encoding="utf-8"))
