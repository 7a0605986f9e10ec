"""Results storage and reading: one tidy row per case in ``results.csv`` and
``results.parquet``, plus ``meta.json``; every write is an atomic replace, so an interrupted
run keeps what it measured. The columns, their units and ``KEY`` are ``bench.schema``'s."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import UsageError, one_line
from bench.schema import (
    COLUMNS,
    KEY,
    LATER_COLUMNS,
    RunFolderError,
    atomic_write,
    read_meta,
    write_json,
)


def read_results(folder: str | os.PathLike) -> pd.DataFrame:
    """``results.csv`` of a run folder, one row per case, with ``COLUMNS`` first and in order
    (a column of ``LATER_COLUMNS`` that an older folder lacks is all NaN). Raises
    ``UsageError`` naming the path when it is missing, unreadable or lacks a column."""
    path = Path(folder) / "results.csv"
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise UsageError(f"no results file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UsageError(f"corrupt results file {path}: {one_line(str(exc))}") from None
    missing = [c for c in COLUMNS if c not in df.columns and c not in LATER_COLUMNS]
    if missing:
        raise UsageError(f"results file {path} lacks columns: {', '.join(missing)}")
    return df.reindex(columns=[*COLUMNS, *[c for c in df.columns if c not in COLUMNS]])


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
    not a JSON object."""
    path = Path(folder) / "meta.json"
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
    """The rows as a DataFrame with exactly ``COLUMNS``, in order (missing values NaN)."""
    return pd.DataFrame(rows, columns=COLUMNS)


class ResultsWriter:
    """Writes a run folder: ``meta.json``, and the results files after every case. With
    ``resume``, starts from the rows already in the folder's ``results.csv``."""

    def __init__(self, out_dir: str | os.PathLike, resume: bool = False) -> None:
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []
        if resume and (self.dir / "results.csv").exists():
            self.rows = read_results(self.dir).to_dict("records")

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``meta.json`` (atomically, indented, keys sorted)."""
        write_json(self.dir / "meta.json", meta)

    def add(self, row: dict[str, Any]) -> None:
        """Append one case's row and rewrite ``results.csv`` and ``results.parquet``."""
        self.add_many([row])

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Append rows and rewrite the results files once."""
        self.rows.extend(rows)
        df = rows_frame(self.rows)
        atomic_write(self.dir / "results.csv", lambda p: df.to_csv(p, index=False))
        atomic_write(self.dir / "results.parquet", lambda p: df.to_parquet(p, index=False))
