"""The case runner: builds a workload, hands it to a backend, times it, and returns one row.
A backend that raises or cannot express a case becomes a row too; the matrix runs on."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from bench.backends import BACKENDS, Unsupported
from bench.device import torch_sync
from bench.profiles import Profile
from bench.results import ResultsWriter
from bench.timing import steady_state, time_first_call
from models import WorkloadConfig, build_workload


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
    data_root: str | None = None  # torchvision MNIST root; None: the shipped subset
    seed: int = 0


def case_matrix(workloads, scenarios, backends, device: str) -> list[Case]:
    """Every combination, in a fixed order (workload-major)."""
    return [Case(w, s, b, device) for w, s, b in itertools.product(workloads, scenarios, backends)]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _measure(case: Case, cfg: RunConfig) -> dict[str, Any]:
    """Time one case; raises whatever the backend raises."""
    work = build_workload(
        case.workload, WorkloadConfig(device=case.device, data_root=cfg.data_root, seed=cfg.seed)
    )
    backend = BACKENDS[case.backend]
    step = backend.prepare(work, case.scenario)
    sync = torch_sync(case.device)
    if case.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    first_call_s, _ = time_first_call(step, sync)
    stats = steady_state(step, sync, cfg.profile, cfg.threads)
    out = step()
    sync()
    final_loss = out if case.scenario == "train" else work.loss_fn(out, work.batch[1])
    flops = work.flops(case.scenario)
    return {
        "batch_size": work.batch_size,
        "status": "ok",
        "step_median_s": stats.median_s,
        "step_iqr_s": stats.iqr_s,
        "step_ci_low_s": stats.ci_low_s,
        "step_ci_high_s": stats.ci_high_s,
        "repeats": stats.repeats,
        "first_call_s": first_call_s,
        "compile_s": max(first_call_s - stats.median_s, 0.0) if backend.compiles else None,
        "samples_per_s": work.batch_size / stats.median_s,
        "peak_mem_bytes": torch.cuda.max_memory_allocated() if case.device == "cuda" else None,
        "final_loss": float(final_loss),
        "flops_per_step": flops,
        "achieved_flops_per_s": flops / stats.median_s,
    }


def run_case(case: Case, cfg: RunConfig) -> dict[str, Any]:
    """One row of results for ``case``: ``ok`` with timings, or ``unsupported``/``failed``
    with the one-line reason."""
    row: dict[str, Any] = {"run_id": cfg.run_id, "workload": case.workload,
                           "scenario": case.scenario, "backend": case.backend,
                           "device": case.device, "dtype": "float32"}
    try:
        row.update(_measure(case, cfg))
    except Unsupported as exc:
        row.update(status="unsupported", error=str(exc))
    except Exception as exc:  # a broken backend must not stop the matrix
        row.update(status="failed", error=_one_line(exc))
    return row


def run_matrix(cases: list[Case], cfg: RunConfig, writer: ResultsWriter) -> list[dict[str, Any]]:
    """Run ``cases`` in order with a progress bar, writing results after each one."""
    torch.set_num_threads(cfg.threads)
    bar = tqdm(cases, unit="case", dynamic_ncols=True)
    for case in bar:
        bar.set_description(case.label)
        writer.add(run_case(case, cfg))
    return writer.rows
