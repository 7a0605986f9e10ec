"""Guarding a run folder before and while it is written: a folder that already holds a run is
refused unless told (``--resume``, ``--overwrite``), an output path is checked writable before
anything is measured, and one writer at a time holds the folder's advisory lock.

Every refusal is a ``UsageError`` with a one-line message naming the path and the way out.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
import tempfile
import weakref
from pathlib import Path

from bench.errors import UsageError, one_line

RUN_FILES = ("meta.json", "results.csv", "results.parquet", "rounds.csv")  # any: holds a run
LOCK_FILE = ".lock"  # inside the run folder; holds the writer's pid, host, command, start


def command_line() -> str:
    """This process's command as ``python -m bench ...`` (what ``meta.json`` and the lock
    record)."""
    return " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]])


def run_files(folder: Path) -> list[str]:
    """The ``RUN_FILES`` present in ``folder`` (empty: it holds no run)."""
    return [name for name in RUN_FILES if (folder / name).exists()]


def refuse_existing_run(folder: Path, way_out: str) -> None:
    """Raise ``UsageError`` when ``folder`` holds a run: "``folder`` already holds a run
    (files); ``way_out``"."""
    found = run_files(folder)
    if found:
        raise UsageError(f"{folder} already holds a run ({', '.join(found)}); {way_out}")


def check_writable(path: Path, flag: str) -> None:
    """Raise ``UsageError`` unless ``path`` is a folder this process can write in, or one it
    can create: not a file, not under a file, not in a read-only or unwritable folder (such
    as ``/proc``). Leaves nothing behind: the probe is an empty folder, removed at once."""
    if os.path.exists(path) and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file; give a folder")
    base = next((p for p in (path, *path.parents) if os.path.exists(p)), Path("."))
    if not base.is_dir():
        raise UsageError(f"{flag} {path} is under {base}, which is a file; give a folder")
    try:
        os.rmdir(tempfile.mkdtemp(dir=base, prefix=".write-probe-"))
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write in {base}: {exc.strerror}; "
                         "give a folder you can write to") from None


def _holder(path: Path) -> str:
    """Who holds the lock file ``path``, as its holder wrote it (one line)."""
    try:
        who = json.loads(path.read_text())
        return one_line(f"pid {who['pid']} on {who['host']} since {who['since']} "
                        f"({who['command']})")
    except (OSError, ValueError, TypeError, KeyError):
        return "another process"


def _in_use(folder: Path, path: Path) -> UsageError:
    return UsageError(f"run folder {folder} is in use by {_holder(path)}; wait for that run "
                      "to end, or give another --out")


def check_not_locked(folder: Path) -> None:
    """Raise ``UsageError`` naming the holder when another writer holds ``folder``'s lock.
    Creates nothing (a folder without a lock file is free)."""
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(folder, path) from None
    finally:
        os.close(fd)


def _release(fd: int, path: Path) -> None:
    """Unlink the lock file while still holding it (a writer that opened it before then sees
    another file at the path, and tries again), then close it: the lock goes with the fd."""
    try:
        os.unlink(path)
    except OSError:
        pass
    os.close(fd)


class RunLock:
    """The advisory lock of one run folder: ``fcntl.flock`` on ``folder/.lock``, which holds
    the writer's pid, host, command and start time while it is held, and is removed when
    released (or when this object is collected; a killed writer's lock dies with it)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.path = folder, folder / LOCK_FILE
        self._release = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise ``UsageError`` naming its holder (or the ``OSError`` met
        while locking, on one line)."""
        for _ in range(10):
            fd = self._locked_fd()
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                who = {"pid": os.getpid(), "host": socket.gethostname(),
                       "command": command_line(),
                       "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(who).encode())
                self._release = weakref.finalize(self, _release, fd, self.path)
                return self
            os.close(fd)  # released and removed under us: lock the new file
        raise UsageError(f"cannot lock run folder {self.folder}: its lock file keeps changing")

    def _locked_fd(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise UsageError(f"cannot lock run folder {self.folder}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _in_use(self.folder, self.path) from None
        except OSError as exc:
            os.close(fd)
            raise UsageError(f"cannot lock run folder {self.folder}: {exc.strerror}") from None
        return fd

    def release(self) -> None:
        """Give the lock up (again: nothing)."""
        if self._release is not None:
            self._release()
