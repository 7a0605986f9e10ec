"""Shared fixtures: tiny shapes so every test runs in seconds on a CPU.

``tests/benchmarks/`` (the pytest-benchmark entry point, minutes per case) is left out of the
default run; name it to run it: ``pytest tests/benchmarks --benchmark-only``."""

from __future__ import annotations

import pytest

from models import WorkloadConfig

# pytest still collects a folder named on its command line: only the default run skips it
collect_ignore = ["benchmarks"]

# The MLPs shrunk from 1000 -> 100 -> 10 to 20 -> 8 -> 3; the CNN keeps its 28x28 input.
TINY = WorkloadConfig(batch_size=8, in_features=20, hidden=8, out_features=3)


@pytest.fixture
def tiny() -> WorkloadConfig:
    return TINY
