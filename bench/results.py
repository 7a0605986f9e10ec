"""Results storage and reading: one tidy row per case in ``results.csv`` and
``results.parquet``, plus ``meta.json``; every write is an atomic replace, so an interrupted
run keeps what it measured. The columns, their units and ``KEY`` are ``bench.schema``'s."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from bench.errors import UsageError
from bench.runfolder import RUN_FILES, RunLock, refuse_existing_run
from bench.schema import (
    COLUMNS,
    KEY,
    LATER_COLUMNS,
    NUMERIC_COLUMNS,
    RunFolderError,
    atomic_write,
    read_meta,
    read_results_csv,
    write_json,
)

# What compare, export and merge need of a results file: every column older folders have.
BENCH_REQUIRED = [c for c in COLUMNS if c not in LATER_COLUMNS]


def run_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as a ``Path``. Raises ``UsageError`` when it is a file (a missing folder is
    left to the reader, which names the file it lacks)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"not a run folder: {folder} is a file; give the folder that holds "
                         "results.csv and meta.json")
    return folder


def read_results(folder: str | os.PathLike) -> pd.DataFrame:
    """``results.csv`` of a run folder, one row per case, every value checked by
    ``bench.schema.read_results_csv`` (``COLUMNS`` first and in order; a column of
    ``LATER_COLUMNS`` that an older folder lacks is all NaN; an ``ok`` row has its time).
    Raises ``UsageError`` with one line naming the path (and the line and column) when the
    folder is not one, or the file is missing, a folder, malformed or lacks a column."""
    try:
        return read_results_csv(run_folder(folder) / "results.csv", required=BENCH_REQUIRED)
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None


def case_name(row: dict[str, Any] | pd.Series) -> str:
    """A case's ``KEY`` values joined by ``/``, e.g. ``manual_mlp/train/eager/cpu``."""
    return "/".join(str(row[k]) for k in KEY)


def duplicate_case(df: pd.DataFrame) -> str | None:
    """The ``case_name`` of the first case that has more than one row in ``df``, or None
    when every case has one row (a comparison or a merge must not pick one silently)."""
    dup = df[df.duplicated(KEY, keep=False)]
    return case_name(dup.iloc[0]) if len(dup) else None


def read_run_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """A run folder's ``meta.json`` as a dict (read by ``bench.schema.read_meta``). Raises
    ``UsageError`` "unreadable run metadata PATH: why" when it is missing, is not JSON or is
    not a JSON object, and when ``folder`` is a file."""
    path = run_folder(folder) / "meta.json"
    try:
        meta = read_meta(folder)
    except RunFolderError as exc:  # "unreadable meta.json PATH: why"
        why = str(exc).removeprefix(f"unreadable meta.json {path}: ")
        raise UsageError(f"unreadable run metadata {path}: {why}") from None
    if meta is None:  # the message open() gives, as before read_meta
        why = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        raise UsageError(f"unreadable run metadata {path}: {why}")
    return meta


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a DataFrame with exactly ``COLUMNS``, in order (missing values NaN; a
    numeric column is float even where every row left it empty, so the Parquet file reads
    back as the CSV does)."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in NUMERIC_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


