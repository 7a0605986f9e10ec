"""The case runner: builds a workload, hands it to a backend, times it, and returns one row.
A case the declarations rule out (``refusal_of``) or a backend that raises becomes a row too;
the matrix runs on."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import parity
from bench.backends import BACKENDS, Prepared, Unsupported, refusal
from bench.backends.base import update_rule
from bench.backends.compiled import reset_dynamo
from bench.case import Case, RunConfig
from bench.device import (
    RssPeak,
    peak_memory_bytes,
    peak_reserved_bytes,
    reset_peak_memory,
    torch_sync,
)
from bench.dtypes import dtype_fields, ran_dtypes
from bench.errors import one_line
from bench.measure import Memory, measure_sequence, measure_steady
from bench.plant import maybe_slow
from bench.schema import DTYPE, SCENARIOS, Scenario
from bench.timing import time_first_call
from models import WORKLOADS, Workload, WorkloadConfig, build_workload

EAGER = "eager"  # the backend every other one is timed against, interleaved in its process


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {one_line(str(exc))}"[:500]


def case_row(case: Case, run_id: str, **fields: Any) -> dict[str, Any]:
    """The identity columns of ``case``'s row (``dtype``: ``schema.DTYPE``, the precision
    asked for; a case that runs replaces it with what it ran, ``bench.dtypes``), then
    ``fields``: every row starts here, measured, refused, failed or timed out."""
    return {"run_id": run_id, "workload": case.workload, "scenario": case.scenario,
            "backend": case.backend, "device": case.device, "dtype": DTYPE, **fields}


def refusal_of(case: Case) -> str | None:
    """Why ``case`` is ``unsupported``, from the declarations of its backend, workload and
    scenario (``bench.backends.refusal``; nothing is built), or ``None``."""
    return refusal(BACKENDS[case.backend], WORKLOADS[case.workload], SCENARIOS[case.scenario],
                   case.device)


class References:
    """Float64 eager references, built once per workload, scenario and device of a run and,
    given a folder, kept there as ``.npz`` so that every case process of the run shares them."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._cache: dict[tuple[str, str, str], parity.Reference] = {}

    def get(self, case: Case, wcfg: WorkloadConfig) -> parity.Reference:
        """The reference of ``case``'s workload, scenario and device, built on ``wcfg``. A
        kept file that does not load (torn, truncated, not an ``.npz``) is built again and
        replaced (atomically: ``Reference.save``)."""
        key = (case.workload, case.scenario, case.device)
        if key not in self._cache:
            path = self.folder / f"{'-'.join(key)}.npz" if self.folder else None
            ref = _load_reference(path) if path is not None and path.exists() else None
            if ref is None:
                ref = parity.build_reference(case.workload, SCENARIOS[case.scenario], wcfg)
                if path is not None:
                    ref.save(path)
            self._cache[key] = ref
        return self._cache[key]


def _load_reference(path: Path) -> parity.Reference | None:
    """The reference kept at ``path``, or None when it does not load."""
    try:
        return parity.Reference.load(path)
    except Exception:  # BadZipFile, EOFError, ValueError, KeyError, OSError...: build it again
        return None


def _eager_step(case: Case, wcfg: WorkloadConfig) -> Callable[[], Any]:
    """A twin workload under eager, to time interleaved with a non-eager backend."""
    work = build_workload(case.workload, wcfg)
    return BACKENDS[EAGER].prepare(work, SCENARIOS[case.scenario]).step


class _FirstCallTimer:
    """Passes calls through to ``step``, timing the very first one (graph building included)."""

    def __init__(self, step: Callable[[], Any], sync: Callable[[], None]) -> None:
        self.step, self.sync, self.seconds, self.calls = step, sync, None, 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.seconds is not None:
            return self.step()
        self.seconds, out = time_first_call(self.step, self.sync)
        return out


def _parity_row(passed: bool, err: float, ref: parity.Reference, scenario: Scenario) -> dict:
    """``parity_rel_err``, and on a failed check the ``mismatch`` status with its numbers."""
    if passed:
        return {"parity_rel_err": err}
    return {"parity_rel_err": err, "status": "mismatch",
            "error": f"parity error {err:.3g} > {ref.bound(scenario):.3g} "
                     f"(2 x eager's {ref.eager_err:.3g} + {scenario.tolerance:g})"}


def _parity_in_place(case: Case, work: Workload, prepared: Prepared, ref: parity.Reference,
                     sync: Callable[[], None]) -> tuple[dict[str, Any], float | None, int]:
    """Parity's steps run as the timed workload's first steps: the parity fields, the
    seconds of the very first call (graph building included), and how many calls of
    ``prepared.step`` parity made (the first included)."""
    scenario = SCENARIOS[case.scenario]
    first = _FirstCallTimer(maybe_slow(case.backend, prepared.step), sync)
    pieces = parity.run_pieces(replace(prepared, step=first), scenario, work)
    return _parity_row(*ref.judge(pieces, scenario), ref, scenario), first.seconds, first.calls


def _memory_reader(device: str, framework: str, rss: RssPeak) -> Memory:
    """Reads the peak memory now as the case's baseline and returns the reader of its rise
    (bytes, ``bench.measure.Memory``): ``peak_mem_bytes`` (``peak_memory_bytes``) and, torch
    on CUDA only, ``peak_reserved_bytes`` (``peak_reserved_bytes``; else None).
    ``memory(final=True)`` stops the RSS sampler ``rss``; ``final=False`` reads the peak so
    far and keeps it sampling."""
    mem_base = peak_memory_bytes(device, framework, rss)
    reserved_base = peak_reserved_bytes(device, framework)

    def memory(final: bool = True) -> dict[str, int | None]:
        if final:
            rss.stop()
        reserved = peak_reserved_bytes(device, framework)
        return {"peak_mem_bytes": max(peak_memory_bytes(device, framework, rss) - mem_base, 0),
                "peak_reserved_bytes": None if reserved is None
                else max(reserved - (reserved_base or 0), 0)}

    return memory


