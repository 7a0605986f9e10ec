"""Options of the pytest-benchmark entry point (``pytest tests/benchmarks --benchmark-only``):
which workloads, scenarios, backends and devices ``test_benchmarks.py`` is parametrized over.
Each defaults to its environment variable, then to everything (scenarios: train and infer;
devices: those here). pytest reads these options only when ``tests/benchmarks`` is named on
its command line; the default test run does not collect this folder (``tests/conftest.py``)."""

from __future__ import annotations

import os

# option, environment variable, default: comma-separated names or "all"
OPTIONS = [
    ("workloads", "BENCH_WORKLOADS", "all"),
    ("scenarios", "BENCH_SCENARIOS", "train,infer"),
    ("backends", "BENCH_BACKENDS", "all"),
    ("devices", "BENCH_DEVICES", "all"),
]


def pytest_addoption(parser) -> None:
    group = parser.getgroup("eager-vs-compiled",
                            "the benchmark matrix of tests/benchmarks/test_benchmarks.py")
    for name, env, default in OPTIONS:
        group.addoption(f"--bench-{name}", default=os.environ.get(env, default),
                        help=f"comma-separated {name}, or all (env {env}; default {default})")
