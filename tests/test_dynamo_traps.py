"""torch.compile's traps, recorded in the row (tiny shapes, CPU): the graphs Dynamo made and
its graph breaks by reason, counted over every step of a case; and a frame that passed
Dynamo's recompile limit (it then runs eager, silently) labelled ``eager_fallback``, which
keeps the row out of every speedup."""

from __future__ import annotations

import torch

from bench.profiles import Profile
from bench.runner import Case, RunConfig, run_case
from bench.schema import STATUSES
from tests.conftest import TINY

TINY_PROFILE = Profile("test", warmup_steps=1, min_run_time_s=0.01, max_run_time_s=0.05,
                       ci_halfwidth=0.5, case_timeout_s=60, min_blocks=3)
CFG = RunConfig("test", TINY_PROFILE, threads=1, workload=TINY)


def test_static_compile_past_the_recompile_limit_is_an_eager_fallback():
    # shapes8 has 8 distinct batch sizes: dynamic=False compiles one graph per size, so with
    # the limit at 2 the third size passes it and every later size runs eager.
    with torch._dynamo.config.patch(recompile_limit=2):
        row, _ = run_case(Case("sequential_sgd", "shapes8", "compile_static", "cpu"), CFG)
    assert "eager_fallback" in STATUSES
    assert row["status"] == "eager_fallback", row.get("error")
    assert row["error"].startswith("eager_fallback: recompile_limit=2 hit by 1 frame (train_step"
                                   " at mlp.py:") and " after 1 recompile;" in row["error"]
    assert row["error"].endswith("; the rest ran eager")
    # sizes 8 and 16 compiled (2 graphs of the step + 1 of the update after backward()),
    # the third size passed the limit
    assert (row["graphs"], row["recompiles"]) == (3, 1)
    assert row["sequence_s"] > 0  # measured, but not ok: no speedup is ever made of it


def test_static_compile_within_the_limit_stays_ok():
    # the same case at the default limit (8 = the number of sizes): no frame runs eager
    assert torch._dynamo.config.recompile_limit == 8
    row, _ = run_case(Case("sequential_sgd", "shapes8", "compile_static", "cpu"), CFG)
    assert row["status"] == "ok", row.get("error")
    assert (row["recompiles"], row["graphs"]) == (7, 8 + 1)  # + the update after backward()
    assert row["break_reasons"] == "8x: Unsupported Tensor.backward() call"  # once a trace


def _reasons(row: dict) -> dict[str, int]:
    """``break_reasons`` ("2x: first line; 1x: ...") as {first line: count}."""
    return {line: int(n) for n, line in (p.split("x: ", 1) for p in row["break_reasons"]
                                         .split("; "))}


def test_graphs_and_break_reasons_of_the_printing_step():
    # The notes' debug step prints loss.item(): Dynamo breaks the graph at .item() and at
    # print. The limit is raised so that the printing frame, which recompiles for each new
    # loss value (the float is specialized), does not reach it in this short case.
    with torch._dynamo.config.patch(recompile_limit=64):
        row, _ = run_case(Case("manual_mlp", "debug", "compile", "cpu"), CFG)
    assert row["status"] == "ok", row.get("error")
    assert row["graphs"] == row["recompiles"] + 1 and row["graph_breaks"] == 2
    reasons = _reasons(row)
    assert reasons["Unsupported Tensor.item() call with capture_scalar_outputs=False"] >= 1
    assert reasons["Failed to trace builtin operator"] > 1  # print, again in every retrace
    assert sum(reasons.values()) > row["graph_breaks"]  # every step's breaks, not the first's
    assert row["error"].startswith("fullgraph=True: ")  # the note is still there


def test_the_printing_step_passes_the_default_limit():
    # The same case at the default limit: one new loss value per step, one recompile of the
    # printing frame each, until the 8th; from then on that frame runs eager.
    # That frame prints and returns (no tensor work): the row stays ok and says so.
    row, _ = run_case(Case("manual_mlp", "debug", "compile", "cpu"), CFG)
    assert row["status"] == "ok", row["error"]
    assert row["error"].startswith("recompile_limit=8 hit by 1 frame (")
    assert "_in_debug_step_at_" in row["error"]  # the frame after .item(): the print
    assert "the print frame runs eager, the step's graphs stay compiled; fullgraph=True: " in (
        row["error"])  # the fullgraph note follows


def test_a_step_without_breaks_says_none():
    row, _ = run_case(Case("manual_mlp", "infer", "compile", "cpu"), CFG)
    assert row["status"] == "ok", row.get("error")
    assert (row["graph_breaks"], row["break_reasons"]) == (0, "none")
    assert row["graphs"] == row["recompiles"] + 1  # one frame, one graph at its first call
