"""Reading run folders: ``results.csv`` + ``meta.json`` validated against DESIGN.md's schema and
concatenated into one tidy frame (one row per case, SI units). Knows nothing about torch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# DESIGN.md's results schema; a copy of ``bench.results.COLUMNS`` (a test keeps them equal),
# because importing ``bench`` would import torch.
COLUMNS = [
    "run_id", "workload", "scenario", "backend", "device", "batch_size", "dtype",
    "status", "error",
    "step_median_s", "step_iqr_s", "step_ci_low_s", "step_ci_high_s", "repeats",
    "first_call_s", "compile_s", "compile_warm_s", "samples_per_s",
    "eager_step_median_s", "compile_phases",
    "recompiles", "graph_breaks",
    "peak_mem_bytes",
    "parity_rel_err", "final_loss",
    "flops_per_step", "achieved_flops_per_s",
    "bytes_per_step", "achieved_bytes_per_s",  # least memory traffic, where a workload states it
    "case_wall_s",  # wall time of the whole case: build, compile, parity, warm-up, timing
    "steady_wall_s",  # wall time of warm-up + timed blocks (every interleaved step together)
    "sequence_s", "distinct_batch_sizes",
]  # fmt: skip
# Without these a row says nothing; every other column may be absent or empty (NaN).
REQUIRED = ["run_id", "workload", "scenario", "backend", "device", "status", "step_median_s"]
TEXT_COLUMNS = ["run_id", "workload", "scenario", "backend", "device", "dtype", "status", "error",
                "compile_phases"]  # fmt: skip
NUMERIC_COLUMNS = [c for c in COLUMNS if c not in TEXT_COLUMNS]
STATUSES = ("ok", "failed", "unsupported", "mismatch", "timeout")
# DESIGN.md's backends in presentation order; ``eager`` is PyTorch's baseline, ``jax_eager``
# JAX's. Backends not listed here are kept and shown after these.
BACKENDS = (
    "eager", "jit_script", "jit_trace", "compile", "compile_reduce_overhead",
    "compile_max_autotune", "compile_dynamic", "export_aoti", "jax_eager", "jax_jit",
)  # fmt: skip
EAGER_BACKENDS = ("eager", "jax_eager")
SCENARIOS = ("train", "infer", "shapes", "shapes8", "debug")
# One pass of train steps over a sequence of batch sizes (a DataLoader epoch: 2 distinct sizes;
# 8 distinct sizes once each): they measure recompiles and ``sequence_s``, not a steady state.
SHAPE_SCENARIOS = ("shapes", "shapes8")


class ReportInputError(Exception):
    """A results folder or file that cannot be read; the message names the path and problem."""


@dataclass
class Runs:
    """Everything the report reads: the concatenated results and one meta dict per folder."""

    results: pd.DataFrame
    metas: list[dict[str, Any]] = field(default_factory=list)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_results(path: Path) -> pd.DataFrame:
    """``path``'s rows with every ``COLUMNS`` entry present (missing optional ones as NaN),
    text columns stripped, numeric columns as floats (seconds, bytes, FLOPs).

    Raises ``ReportInputError`` for a missing/corrupt file, a missing required column, a
    non-numeric value in a numeric column, or an unknown status."""
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
    df = raw.reindex(columns=[*COLUMNS, *[c for c in raw.columns if c not in COLUMNS]])
    for col in TEXT_COLUMNS:
        df[col] = df[col].map(lambda v: (v.strip() or np.nan) if isinstance(v, str) else np.nan)
    for col in NUMERIC_COLUMNS:
        df[col] = _numeric(df[col], col, path)
    for col in ["workload", "scenario", "backend", "device"]:
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


def read_meta(path: Path) -> dict[str, Any]:
    """``meta.json`` as a dict, with ``path`` added; ``{"path": ..., "missing": True}`` when the
    file does not exist. Raises ``ReportInputError`` when it exists but cannot be parsed."""
    if not path.exists():
        return {"path": str(path.parent), "missing": True}
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportInputError(f"unreadable meta.json {path}: {_one_line(exc)}") from exc
    if not isinstance(meta, dict):
        raise ReportInputError(f"unreadable meta.json {path}: not a JSON object")
    return {**meta, "path": str(path.parent)}


def load_runs(folders: list[str | Path]) -> Runs:
    """Read, validate and concatenate run folders (CPU and GPU runs alike; ``device`` tells
    them apart). A case measured twice keeps its last row.

    Raises ``ReportInputError`` for a missing folder or any problem ``read_results`` or
    ``read_meta`` finds, and when the folders hold no rows at all."""
    frames, metas = [], []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ReportInputError(f"missing results folder: {folder}")
        df = read_results(folder / "results.csv")
        meta = read_meta(folder / "meta.json")
        fallback = meta.get("run_id") or folder.name
        df["run_id"] = df["run_id"].fillna(fallback)
        meta.setdefault("run_id", fallback)
        frames.append(df)
        metas.append(meta)
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if results.empty:
        raise ReportInputError(f"no result rows in {', '.join(map(str, folders))}")
    return Runs(_dedupe(results), metas)


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    """The last row of each (run, workload, scenario, backend, device): one row per case."""
    key = ["run_id", "workload", "scenario", "backend", "device"]
    return df.drop_duplicates(subset=key, keep="last").reset_index(drop=True)


def backend_order(names: list[str] | pd.Series) -> list[str]:
    """``names`` (unique) in DESIGN.md's order, unknown backends after, alphabetically."""
    names = set(names)
    known = [b for b in BACKENDS if b in names]
    return known + sorted(names - set(BACKENDS))
