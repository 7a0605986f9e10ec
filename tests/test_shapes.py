"""Changing batch sizes: the sequences themselves, and torch.compile's recompiles on them."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from bench import measure
from bench.backends import Prepared
from bench.backends.compiled import Compile, reset_dynamo
from bench.runner import Case, run_case
from bench.schema import SCENARIOS, epoch_batch_sizes
from models import build_workload
from tests.conftest import TINY
from tests.test_runner import CFG


def test_epoch_sequence_is_a_real_dataloader_epoch():
    sizes = SCENARIOS["shapes"].batch_sizes
    assert sizes == epoch_batch_sizes() == tuple(len(b) for b in DataLoader(range(4000),
                                                                            batch_size=64))
    assert sizes == (64,) * 62 + (32,)  # 4,000 images, batch 64
    assert sum(sizes) == 4000
    assert SCENARIOS["shapes8"].batch_sizes == (8, 16, 24, 32, 40, 48, 56, 64)
    dropped = SCENARIOS["shapes_droplast"].batch_sizes
    assert dropped == epoch_batch_sizes(drop_last=True) == tuple(
        len(b) for b in DataLoader(range(4000), batch_size=64, drop_last=True))
    assert dropped == (64,) * 62 and SCENARIOS["shapes_droplast"].mode == "train"
    for n, b in ((10, 3), (9, 3), (2, 5)):  # a partial batch, none, and only a partial one
        for drop in (False, True):
            assert epoch_batch_sizes(n, b, drop) == tuple(
                len(x) for x in DataLoader(range(n), batch_size=b, drop_last=drop))


def _recompiles(scenario: str, dynamic: bool | None) -> int:
    """Run the inference forward of sequential_sgd (one frame, no graph break) over the
    scenario's batch sizes and return Dynamo's recompile count."""
    reset_dynamo()
    work = build_workload("sequential_sgd", TINY)
    prepared = Compile("c", dynamic=dynamic).prepare(work, SCENARIOS["infer"])
    sizes = SCENARIOS[scenario].batch_sizes
    batches = {n: work.make_batch(n)[0] for n in set(sizes)}
    for n in sizes:
        out = prepared.call(batches[n])
        assert out.shape == (n, TINY.out_features)
    return prepared.counters()["recompiles"]


# Derived from torch.compile's documented behaviour ("Dynamic shapes", torch.compiler docs):
# dynamic=None (default) compiles static first; the first size change recompiles once with
# that dimension marked dynamic ("automatic dynamic shapes"), which then serves every later
# size. dynamic=False compiles one static graph per size; dynamic=True starts dynamic.
@pytest.mark.parametrize("scenario, dynamic, expected", [
    ("shapes", None, 1),    # 64 ... 64, then 32: one recompile for the partial last batch
    ("shapes", False, 1),   # static: a second graph for 32
    ("shapes8", None, 1),   # 8, then 16 makes the batch dynamic; 24..64 reuse it
    ("shapes8", False, 7),  # one graph per distinct size
    ("shapes8", True, 0),
])
def test_compile_recompiles_match_the_documented_rule(scenario, dynamic, expected):
    assert _recompiles(scenario, dynamic) == expected


@pytest.mark.parametrize("scenario, new_steps", [("shapes", [62]),
                                                 ("shapes8", [1, 2, 3, 4, 5, 6, 7]),
                                                 ("shapes_droplast", [])])
def test_new_size_steps_are_summed_and_memory_read_before_the_first(monkeypatch, scenario,
                                                                      new_steps):
    """A fake step on a fake clock: 0.5 s when it meets a batch size for the first time (a
    recompile), 0.01 s otherwise. ``new_shape_s`` sums the new sizes' steps after the first
    call; the memory is read (still sampling) just before the first of them, then at the end."""
    now, seen, reads = [0.0], [], []

    def call(x, y):
        now[0] += 0.01 if len(x) in seen else 0.5
        seen.append(len(x))
        return torch.tensor(1.0)

    def memory(final: bool = True) -> dict:
        reads.append((final, len(seen)))
        return {"peak_mem_bytes": 1000 + 10 * len(seen), "peak_reserved_bytes": None}

    monkeypatch.setattr(measure, "synced_clock", lambda sync: lambda: now[0])
    sizes = SCENARIOS[scenario].batch_sizes
    assert measure.new_shape_steps(sizes) == new_steps
    prepared = Prepared(step=lambda: None, params=lambda: [], call=call)
    row = measure.measure_sequence(Case("sequential_sgd", scenario, "eager", "cpu"),
                                   build_workload("sequential_sgd", TINY), prepared,
                                   lambda: None, memory)
    assert seen == list(sizes)
    assert row["first_call_s"] == pytest.approx(0.5)
    assert row["new_shape_s"] == pytest.approx(0.5 * len(new_steps))
    assert row["sequence_s"] == pytest.approx(0.5 * (1 + len(new_steps))
                                              + 0.01 * (len(sizes) - 1 - len(new_steps)))
    assert row["peak_mem_bytes"] == 1000 + 10 * len(sizes) and row["peak_reserved_bytes"] is None
    if new_steps:
        assert reads == [(False, new_steps[0]), (True, len(sizes))]
        assert row["peak_mem_first_shape_bytes"] == 1000 + 10 * new_steps[0]
    else:  # no new size: nothing to read before it
        assert reads == [(True, len(sizes))] and row["peak_mem_first_shape_bytes"] is None


def test_compiles_recompile_for_the_tail_batch_is_the_new_shape_time():
    """``shapes`` under torch.compile (tiny shapes, CPU): the last batch of 32 recompiles, so
    its one step (``new_shape_s``) takes far longer than the median step; the peak before it
    is at most the peak at the end (the same sampled RSS rise)."""
    row, _ = run_case(Case("sequential_sgd", "shapes", "compile", "cpu"), CFG)
    assert row["status"] == "ok", row.get("error")
    assert row["recompiles"] >= 1  # the step (and the update after its backward())
    assert 10 * row["step_median_s"] < row["new_shape_s"] < row["sequence_s"]
    assert 0 <= row["peak_mem_first_shape_bytes"] <= row["peak_mem_bytes"]
    assert row["peak_reserved_bytes"] is None  # the CPU has no CUDA allocator
