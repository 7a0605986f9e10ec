"""The run folder's vocabulary, in one place: the results columns with their units, the
statuses, the scenarios, the backend descriptors of ``meta.json``, and the one reader of
``results.csv`` (atomic writes and ``meta.json``'s reader: ``bench.folder_io``, re-exported).

Torch-free on purpose: ``reports/`` imports this module and nothing else of ``bench/``
(a test keeps it so). Storage is SI (seconds, bytes, FLOPs); only ``reports/`` converts.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The folder's I/O lives in bench.folder_io; these names stay importable from here.
from bench.folder_io import RunFolderError as RunFolderError
from bench.folder_io import atomic_write as atomic_write
from bench.folder_io import read_meta as read_meta
from bench.folder_io import write_json as write_json

# --- results.csv: one tidy row per case; column -> unit ("" names, "text" free text), in order
COLUMN_UNITS: dict[str, str] = {
    # identity
    "run_id": "", "workload": "", "scenario": "", "backend": "", "device": "",
    "batch_size": "samples", "dtype": "",
    # outcome
    "status": "", "error": "text",
    # time
    "step_median_s": "s", "step_iqr_s": "s", "step_ci_low_s": "s", "step_ci_high_s": "s",
    "repeats": "blocks", "first_call_s": "s", "compile_s": "s", "compile_warm_s": "s",
    "samples_per_s": "samples/s",
    "eager_step_median_s": "s",  # eager's median timed interleaved with this case
    # eager's step over this one: geometric mean over rounds, 95% t interval (bench.rounds)
    "speedup": "ratio", "speedup_ci_low": "ratio", "speedup_ci_high": "ratio",
    "rounds": "count",
    # the call (1-based, the first call included) from which the untimed calls before timing
    # ran at the steady pace (bench.timing.settled_after): the warm-up covered the backend's
    # own (TorchScript's profiling executor, lazy backward compiles); empty when not settled
    "settled_after": "count",
    "compile_phases": "text",  # where the compile time went, e.g. "dynamo=1.20s backend=3.41s"
    # graph, from Dynamo's counters (bench.backends.compiled): ``graph_breaks`` met tracing the
    # first call; ``recompiles`` graphs made after it; ``graphs`` made over every step of the
    # case; ``break_reasons`` every break of every step by reason ("2x: <first line>; 1x: ...")
    "recompiles": "count", "graph_breaks": "count", "graphs": "count", "break_reasons": "text",
    # memory: the rise over the case's start; the counter: CPU resident set size (sampled),
    # CUDA torch.cuda.max_memory_allocated (JAX: its peak_bytes_in_use); reserved: CUDA only,
    # torch.cuda.max_memory_reserved (the caching allocator's pool)
    "peak_mem_bytes": "bytes", "peak_reserved_bytes": "bytes",
    # the update a train row ran: "hand-written SGD", "torch.optim.Adam (for-loop)",
    # "(foreach)", "(fused)", "(for-loop, lr tensor)", "optax.adam"; empty for infer
    "optimizer": "text",
    # correctness
    "parity_rel_err": "ratio", "final_loss": "loss",
    # work
    "flops_per_step": "FLOPs", "achieved_flops_per_s": "FLOPs/s",
    "bytes_per_step": "bytes", "achieved_bytes_per_s": "bytes/s",  # where a workload states it
    "case_wall_s": "s",  # the whole case: build, compile, parity, warm-up, timing
    "steady_wall_s": "s",  # warm-up + timed blocks, every interleaved step together
    # changing shapes (scenarios with a batch-size sequence): one pass over the sequence
    "sequence_s": "s", "distinct_batch_sizes": "count",
    # the steps that met a batch size for the first time after the first call (a compiler's
    # recompile for the tail batch is in it), and the memory peak before the first of them
    "new_shape_s": "s", "peak_mem_first_shape_bytes": "bytes",
    # the machine during the timed window (bench.disturbance): others' CPU use, steal, flag
    "other_cpu_cores": "cores", "steal_fraction": "fraction", "disturbed": "flag",
}  # fmt: skip
COLUMNS: list[str] = list(COLUMN_UNITS)
# Added after the first runs were published: read as empty from older folders.
LATER_COLUMNS = ("bytes_per_step", "achieved_bytes_per_s", "case_wall_s", "steady_wall_s",
                 "other_cpu_cores", "steal_fraction", "disturbed", "speedup", "speedup_ci_low",
                 "speedup_ci_high", "rounds", "graphs", "break_reasons", "settled_after",
                 "peak_reserved_bytes", "optimizer", "new_shape_s", "peak_mem_first_shape_bytes")
# Without these a row says nothing; every other column may be empty (NaN).
REQUIRED = ["run_id", "workload", "scenario", "backend", "device", "status", "step_median_s"]
TEXT_COLUMNS = [c for c, unit in COLUMN_UNITS.items() if unit in ("", "text")]
NUMERIC_COLUMNS = [c for c in COLUMNS if c not in TEXT_COLUMNS]
KEY = ["workload", "scenario", "backend", "device"]  # one case; with run_id, one row
# eager_fallback: a torch.compile frame passed Dynamo's recompile limit and ran eager from
# then on (the limit in force is in ``error``): timed, but never in a speedup (no non-ok row is)
STATUSES = ("ok", "failed", "unsupported", "mismatch", "timeout", "eager_fallback")
DTYPE = "float32"  # the precision every timed backend runs (float64 only for references)


# --- scenarios ---------------------------------------------------------------------------
def epoch_batch_sizes(n_images: int = 4000, batch_size: int = 64,
                      drop_last: bool = False) -> tuple[int, ...]:
    """The batch sizes one ``DataLoader`` epoch yields over ``n_images``: 4,000 images at
    batch 64 give 62 x 64 and one 32; with ``drop_last`` the partial batch is dropped
    (62 x 64). A test checks both against torch's ``DataLoader``."""
    full, rest = divmod(n_images, batch_size)
    return (batch_size,) * full + ((rest,) if rest and not drop_last else ())


