"""The cross-check: a sample of a run's cells timed a second, independent way, so that a
timing artefact of the suite's own loop shows as a disagreement instead of a finding.

For each sampled ``ok`` steady-state cell, the backend's step and an eager twin are built
afresh in this process (cold compile caches), warmed up, then timed in alternating blocks by
``torch.utils.benchmark.Timer.adaptive_autorange`` (PyTorch's own timer: it runs blocks until
the interquartile range of their medians is within ``threshold`` of the median;
https://pytorch.org/docs/stable/benchmark_utils.html), eager block then backend block,
``CROSS_BLOCKS`` times. Each pair gives one speedup; their geometric mean and Student's t
interval (``bench.rounds.t_interval_of_logs``) are compared with the cell's own: the two
agree when their 95% intervals overlap. Written to ``crosscheck.csv``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pandas as pd
from torch.utils.benchmark import Timer

from bench.backends import BACKENDS
from bench.backends.compiled import reset_dynamo
from bench.case import Case, RunConfig
from bench.rounds import t_interval_of_logs
from bench.schema import KEY, SCENARIOS, atomic_write
from models import build_workload

CROSS_BLOCKS = 3  # eager/backend block pairs per cell
WARMUP_CALLS = 3  # untimed calls of each step after its first


def _steps(case: Case, cfg: RunConfig) -> tuple[Any, Any]:
    """Fresh ``(backend step, eager step)`` of ``case``, each called ``1 + WARMUP_CALLS``
    times (compile and warm-up out of the timing)."""
    wcfg = replace(cfg.workload, device=case.device)
    scenario = SCENARIOS[case.scenario]
    reset_dynamo()
    step = BACKENDS[case.backend].prepare(build_workload(case.workload, wcfg), scenario).step
    eager = BACKENDS["eager"].prepare(build_workload(case.workload, wcfg), scenario).step
    for f in (step, eager):
        for _ in range(1 + WARMUP_CALLS):
            f()
    return step, eager


def time_pair(step, eager, threads: int, max_run_time_s: float = 2.0) -> list[float]:
    """``CROSS_BLOCKS`` speedups (eager's median over the step's), each from one
    ``adaptive_autorange`` of eager then one of the step, on ``threads`` threads."""
    def median(f) -> float:
        timer = Timer("f()", globals={"f": f}, num_threads=threads)
        return timer.adaptive_autorange(min_run_time=0.05, max_run_time=max_run_time_s).median

    return [median(eager) / median(step) for _ in range(CROSS_BLOCKS)]


def cross_check_row(case: Case, cfg: RunConfig, row: dict[str, Any]) -> dict[str, Any]:
    """The cross-check of one cell against its results ``row``: both speedups with their
    intervals, and ``agree`` (the intervals overlap). Raises whatever the backend raises."""
    from bench.inprocess import fresh_torch_cache

    with fresh_torch_cache():
        step, eager = _steps(case, cfg)
        point, low, high = t_interval_of_logs(time_pair(step, eager, cfg.threads))
    suite = (row.get("speedup"), row.get("speedup_ci_low"), row.get("speedup_ci_high"))
    agree = bool(low <= suite[2] and suite[1] <= high) if None not in suite else None
    return {**{k: row[k] for k in KEY}, "speedup": suite[0], "speedup_ci_low": suite[1],
            "speedup_ci_high": suite[2], "check_speedup": point, "check_ci_low": low,
            "check_ci_high": high, "check_blocks": CROSS_BLOCKS, "agree": agree}


def sample_cells(rows: list[dict[str, Any]], n: int, seed: int | None) -> list[dict]:
    """``n`` ok steady-state non-eager rows with a speedup interval, drawn with ``seed``."""
    cells = [r for r in rows if r["status"] == "ok" and r["backend"] != "eager"
             and SCENARIOS[r["scenario"]].steady and r.get("speedup_ci_low") == r.get(
                 "speedup_ci_low")]  # not NaN
    return random.Random(seed).sample(cells, min(n, len(cells)))


def cross_check(rows: list[dict[str, Any]], cfg: RunConfig, n: int, seed: int | None,
                folder) -> pd.DataFrame:
    """Cross-check ``n`` sampled cells of ``rows`` (``sample_cells``) and write
    ``folder/crosscheck.csv``; a cell whose check raises is left out. Returns the frame."""
    out = []
    for row in sample_cells(rows, n, seed):
        case = Case(*(row[k] for k in KEY))
        try:
            out.append(cross_check_row(case, cfg, row))
        except Exception:  # noqa: BLE001 - the run's own row already says how the case went
            continue
    frame = pd.DataFrame(out)
    atomic_write(folder / "crosscheck.csv", lambda p: frame.to_csv(p, index=False))
    return frame


def disagreement_lines(frame: pd.DataFrame) -> list[str]:
    """One line per cell whose two intervals do not overlap, and a summary line."""
    if frame.empty:
        return []
    lines = [f"cross-check disagrees: {r.workload}/{r.scenario}/{r.backend}: suite "
             f"{r.speedup:.3g}x ({r.speedup_ci_low:.3g}-{r.speedup_ci_high:.3g}), "
             f"torch.utils.benchmark {r.check_speedup:.3g}x ({r.check_ci_low:.3g}-"
             f"{r.check_ci_high:.3g})" for r in frame.itertuples() if r.agree is False]
    agreed = int((frame["agree"] == True).sum())  # noqa: E712 - a column of bools and None
    lines.append(f"cross-check: {agreed} of {len(frame)} sampled cells agree with "
                 "torch.utils.benchmark within their 95% intervals (crosscheck.csv)")
    return lines
