"""Run history: ``python -m bench run ... --history DIR`` keeps a copy of each run's
``results.csv`` and ``meta.json`` under ``DIR/<utc date>_<git commit short>/``, so any two
runs can be compared later (``python -m bench compare``)."""

from __future__ import annotations

import datetime as dt
import errno
import shutil
import tempfile
from pathlib import Path

from bench.errors import UsageError
from bench.results import read_run_meta

FILES = ("results.csv", "meta.json")


def history_name(meta: dict) -> str:
    """``<utc date and time>_<short commit>``, e.g. ``2025-01-31T120501Z_70b08ae`` (``-dirty``
    for a checkout with changes, ``nogit`` outside git), from the run's ``meta.json``."""
    when = dt.datetime.fromisoformat(meta["utc_time"]).astimezone(dt.UTC)
    commit = meta.get("git_commit") or "nogit"
    sha, _, dirty = commit.partition("+")
    short = sha[:7] + ("-dirty" if dirty else "")
    return f"{when:%Y-%m-%dT%H%M%SZ}_{short}"


def append_history(run_dir: Path, history: Path) -> Path:
    """Copy the run's files to a new folder under ``history`` (never over an older one: a
    name taken already gets ``-2``, ``-3``...), whole or not at all: the files are copied into
    a temporary folder there, renamed to its name once complete. Returns the folder. Raises
    ``UsageError`` when the run folder lacks a file, its ``meta.json`` is unreadable, or
    ``history`` cannot be written."""
    missing = [f for f in FILES if not (run_dir / f).exists()]
    if missing:
        raise UsageError(f"cannot keep {run_dir} in history: no {', '.join(missing)}")
    name = history_name(read_run_meta(run_dir))
    try:
        history.mkdir(parents=True, exist_ok=True)
        incoming = Path(tempfile.mkdtemp(dir=history, prefix=".incoming-"))
        try:
            for f in FILES:
                shutil.copy2(run_dir / f, incoming / f)
            return _settle(incoming, history, name)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)  # renamed already, unless it failed
    except OSError as exc:
        raise UsageError(f"cannot write history folder {history}: {exc.strerror}") from None


def _settle(incoming: Path, history: Path, name: str) -> Path:
    """Rename the complete folder ``incoming`` to ``history/name`` or, taken, ``name-2``..."""
    dest, n = history / name, 1
    while True:
        try:
            incoming.rename(dest)
            return dest
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        n += 1
        dest = history / f"{name}-{n}"
