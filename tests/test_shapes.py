"""Changing batch sizes: the sequences themselves, and torch.compile's recompiles on them."""

from __future__ import annotations

import pytest
from torch.utils.data import DataLoader

from bench.backends.compiled import Compile, reset_dynamo
from bench.schema import SCENARIOS, epoch_batch_sizes
from models import build_workload
from tests.conftest import TINY


def test_epoch_sequence_is_a_real_dataloader_epoch():
    sizes = SCENARIOS["shapes"].batch_sizes
    assert sizes == epoch_batch_sizes() == tuple(len(b) for b in DataLoader(range(4000),
                                                                            batch_size=64))
    assert sizes == (64,) * 62 + (32,)  # 4,000 images, batch 64
    assert sum(sizes) == 4000
    assert SCENARIOS["shapes8"].batch_sizes == (8, 16, 24, 32, 40, 48, 56, 64)


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