@dataclass(frozen=True)
class Scenario:
    """What one scenario runs and how; code asks the record, never the name. ``mode``:
    ``"train"`` (one update, returns the loss) or ``"infer"`` (no-grad forward). ``prints``:
    the step prints its loss (``.item()``: a host sync; a graph break), as the notes' loop.
    ``batch_sizes``: ``None`` (fixed batch, steady state) or one timed pass of train steps,
    in order. ``tolerance``: parity's. ``ValueError`` for a sequence of inference steps."""

    name: str
    mode: str
    description: str
    prints: bool = False
    batch_sizes: tuple[int, ...] | None = None
    tolerance: float = 1e-3

    def __post_init__(self) -> None:
        if self.batch_sizes is not None and not self.trains:
            raise ValueError(f"scenario {self.name!r}: a batch-size sequence runs train steps")

    @property
    def trains(self) -> bool:
        """True when the step updates the parameters (parity then follows the updates)."""
        return self.mode == "train"

    @property
    def steady(self) -> bool:
        """True when the case is timed in steady state on one fixed batch."""
        return self.batch_sizes is None


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("train", "train", "one training step on the fixed batch"),
    Scenario("infer", "infer", "one inference forward on the fixed batch", tolerance=1e-4),
    Scenario("shapes", "train", "train steps over one DataLoader epoch's batch sizes "
             "(2 distinct sizes)", batch_sizes=epoch_batch_sizes()),
    Scenario("shapes8", "train", "train steps over eight distinct batch sizes, each once",
             batch_sizes=(8, 16, 24, 32, 40, 48, 56, 64)),
    Scenario("shapes_droplast", "train", "train steps over one DataLoader epoch with "
             "drop_last=True (1 batch size: the partial batch dropped)",
             batch_sizes=epoch_batch_sizes(drop_last=True)),
    Scenario("debug", "train", "the train step printing its loss, as the notes' loop does",
             prints=True),
)}  # fmt: skip


def shape_scenarios() -> list[str]:
    """Names of the scenarios timed as one pass over a batch-size sequence."""
    return [s.name for s in SCENARIOS.values() if not s.steady]


def steady_scenarios() -> list[str]:
    """Names of the scenarios timed in steady state on the fixed batch."""
    return [s.name for s in SCENARIOS.values() if s.steady]


FRAMEWORKS = ("torch", "jax")  # --- backends, as meta.json describes them ----------------


@dataclass(frozen=True)
class BackendInfo:
    """What a report knows of a backend without importing it: ``framework`` (``FRAMEWORKS``),
    ``compiles`` (its first call builds a graph), ``baseline`` (its framework's eager). A run
    writes one per backend, in registry order, as ``meta.json``'s ``"backends"``."""

    name: str
    framework: str
    compiles: bool
    baseline: bool = False

    def to_json(self) -> dict[str, Any]:
        """The record as ``meta.json`` stores it."""
        return asdict(self)


def backend_infos(meta: dict[str, Any]) -> list[BackendInfo]:
    """The ``BackendInfo`` records of a ``meta.json`` dict (empty for runs older than them)."""
    return [BackendInfo(**b) for b in meta.get("backends", [])]


# --- reading results.csv: the one reader, every value checked ----------------------------
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf", re.IGNORECASE)
WHOLE_UNITS = ("samples", "blocks", "count", "flag")  # whole numbers (a flag: 0 or 1)
INFINITE_UNITS = ("ratio", "loss")  # parity's error is inf on NaN output; a loss may diverge
SIGNED_UNITS = ("loss",)  # every other numeric column is >= 0