def _merged_error(*parts: dict[str, Any]) -> dict[str, Any]:
    """``{"error": ...}``: every part's ``error`` note, in the parts' order, ``"; "``-joined
    (none dropped: the counters' notes beside the measurement's); ``{}`` when none has one."""
    notes = [p["error"] for p in parts if p.get("error")]
    return {"error": "; ".join(dict.fromkeys(notes))} if notes else {}


def _timed(case: Case, cfg: RunConfig, wcfg: WorkloadConfig,
           ref: parity.Reference) -> dict[str, Any]:
    """A case on a fresh workload: parity checked first on the workload itself where it can
    be (``parity.checks_in_place``: its first parity step is the timed cold first call), then
    steady state (eager interleaved) or the batch-size sequence; memory sampled from before
    the build. Where parity cannot run in place, it runs after, on a workload of its own."""
    backend, scenario = BACKENDS[case.backend], SCENARIOS[case.scenario]
    reset_peak_memory(case.device)
    rss = RssPeak()
    try:
        memory = _memory_reader(case.device, backend.framework, rss)
        work = build_workload(case.workload, wcfg)
        in_place = parity.checks_in_place(work, scenario)  # before a backend swaps modules
        prepared = backend.prepare(work, scenario)
        sync = torch_sync(case.device)
        checked, first_s, calls = (_parity_in_place(case, work, prepared, ref, sync) if in_place
                                   else ({}, None, 1))
        if scenario.steady:
            eager = None if case.backend == EAGER else functools.partial(_eager_step, case, wcfg)
            row = measure_steady(case, cfg, work, prepared, sync, backend.compiles, memory,
                                 eager, first_s, calls_before=calls)
        else:
            row = measure_sequence(case, work, prepared, sync, memory)
        counters = prepared.counters()
        found = ran_dtypes(prepared, work, scenario.trains, backend.framework)
        dtypes = dtype_fields(found, wcfg.dtype)  # a dtype mismatch outranks parity
        return {**row, "status": "ok", **counters, **checked,
                **_merged_error(checked, counters, row), **dtypes,  # row: the measured notes
                "optimizer": (prepared.update or update_rule(work)) if scenario.trains else None}
    finally:
        rss.stop()


def _measure(case: Case, cfg: RunConfig, refs: References) -> dict[str, Any]:
    """Measure a fresh workload and check its parity (in place, or on a workload of its own
    afterwards); the row is ``ok`` only if parity passes and it ran in the precision asked
    for (else ``mismatch``), and ``failed`` without a measurement when eager itself is not
    deterministic (``Reference.rerun_problem``). Raises whatever the backend raises."""
    wcfg = replace(cfg.workload, device=case.device)
    ref = refs.get(case, wcfg)
    problem = ref.rerun_problem()
    if problem is not None:  # no yardstick: the case cannot be judged, so it is not timed
        return {"status": "failed", "error": problem}
    reset_dynamo()  # this case compiles from scratch and owns Dynamo's counters
    row = _timed(case, cfg, wcfg, ref)
    if "parity_rel_err" not in row and cfg.round == 1:  # later rounds re-time a checked case
        reset_dynamo()  # the parity workload compiles afresh, not under the timed one's guards
        prepare, scenario = BACKENDS[case.backend].prepare, SCENARIOS[case.scenario]
        passed, err = parity.check(lambda w: prepare(w, scenario), case.workload, scenario,
                                   wcfg, ref)
        checked = _parity_row(passed, err, ref, scenario)
        row.update({**checked, **_merged_error(checked, row)} if row["status"] == "ok"
                   else {"parity_rel_err": err})  # a mismatch keeps the ok row's notes
    return row


def run_case(case: Case, cfg: RunConfig, refs: References | None = None
             ) -> tuple[dict[str, Any], list[str]]:
    """One row of results for ``case`` (``ok``/``mismatch`` with timings, ``eager_fallback``
    with timings and the backend's reason (its ``counters()`` set the status: a compiled frame
    passed Dynamo's recompile limit), or ``unsupported``/``failed`` with the one-line
    reason), and the warnings raised on the way
    (``"backend: Category: first line"``, each once), kept out of the terminal. A case that
    ``refusal_of`` rules out is ``unsupported`` at once: nothing is built."""
    row = case_row(case, cfg.run_id)
    reason = refusal_of(case)
    if reason is not None:
        return {**row, "status": "unsupported", "error": one_line(reason)}, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            row.update(_measure(case, cfg, refs or References()))
        except (Unsupported, NotImplementedError) as exc:  # a model's way to say "not this"
            row.update(status="unsupported", error=one_line(str(exc)))
        except Exception as exc:  # a broken backend must not stop the matrix
            row.update(status="failed", error=_one_line(exc))
    notes = dict.fromkeys(f"{case.backend}: {w.category.__name__}: {one_line(w.message)}"
                          for w in caught)
    return row, list(notes)


def first_call_s(case: Case, cfg: RunConfig) -> float:
    """Seconds of the first call of a fresh workload under ``case.backend`` (graph building
    included): what a process whose compile caches are already filled pays."""
    work = build_workload(case.workload, replace(cfg.workload, device=case.device))
    prepared = BACKENDS[case.backend].prepare(work, SCENARIOS[case.scenario])
    return time_first_call(prepared.step, torch_sync(case.device))[0]