class ResultsWriter:
    """Writes a run folder while holding its lock (``bench.runfolder.RunLock``, from creation
    to ``close``; a context manager): ``meta.json``, and the results files after every case.

    A folder that already holds a run is refused (``UsageError``) unless ``resume`` (start from
    the rows of its ``results.csv``) or ``overwrite`` (its run files and ``.references`` are
    deleted first). A folder that cannot be created or locked, or is locked by another writer,
    is a ``UsageError`` too.

    ``results.csv`` and ``results.parquet`` are written as one step: both temporary files in
    full, then the Parquet renamed over the old one, the CSV last. A failed write (disk full:
    any ``OSError``) renames neither, so both keep the last complete state; it raises
    ``UsageError`` saying so, and ``rows`` stay those on disk. The CSV is the record (every
    reader reads it) and its rename is the commit: only a kill between the two renames leaves
    the Parquet one write ahead, and a resumed writer then rewrites it from the CSV."""

    def __init__(self, out_dir: str | os.PathLike, resume: bool = False,
                 overwrite: bool = False) -> None:
        self.dir = Path(out_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create run folder {self.dir}: {exc.strerror}") from None
        self.lock = RunLock(self.dir).acquire()
        try:
            self.rows: list[dict[str, Any]] = self._start(resume, overwrite)
        except BaseException:
            self.lock.release()
            raise

    def _start(self, resume: bool, overwrite: bool) -> list[dict[str, Any]]:
        """The rows to start from, after clearing (``overwrite``) or checking the folder."""
        if overwrite:
            for name in RUN_FILES:
                (self.dir / name).unlink(missing_ok=True)
            shutil.rmtree(self.dir / ".references", ignore_errors=True)
            return []
        if not resume:
            refuse_existing_run(self.dir, "give --overwrite to replace it")
        if not resume or not (self.dir / "results.csv").exists():
            return []
        rows = read_results(self.dir).to_dict("records")
        if _parquet_rows(self.dir / "results.parquet") != len(rows):
            self._write(rows, len(rows))  # cut between the two renames: the CSV is the record
        return rows

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the folder's lock (the files are complete after every write)."""
        self.lock.release()

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``meta.json`` (atomically, indented, keys sorted). Raises ``UsageError`` on an
        ``OSError`` (the previous ``meta.json`` is kept)."""
        try:
            write_json(self.dir / "meta.json", meta)
        except OSError as exc:
            raise UsageError(f"cannot write {self.dir / 'meta.json'}: {exc.strerror or exc}; "
                             "the previous one is kept") from None

    def add(self, row: dict[str, Any]) -> None:
        """Append one case's row and rewrite ``results.csv`` and ``results.parquet``."""
        self.add_many([row])

    def put(self, row: dict[str, Any]) -> None:
        """Write ``row`` in place of the row of its case (``KEY``), or append it."""
        key = [row[k] for k in KEY]
        at = next((i for i, r in enumerate(self.rows) if [r[k] for k in KEY] == key), None)
        if at is None:
            self.add(row)
            return
        rows = [*self.rows[:at], row, *self.rows[at + 1:]]
        self._write(rows, len(self.rows))
        self.rows = rows

    def reorder(self, keys: list[tuple]) -> None:
        """Rewrite the results with the rows in the order of ``keys`` (``KEY`` values; rows
        of other cases after them, as they were), when that changes anything."""
        rank = {k: i for i, k in enumerate(keys)}
        rows = sorted(self.rows, key=lambda r: rank.get(tuple(r[k] for k in KEY), len(rank)))
        if rows != self.rows:
            self._write(rows, len(self.rows))
            self.rows = rows

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Append rows and rewrite the results files once (both or neither: see the class)."""
        self._write([*self.rows, *rows], len(self.rows))
        self.rows.extend(rows)

    def _write(self, rows: list[dict[str, Any]], kept: int) -> None:
        """Write ``rows`` as both results files; on an ``OSError`` raise ``UsageError`` saying
        that the files keep their ``kept`` cases."""
        df = rows_frame(rows)
        parquet = self.dir / "results.parquet"

        def both(csv_tmp: str) -> None:
            df.to_csv(csv_tmp, index=False)
            atomic_write(parquet, lambda p: df.to_parquet(p, index=False))

        try:
            atomic_write(self.dir / "results.csv", both)
        except OSError as exc:
            raise self.failure(exc, kept) from None

    def failure(self, exc: OSError, kept: int | None = None) -> UsageError:
        """The one-line error of a failed write of this run folder (``rounds.csv`` too)."""
        kept = len(self.rows) if kept is None else kept
        return UsageError(f"cannot write the results in {self.dir}: {exc.strerror or exc}; "
                          f"results.csv and results.parquet keep their {kept} cases "
                          "(--resume completes the run once it can be written)")


def _parquet_rows(path: Path) -> int | None:
    """The number of rows ``path`` holds, or None when it is missing or unreadable."""
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError):
        return None