def results_value(col: str, text: str) -> Any:
    """A cell of column ``col``: stripped text in a text (or unknown) column, else a float;
    NaN when empty. Raises ``ValueError`` naming the column and why when a number is not one,
    not finite (``INFINITE_UNITS`` may be), negative (``SIGNED_UNITS``) or not whole."""
    unit, text = COLUMN_UNITS.get(col, "text"), text.strip()
    if unit in ("", "text") or not text:
        return text or math.nan
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"column {col}: {text!r} is not a number (empty when unknown)")
    value = float(text)
    if math.isinf(value) and unit not in INFINITE_UNITS:
        raise ValueError(f"column {col}: {text!r} is not a finite number")
    if value < 0 and unit not in SIGNED_UNITS:
        raise ValueError(f"column {col}: {text!r} is negative; {unit} are >= 0")
    if unit in WHOLE_UNITS and math.isfinite(value) and not value.is_integer():
        raise ValueError(f"column {col}: {text!r} is not a whole number of {unit}")
    return value


def _corrupt(path: Path, why: str) -> RunFolderError:
    return RunFolderError(f"corrupt results file {path}: {why}")


def _results_text(path: Path) -> str:
    """The file's text: UTF-8, no NUL byte, not blank, ending with a line end."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        what = {FileNotFoundError: "no results file", IsADirectoryError: "not a results file, "
                "a folder"}.get(type(exc), f"unreadable results file ({exc.strerror})")
        raise RunFolderError(f"{what}: {path}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"not UTF-8 text (byte {exc.start})") from None
    if "\0" in text or not text.strip():
        raise _corrupt(path, "binary data (a NUL byte), not CSV text" if text.strip() else
                       "empty; a results file starts with its header line")
    if not text.endswith("\n"):
        raise _corrupt(path, f"line {text.count(chr(10)) + 1} was cut mid-line (no line end)")
    return text


def _check_row(path: Path, line: int, row: dict[str, Any], timed_ok: bool,
               seen: dict[tuple, int]) -> None:
    """The row names its case, once in the file (``seen``: case -> line), and a known status
    (an ``ok`` row its time, if ``timed_ok``); its step interval holds its median."""
    med, low, high = (row.get(f"step_{c}_s", math.nan) for c in ("median", "ci_low", "ci_high"))
    checks = [*((c, row[c] != row[c], "empty: every row names its case") for c in KEY),
              ("status", row["status"] not in STATUSES, f"{{}} is not a status; valid: "
                                                        f"{', '.join(STATUSES)}"),
              ("step_median_s", timed_ok and row["status"] == "ok" and med != med,
               "empty on an ok row: an ok row has its step time"),
              ("step_median_s", low > med * (1 + 1e-9) or med > high * (1 + 1e-9),
               "{} is outside step_ci_low_s .. step_ci_high_s")]
    for col, bad, why in checks:
        if bad:
            shown = "an empty cell" if row[col] != row[col] else repr(row[col])  # NaN != NaN
            raise _corrupt(path, f"line {line}, column {col}: {why.format(shown)}")
    case = tuple(row[k] for k in KEY)
    if seen.setdefault(case, line) != line:
        raise _corrupt(path, f"lines {seen[case]} and {line} are both the case "
                             f"{'/'.join(case)}; a case has one row")


def read_results_csv(path: str | os.PathLike, required: Sequence[str] = REQUIRED,
                     timed_ok: bool = True) -> pd.DataFrame:
    """A ``results.csv`` as a DataFrame: ``COLUMNS`` in order, then any other column (text);
    numbers as floats, text stripped, NaN where empty; every value checked (``results_value``,
    ``_check_row``). Raises ``RunFolderError``, one line naming the file (line, column), when
    it is missing, a folder, not UTF-8 CSV, cut mid-line, lacks a ``REQUIRED`` or ``required``
    column, or has a row of the wrong length, a bad value or a case twice."""
    path = Path(path)
    reader = csv.reader(io.StringIO(_results_text(path)), strict=True)
    try:
        rows = [(reader.line_num, fields) for fields in reader if fields]
    except csv.Error as exc:
        raise _corrupt(path, f"line {reader.line_num}: {exc}") from None
    header = rows[0][1]
    if "" in header or len(set(header)) < len(header):
        raise _corrupt(path, "the header has a column without a name or one named twice")
    missing = [c for c in COLUMNS if (c in required or c in REQUIRED) and c not in header]
    if missing:
        raise RunFolderError(f"results file {path} lacks columns: {', '.join(missing)}")
    records, seen = [], {}  # the rows as dicts; case -> its line
    for line, fields in rows[1:]:
        if len(fields) != len(header):
            raise _corrupt(path, f"line {line} has {len(fields)} fields, the header {len(header)}")
        try:
            records.append({c: results_value(c, t) for c, t in zip(header, fields, strict=True)})
        except ValueError as exc:
            raise _corrupt(path, f"line {line}, {exc}") from None
        _check_row(path, line, records[-1], timed_ok, seen)
    return pd.DataFrame({c: np.array([r.get(c, math.nan) for r in records],
                                     dtype=float if c in NUMERIC_COLUMNS else object)
                         for c in [*COLUMNS, *[c for c in header if c not in COLUMNS]]})
