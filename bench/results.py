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

COLUMNS = [
    # identity
    "run_id", "workload", "scenario", "backend", "device", "batch_size", "dtype",
    # outcome
    "status", "error",
    # time (seconds)
    "step_median_s", "step_iqr_s", "step_ci_low_s", "step_ci_high_s", "repeats",
    "first_call_s", "compile_s", "compile_warm_s", "samples_per_s",
    # graph
    "recompiles", "graph_breaks",
    # memory (bytes)
    "peak_mem_bytes",
    # correctness
    "parity_rel_err", "final_loss",
    # work
    "flops_per_step", "achieved_flops_per_s",
]  # fmt: skip
STATUSES = ("ok", "failed", "unsupported", "mismatch", "timeout")
KEY = ["workload", "scenario", "backend", "device"]


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a DataFrame with exactly ``COLUMNS``, in order (missing values NaN)."""
    return pd.DataFrame(rows, columns=COLUMNS)


class ResultsWriter:
    """Writes a run folder: ``meta.json`` once, the results files after every case."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``meta.json`` (atomically)."""
        text = json.dumps(meta, indent=2, sort_keys=True, default=str)
        _atomic_write(self.dir / "meta.json", lambda p: Path(p).write_text(text + "\n"))

    def add(self, row: dict[str, Any]) -> None:
        """Append one case's row and rewrite ``results.csv`` and ``results.parquet``."""
        self.rows.append(row)
        df = rows_frame(self.rows)
        _atomic_write(self.dir / "results.csv", lambda p: df.to_csv(p, index=False))
        _atomic_write(self.dir / "results.parquet", lambda p: df.to_parquet(p, index=False))
