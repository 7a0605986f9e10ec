"""pytest-benchmark entry point, outside the default test run (``tests/conftest.py`` leaves
this folder out); run it by naming the folder::

    pytest tests/benchmarks --benchmark-only
    BENCH_WORKLOADS=manual_mlp BENCH_BACKENDS=eager,compile pytest tests/benchmarks \\
        --benchmark-only --benchmark-autosave
    pytest tests/benchmarks --benchmark-only --bench-workloads manual_mlp -k infer \\
        --benchmark-compare --benchmark-compare-fail=median:10%

It times each case of workload x steady scenario (default: train, infer) x backend x device.
Narrow the matrix with ``-k`` or ``--bench-workloads``/``--bench-backends``/
``--bench-scenarios``/``--bench-devices`` (or the ``BENCH_*`` variables, see ``conftest.py``).

Each case first goes through the suite's own runner (``bench.runner.run_case``, quick
profile, in this process): parity against float64 eager, the first call, the suite's
steady-state median and the graph counters go to ``extra_info``; a case the runner records
``unsupported`` is skipped with its reason, and one that is not ``ok`` (``mismatch``,
``failed``, ``timeout``) fails untimed. pytest-benchmark then times one step followed by the
device's synchronize on a fresh workload under the backend, after one untimed first call.
Unlike ``python -m bench run`` all cases share this process, so compile caches warmed by an
earlier case can shorten ``first_call_s``.
"""

from __future__ import annotations

import pytest
import torch

from bench.backends import BACKENDS
from bench.backends.compiled import reset_dynamo
from bench.case import Case, RunConfig, case_matrix, parse_names
from bench.device import DEVICES, available_devices, torch_sync
from bench.plant import maybe_slow
from bench.precision import apply_precision
from bench.profiles import PROFILES
from bench.runner import References, run_case
from bench.schema import SCENARIOS, steady_scenarios
from models import WORKLOADS, WorkloadConfig, build_workload

# what the runner's row tells pytest-benchmark's report, beside its own timing
EXTRA_INFO = ("first_call_s", "compile_s", "parity_rel_err", "step_median_s",
              "eager_step_median_s", "graph_breaks", "recompiles", "compile_phases")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    opt = metafunc.config.getoption
    devices = parse_names(opt("--bench-devices"), DEVICES, "device")
    if opt("--bench-devices") == "all":
        devices = available_devices()
    cases = [c for d in devices for c in case_matrix(
        parse_names(opt("--bench-workloads"), WORKLOADS, "workload"),
        parse_names(opt("--bench-scenarios"), steady_scenarios(), "scenario"),
        parse_names(opt("--bench-backends"), BACKENDS, "backend"), d)]
    metafunc.parametrize("case", cases, ids=[c.label for c in cases])


@pytest.fixture(scope="session")
def references() -> References:
    """Float64 eager references, built once per workload, scenario and device."""
    apply_precision(False)  # the suite's default policy: full float32, TF32 off
    return References()


def _plain(value):
    """A row's value as JSON takes it (numpy scalars -> Python numbers)."""
    return value.item() if hasattr(value, "item") else value


def _fresh_step(case: Case):
    """One step of ``case`` on a fresh workload, then the device's synchronize; its first
    call (graph building) is made here, untimed."""
    reset_dynamo()  # the timed workload compiles afresh, not under the runner's guards
    work = build_workload(case.workload, WorkloadConfig(device=case.device))
    step = maybe_slow(case.backend,
                      BACKENDS[case.backend].prepare(work, SCENARIOS[case.scenario]).step)
    sync = torch_sync(case.device)

    def synced_step() -> None:
        step()
        sync()

    synced_step()
    return synced_step


def test_step(benchmark, case: Case, references: References) -> None:
    if case.device not in available_devices():
        pytest.skip(f"device {case.device} is not available here")
    cfg = RunConfig("pytest-benchmark", PROFILES["quick"], torch.get_num_threads())
    row, _ = run_case(case, cfg, references)
    if row["status"] == "unsupported":
        pytest.skip(f"{case.backend} unsupported: {row['error']}")
    benchmark.group = f"{case.workload}/{case.scenario}/{case.device}"
    benchmark.extra_info.update({k: _plain(row.get(k)) for k in EXTRA_INFO},
                                parity_passed=row["status"] != "mismatch")
    assert row["status"] == "ok", f"{row['status']}: {row.get('error')}: not timed"
    benchmark(_fresh_step(case))
