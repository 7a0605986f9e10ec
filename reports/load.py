"""Reading run folders: ``results.csv`` + ``meta.json`` validated against ``bench.schema`` (the
one declaration of the columns, statuses and backend records) and concatenated into one tidy
frame, one row per case, SI units, each row told which backend it is (``reports.backends``).
Imports ``bench.schema`` and nothing else of ``bench/``, so it never imports torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.schema import (
    COLUMNS,
    KEY,
    REQUIRED,
    BackendInfo,
    RunFolderError,
    backend_infos,
    read_results_csv,
)
from bench.schema import read_meta as read_meta_json
from reports import backends


class ReportInputError(RunFolderError):
    """A results folder or file that cannot be read; the message names the path and problem."""


@dataclass
class Runs:
    """Everything the report reads: the concatenated results (with ``reports.backends``'
    columns), one meta dict per folder, and the backends they describe, in registry order."""

    results: pd.DataFrame
    metas: list[dict[str, Any]] = field(default_factory=list)
    backends: list[BackendInfo] = field(default_factory=list)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_results(path: Path) -> pd.DataFrame:
    """``path``'s rows, read and checked by ``bench.schema.read_results_csv`` (the reader
    ``compare``, ``merge`` and ``export`` use): every ``COLUMNS`` entry present (missing
    optional ones as NaN), text stripped, numeric columns as floats (seconds, bytes, FLOPs).
    Only ``REQUIRED`` columns must be there, and an ``ok`` row may lack its time (shown as
    missing).

    Raises ``ReportInputError`` (one line: the file, line and column) for a missing,
    truncated or malformed file, a missing required column, a value that is not one (a
    non-number, a negative or infinite time or size), an empty case key, an unknown status,
    or a case twice."""
    try:
        return read_results_csv(path, required=REQUIRED, timed_ok=False)
    except RunFolderError as exc:
        raise ReportInputError(str(exc)) from None


def read_meta(folder: Path) -> dict[str, Any]:
    """``folder``'s ``meta.json`` as a dict, with ``path`` (the folder) added;
    ``{"path": ..., "missing": True}`` when the file does not exist. Raises
    ``ReportInputError`` when it exists but cannot be parsed, or when its ``"backends"`` are
    not ``BackendInfo`` records."""
    try:
        meta = read_meta_json(folder)
    except RunFolderError as exc:
        raise ReportInputError(str(exc)) from None
    if meta is None:
        return {"path": str(folder), "missing": True}
    try:
        backend_infos(meta)
    except TypeError as exc:
        raise ReportInputError(f"unreadable meta.json {folder / 'meta.json'}: bad \"backends\": "
                               f"{_one_line(exc)}") from None
    return {**meta, "path": str(folder)}


def load_runs(folders: list[str | Path]) -> Runs:
    """Read, validate and concatenate run folders (CPU and GPU runs alike; ``device`` tells
    them apart). A case in two folders of one run keeps its last row (one file holding a case
    twice is refused). Each row gets its backend's ``backend_rank``, ``framework`` and
    ``baseline`` (``reports.backends.describe``).

    Raises ``ReportInputError`` for a missing folder or a file given as one, any problem
    ``read_results`` or ``read_meta`` finds, and when the folders hold no rows at all."""
    frames, metas = [], []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ReportInputError(f"not a run folder: {folder} is a file" if folder.exists()
                                   else f"missing results folder: {folder}")
        df = read_results(folder / "results.csv")
        meta = read_meta(folder)
        fallback = meta.get("run_id") or folder.name
        df["run_id"] = df["run_id"].fillna(fallback)
        meta.setdefault("run_id", fallback)
        frames.append(df)
        metas.append(meta)
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if results.empty:
        raise ReportInputError(f"no result rows in {', '.join(map(str, folders))}")
    infos = backends.described(metas)
    return Runs(backends.describe(_dedupe(results), infos), metas, infos)


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    """The last row of each (run, workload, scenario, backend, device): one row per case."""
    return df.drop_duplicates(subset=["run_id", *KEY], keep="last").reset_index(drop=True)
