"""Results storage: one tidy row per case in ``results.csv`` and ``results.parquet``, plus
``meta.json``; every write is an atomic replace, so an interrupted run keeps what it measured.
Columns are DESIGN.md's schema, in SI units (seconds, bytes, FLOPs)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import UsageError, one_line

COLUMNS = [
    # identity
    "run_id", "workload", "scenario", "backend", "device", "batch_size", "dtype",
    # outcome
    "status", "error",
    # time (seconds)
    "step_median_s", "step_iqr_s", "step_ci_low_s", "step_ci_high_s", "repeats",
    "first_call_s", "compile_s", "compile_warm_s", "samples_per_s",
    "eager_step_median_s",  # eager's median timed interleaved with this case, same process
    "compile_phases",  # text: where the compile time went, e.g. "dynamo=1.20s backend=3.41s"
    # graph
    "recompiles", "graph_breaks",
    # memory (bytes)
    "peak_mem_bytes",
    # correctness
    "parity_rel_err", "final_loss",
    # work
    "flops_per_step", "achieved_flops_per_s",
    "bytes_per_step", "achieved_bytes_per_s",  # least memory traffic, where a workload states it
    "case_wall_s",  # wall time of the whole case: build, compile, parity, warm-up, timing
    "steady_wall_s",  # wall time of warm-up + timed blocks (every interleaved step together)
    # changing shapes (shapes, shapes8 scenarios): one pass over the batch-size sequence
    "sequence_s", "distinct_batch_sizes",
]  # fmt: skip
# Columns added after the first runs were published: read as empty from older folders.
LATER_COLUMNS = ("bytes_per_step", "achieved_bytes_per_s", "case_wall_s", "steady_wall_s")
STATUSES = ("ok", "failed", "unsupported", "mismatch", "timeout")
KEY = ["workload", "scenario", "backend", "device"]


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make results unreadable to others
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_results(folder: str | os.PathLike) -> pd.DataFrame:
    """``results.csv`` of a run folder. Raises ``UsageError`` naming the path when it is
    missing, unreadable or lacks a column of the schema."""
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

    def read_meta(self) -> dict[str, Any] | None:
        """The folder's ``meta.json``, or None when there is none."""
        path = self.dir / "meta.json"
        return json.loads(path.read_text()) if path.exists() else None

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``meta.json`` (atomically)."""
        text = json.dumps(meta, indent=2, sort_keys=True, default=str)
        _atomic_write(self.dir / "meta.json", lambda p: Path(p).write_text(text + "\n"))

    def add(self, row: dict[str, Any]) -> None:
        """Append one case's row and rewrite ``results.csv`` and ``results.parquet``."""
        self.add_many([row])

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Append rows and rewrite the results files once."""
        self.rows.extend(rows)
        df = rows_frame(self.rows)
        _atomic_write(self.dir / "results.csv", lambda p: df.to_csv(p, index=False))
        _atomic_write(self.dir / "results.parquet", lambda p: df.to_parquet(p, index=False))
