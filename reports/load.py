"""Reading run folders: ``results.csv`` + ``meta.json`` validated against ``bench.schema`` (the
one declaration of the columns, statuses and backend records) and concatenated into one tidy
frame, one row per case, SI units, each row told which backend it is (``reports.backends``).
Imports ``bench.schema`` and nothing else of ``bench/``, so it never imports torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.schema import (
    COLUMNS,
    KEY,
    NUMERIC_COLUMNS,
    REQUIRED,
    STATUSES,
    TEXT_COLUMNS,
    BackendInfo,
    RunFolderError,
    backend_infos,
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


def _read_csv(path: Path) -> pd.DataFrame:
    """``path`` as strings, with every ``REQUIRED`` column. Raises ``ReportInputError`` for a
    missing or corrupt file or a missing required column."""
    if not path.is_file():
        raise ReportInputError(f"missing results file: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
            ValueError) as exc:
        raise ReportInputError(f"corrupt CSV {path}: {_one_line(exc)}") from exc
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ReportInputError(
            f"{path} lacks required column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}"
        )
    return raw


def read_results(path: Path) -> pd.DataFrame:
    """``path``'s rows with every ``COLUMNS`` entry present (missing optional ones as NaN),
    text columns stripped, numeric columns as floats (seconds, bytes, FLOPs).

    Raises ``ReportInputError`` for a missing/corrupt file, a missing required column, a
    non-numeric value in a numeric column, an empty case key, or an unknown status."""
    raw = _read_csv(path)
    df = raw.reindex(columns=[*COLUMNS, *[c for c in raw.columns if c not in COLUMNS]])
    for col in TEXT_COLUMNS:
        df[col] = df[col].map(lambda v: (v.strip() or np.nan) if isinstance(v, str) else np.nan)
    for col in NUMERIC_COLUMNS:
        df[col] = _numeric(df[col], col, path)
    for col in KEY:
        if df[col].isna().any():
            row = int(df.index[df[col].isna()][0]) + 1  # 1-based, header not counted
            raise ReportInputError(f"corrupt CSV {path}: data row {row} has an empty {col}")
    bad = sorted(set(df["status"].dropna()) - set(STATUSES))
    if bad or df["status"].isna().any():
        shown = bad[0] if bad else "(empty)"
        raise ReportInputError(
            f"{path}: unknown status {shown!r}; valid: {', '.join(STATUSES)}"
        )
    return df


def _numeric(col: pd.Series, name: str, path: Path) -> pd.Series:
    """``col`` as floats; a non-empty value that is not a number is a corrupt file."""
    text = col.map(lambda v: v.strip() if isinstance(v, str) else "")
    values = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
    broken = (text != "") & values.isna() & ~text.str.lower().isin(["nan", "na", "n/a"])
    if broken.any():
        first = col[broken].iloc[0]
        raise ReportInputError(f"corrupt CSV {path}: column {name} holds non-number {first!r}")
    return values


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
    them apart). A case measured twice keeps its last row. Each row gets its backend's
    ``backend_rank``, ``framework`` and ``baseline`` (``reports.backends.describe``).

    Raises ``ReportInputError`` for a missing folder or any problem ``read_results`` or
    ``read_meta`` finds, and when the folders hold no rows at all."""
    frames, metas = [], []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ReportInputError(f"missing results folder: {folder}")
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
