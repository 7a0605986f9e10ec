"""The run folder's vocabulary, in one place: the results columns with their units, the
statuses, the scenarios, the backend descriptors ``meta.json`` carries, and how the suite
writes and reads the folder's files.

Torch-free on purpose: ``reports/`` imports this module and nothing else of ``bench/``
(a test keeps it so). Storage is SI (seconds, bytes, FLOPs); only ``reports/`` converts.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# --- results.csv: one tidy row per case -------------------------------------------------
# column -> unit ("" for names and counts, "text" for free text). The order is the file's.
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
    "compile_phases": "text",  # where the compile time went, e.g. "dynamo=1.20s backend=3.41s"
    # graph
    "recompiles": "count", "graph_breaks": "count",
    # memory
    "peak_mem_bytes": "bytes",
    # correctness
    "parity_rel_err": "ratio", "final_loss": "loss",
    # work
    "flops_per_step": "FLOPs", "achieved_flops_per_s": "FLOPs/s",
    "bytes_per_step": "bytes", "achieved_bytes_per_s": "bytes/s",  # where a workload states it
    "case_wall_s": "s",  # the whole case: build, compile, parity, warm-up, timing
    "steady_wall_s": "s",  # warm-up + timed blocks, every interleaved step together
    # changing shapes (scenarios with a batch-size sequence): one pass over the sequence
    "sequence_s": "s", "distinct_batch_sizes": "count",
}  # fmt: skip
COLUMNS: list[str] = list(COLUMN_UNITS)
# Added after the first runs were published: read as empty from older folders.
LATER_COLUMNS = ("bytes_per_step", "achieved_bytes_per_s", "case_wall_s", "steady_wall_s")
# Without these a row says nothing; every other column may be empty (NaN).
REQUIRED = ["run_id", "workload", "scenario", "backend", "device", "status", "step_median_s"]
TEXT_COLUMNS = [c for c, unit in COLUMN_UNITS.items() if unit in ("", "text")]
NUMERIC_COLUMNS = [c for c in COLUMNS if c not in TEXT_COLUMNS]
KEY = ["workload", "scenario", "backend", "device"]  # one case; with run_id, one row
STATUSES = ("ok", "failed", "unsupported", "mismatch", "timeout")
DTYPE = "float32"  # the precision every timed backend runs (float64 only for references)


# --- scenarios ---------------------------------------------------------------------------
def epoch_batch_sizes(n_images: int = 4000, batch_size: int = 64) -> tuple[int, ...]:
    """The batch sizes one ``DataLoader`` epoch (``drop_last=False``) yields over
    ``n_images``: 4,000 MNIST training images at batch 64 give 62 batches of 64 and one of
    32 (a test checks this against torch's ``DataLoader``)."""
    full, rest = divmod(n_images, batch_size)
    return (batch_size,) * full + ((rest,) if rest else ())


@dataclass(frozen=True)
class Scenario:
    """What one scenario runs and how it is measured; code asks the record, never the name.

    ``mode`` is the workload step that runs (``"train"``: one update, returns the loss;
    ``"infer"``: the no-grad forward). ``prints``: the step prints its loss every call, as
    the notes' loop does (``.item()``: a host sync and, under a compiler, a graph break).
    ``batch_sizes``: ``None`` for the workload's fixed batch timed in steady state; else the
    sizes one timed pass feeds in order (recompiles and ``sequence_s`` are measured, not a
    steady state). ``tolerance``: parity's tolerance, added to twice eager's own error.
    """

    name: str
    mode: str
    description: str
    prints: bool = False
    batch_sizes: tuple[int, ...] | None = None
    tolerance: float = 1e-3

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
    Scenario("debug", "train", "the train step printing its loss, as the notes' loop does",
             prints=True),
)}  # fmt: skip


def shape_scenarios() -> list[str]:
    """Names of the scenarios timed as one pass over a batch-size sequence."""
    return [s.name for s in SCENARIOS.values() if not s.steady]


def steady_scenarios() -> list[str]:
    """Names of the scenarios timed in steady state on the fixed batch."""
    return [s.name for s in SCENARIOS.values() if s.steady]


# --- backends, as meta.json describes them -------------------------------------------------
FRAMEWORKS = ("torch", "jax")


@dataclass(frozen=True)
class BackendInfo:
    """What a report needs to know of a backend without importing it: ``framework`` (one of
    ``FRAMEWORKS``), ``compiles`` (its first call builds a graph), ``baseline`` (it is its
    framework's eager baseline). A run writes one per registered backend, in the registry's
    order, under ``meta.json``'s ``"backends"``; that order is the reports' order and colour."""

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


# --- files -------------------------------------------------------------------------------
class RunFolderError(Exception):
    """A run folder's file that cannot be read; the message names the path and problem."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``, so a reader never
    sees half a file. The file gets the umask's mode (not ``mkstemp``'s 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write(path, lambda p: Path(p).write_text(text))


def read_meta(folder: str | os.PathLike) -> dict[str, Any] | None:
    """A run folder's ``meta.json`` as a dict, or ``None`` when the file does not exist.

    Raises ``RunFolderError`` when it exists but is not readable JSON or not an object."""
    path = Path(folder) / "meta.json"
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"unreadable meta.json {path}: {' '.join(str(exc).split())}"
                             ) from None
    if not isinstance(meta, dict):
        raise RunFolderError(f"unreadable meta.json {path}: not a JSON object")
    return meta
