"""The case runner: builds a workload, hands it to a backend, times it, and returns one row.
A backend that raises or cannot express a case becomes a row too; the matrix runs on."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, replace
from typing import Any

import torch
from tqdm import tqdm

from bench import parity
from bench.backends import BACKENDS, Unsupported
from bench.backends.base import one_line
from bench.backends.compiled import cold_compiles, reset_dynamo
from bench.device import torch_sync
from bench.profiles import Profile
from bench.results import ResultsWriter
from bench.stats import StepStats
from bench.timing import steady_state, time_first_call
from models import Workload, WorkloadConfig, build_workload


@dataclass(frozen=True)
class Case:
    """One cell of the matrix: workload x scenario x backend x device."""

    workload: str
    scenario: str
    backend: str
    device: str

    @property
    def label(self) -> str:
        return f"{self.workload}/{self.scenario}/{self.backend}/{self.device}"


@dataclass(frozen=True)
class RunConfig:
    """Settings shared by every case of a run (every backend gets the same)."""

    run_id: str
    device: str
    profile: Profile
    threads: int  # torch intra-op threads, the same for every backend
    workload: WorkloadConfig = WorkloadConfig()  # shapes, seed, data root (device set per case)


def case_matrix(workloads, scenarios, backends, device: str) -> list[Case]:
    """Every combination, in a fixed order (workload-major)."""
    return [Case(w, s, b, device) for w, s, b in itertools.product(workloads, scenarios, backends)]


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {one_line(str(exc))}"[:500]


class References:
    """Float64 eager references, built once per workload, scenario and device of a run."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str], parity.Reference] = {}

    def get(self, case: Case, wcfg: WorkloadConfig) -> parity.Reference:
        key = (case.workload, case.scenario, case.device)
        if key not in self._cache:
            self._cache[key] = parity.build_reference(case.workload, case.scenario, wcfg)
        return self._cache[key]


def _timings(work: Workload, case: Case, stats: StepStats, compiles: bool,
             first_call_s: float) -> dict[str, Any]:
    flops = work.flops(case.scenario)
    return {
        "step_median_s": stats.median_s,
        "step_iqr_s": stats.iqr_s,
        "step_ci_low_s": stats.ci_low_s,
        "step_ci_high_s": stats.ci_high_s,
        "repeats": stats.repeats,
        "compile_s": max(first_call_s - stats.median_s, 0.0) if compiles else None,
        "samples_per_s": work.batch_size / stats.median_s,
        "flops_per_step": flops,
        "achieved_flops_per_s": flops / stats.median_s,
    }


def _final_loss(work: Workload, scenario: str, out: Any) -> float:
    """The train step's loss, or the loss of the inference output against the batch's targets."""
    if scenario == "train":
        return float(parity.to_numpy(out))
    y = work.batch[1].cpu()
    return float(work.loss_fn(torch.as_tensor(parity.to_numpy(out), dtype=torch.float64), y))


def _measure(case: Case, cfg: RunConfig, refs: References) -> dict[str, Any]:
    """Parity check first (on its own workload), then a cold first call, warm-up and steady
    state on a fresh one; raises whatever the backend raises."""
    wcfg = replace(cfg.workload, device=case.device)
    backend = BACKENDS[case.backend]
    ref = refs.get(case, wcfg)
    passed, err = parity.check(lambda w: backend.prepare(w, case.scenario), case.workload,
                               case.scenario, wcfg, ref)
    reset_dynamo()  # the timed workload compiles from scratch and owns the counters
    work = build_workload(case.workload, wcfg)
    prepared = backend.prepare(work, case.scenario)
    sync = torch_sync(case.device)
    if case.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    first_call_s, _ = time_first_call(prepared.step, sync)
    stats = steady_state(prepared.step, sync, cfg.profile, cfg.threads)
    out = prepared.step()
    sync()
    row = {
        "batch_size": work.batch_size, "status": "ok", "first_call_s": first_call_s,
        "parity_rel_err": err, "final_loss": _final_loss(work, case.scenario, out),
        "peak_mem_bytes": torch.cuda.max_memory_allocated() if case.device == "cuda" else None,
        **_timings(work, case, stats, backend.compiles, first_call_s),
        **prepared.counters(),
    }
    if not passed:
        tol = parity.TOLERANCE[case.scenario]
        limit = 2 * ref.eager_err + tol
        row.update(status="mismatch", error=f"parity error {err:.3g} > {limit:.3g} "
                   f"(2 x eager's {ref.eager_err:.3g} + {tol:g})")
    return row


def run_case(case: Case, cfg: RunConfig, refs: References | None = None
             ) -> tuple[dict[str, Any], list[str]]:
    """One row of results for ``case`` (``ok``/``mismatch`` with timings, or
    ``unsupported``/``failed`` with the one-line reason), and the warnings raised on the way
    (``"backend: Category: first line"``, each once), kept out of the terminal."""
    row: dict[str, Any] = {"run_id": cfg.run_id, "workload": case.workload,
                           "scenario": case.scenario, "backend": case.backend,
                           "device": case.device, "dtype": "float32"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            row.update(_measure(case, cfg, refs or References()))
        except Unsupported as exc:
            row.update(status="unsupported", error=str(exc))
        except Exception as exc:  # a broken backend must not stop the matrix
            row.update(status="failed", error=_one_line(exc))
    notes = dict.fromkeys(f"{case.backend}: {w.category.__name__}: {one_line(w.message)}"
                          for w in caught)
    return row, list(notes)


def run_matrix(cases: list[Case], cfg: RunConfig, writer: ResultsWriter,
               meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Run ``cases`` in order with a progress bar, writing results after each one; warnings
    are added to ``meta["warnings"]`` (once each) and ``meta.json`` rewritten."""
    torch.set_num_threads(cfg.threads)
    cold_compiles()
    refs = References()
    bar = tqdm(cases, unit="case", dynamic_ncols=True)
    for case in bar:
        bar.set_description(case.label)
        row, warns = run_case(case, cfg, refs)
        writer.add(row)
        new = [w for w in warns if w not in meta["warnings"]]
        if new:
            meta["warnings"].extend(new)
            writer.write_meta(meta)
    return writer.rows
