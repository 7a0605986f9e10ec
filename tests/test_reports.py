"""reports/: tables, verdict, plots and the ``python -m reports build`` CLI, checked against a
small results folder written here with literal numbers (no torch, no benchmark run)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.schema import COLUMNS, BackendInfo
from reports import metrics, pivots, tables, verdict
from reports.cli import build_files, main
from reports.load import load_runs
from reports.plots import PLOTS

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
NOTE = "fullgraph=True: Unsupported: Attempted to inline function marked as skipped"
# The backend records a run writes into meta.json (bench.backends' registry, in its order).
REGISTRY = [
    BackendInfo("eager", "torch", compiles=False, baseline=True),
    *(BackendInfo(name, "torch", compiles=True) for name in (
        "jit_script", "jit_trace", "compile", "compile_reduce_overhead", "compile_max_autotune",
        "compile_dynamic", "compile_static", "export_aoti")),
    BackendInfo("jax_eager", "jax", compiles=False, baseline=True),
    BackendInfo("jax_jit", "jax", compiles=True),
]  # fmt: skip


def _row(run_id: str, device: str, workload: str, scenario: str, backend: str, status: str = "ok",
         step: float | None = None, **extra) -> dict:
    return {"run_id": run_id, "device": device, "workload": workload, "scenario": scenario,
            "backend": backend, "status": status, "step_median_s": step, "dtype": "float32",
            "batch_size": 100, **extra}  # fmt: skip


def _cpu_rows() -> list[dict]:
    r = ("cpu-run", "cpu")
    return [
        # mlp / train: compile 2x faster (pays after 400 steps), jit_trace 2x slower (never),
        # a fast jit_script whose result is wrong (must never count), an unsupported export.
        _row(*r, "mlp", "train", "eager", step=0.010, first_call_s=0.012, step_iqr_s=0.001,
             samples_per_s=10_000.0, achieved_flops_per_s=1e10, peak_mem_bytes=40 * MIB),
        _row(*r, "mlp", "train", "compile", step=0.005, compile_s=2.0, compile_warm_s=0.5,
             first_call_s=2.005, step_ci_low_s=0.0045, step_ci_high_s=0.0055, graph_breaks=0,
             recompiles=0, peak_mem_bytes=60 * MIB),
        # JAX: jax_jit 5x jax_eager, slower than compile, not a PyTorch static graph.
        _row(*r, "mlp", "train", "jax_eager", step=0.030, first_call_s=0.05),
        _row(*r, "mlp", "train", "jax_jit", step=0.006, compile_s=0.3, compile_warm_s=0.1,
             first_call_s=0.306, recompiles=0),
        _row(*r, "mlp", "train", "jit_trace", step=0.020, compile_s=0.1, first_call_s=0.12),
        _row(*r, "mlp", "train", "jit_script", "mismatch", step=0.001, compile_s=0.01,
             first_call_s=0.011, error="parity error 9.9 > 0.1"),
        _row(*r, "mlp", "train", "export_aoti", "unsupported", batch_size=None,
             error="training step not exportable"),
        # mlp / infer: compile 4x, jit_trace 2x.
        _row(*r, "mlp", "infer", "eager", step=0.004, first_call_s=0.005),
        _row(*r, "mlp", "infer", "compile", step=0.001, compile_s=1.0, compile_warm_s=0.25,
             first_call_s=1.001, step_ci_low_s=0.0009, step_ci_high_s=0.0011),
        _row(*r, "mlp", "infer", "jit_trace", step=0.002, compile_s=0.05, first_call_s=0.052),
        # cnn / train: eager failed, so compile's fine time has no baseline.
        _row(*r, "cnn", "train", "eager", "failed", error="out of memory"),
        _row(*r, "cnn", "train", "compile", step=0.05, compile_s=5.0, first_call_s=5.05),
        # mlp / debug: a print in the step breaks compile's graph twice and recompiles once;
        # the row is ok, its error column holds what fullgraph=True said (a note).
        _row(*r, "mlp", "debug", "eager", step=0.011, first_call_s=0.012),
        _row(*r, "mlp", "debug", "compile", step=0.008, compile_s=2.5, graph_breaks=2,
             recompiles=1, error=NOTE, step_ci_low_s=0.0075, step_ci_high_s=0.0085),
        *_shapes_rows(r),
    ]  # fmt: skip


def _shapes_rows(r: tuple[str, str]) -> list[dict]:
    """One row per shape case: shapes (2 distinct sizes, 63 steps), shapes8 (8 sizes). The
    per-step medians would be 10x speedups if they wrongly entered a speedup or mean."""
    def shape(scenario, backend, status="ok", seq=None, rec=None):
        n = 2 if scenario == "shapes" else 8
        return _row(*r, "mlp", scenario, backend, status, step=0.01 if backend == "eager" else
                    0.001, first_call_s=0.5, batch_size=64, sequence_s=seq, recompiles=rec,
                    distinct_batch_sizes=n if status == "ok" else None)
    return [
        shape("shapes", "eager", seq=0.8), shape("shapes8", "eager", seq=0.2),
        shape("shapes", "compile", seq=3.2, rec=1) | {
            "new_shape_s": 1.5, "peak_mem_first_shape_bytes": 10 * MIB,
            "peak_mem_bytes": 12 * MIB},  # the tail's recompile, and 2 MiB more after it
        shape("shapes8", "compile", seq=4.0, rec=7),
        shape("shapes", "compile_dynamic", seq=1.0, rec=0),
        shape("shapes8", "compile_dynamic", "failed") | {"error": "RuntimeError: boom"},
        shape("shapes", "jax_jit", seq=0.4, rec=1), shape("shapes8", "jax_jit", seq=0.1, rec=7),
    ]  # fmt: skip


def _gpu_rows() -> list[dict]:
    r = ("gpu-run", "cuda")
    return [
        _row(*r, "mlp", "train", "eager", step=0.002, first_call_s=0.01,
             peak_mem_bytes=100 * MIB),
        _row(*r, "mlp", "train", "compile", step=0.001, compile_s=3.0, first_call_s=3.001,
             peak_mem_bytes=50 * MIB, step_ci_low_s=0.0009, step_ci_high_s=0.0011),
        _row(*r, "mlp", "train", "compile_reduce_overhead", "timeout"),
    ]  # fmt: skip


def write_run(folder: Path, rows: list[dict], meta: dict | None = None) -> Path:
    """A run folder as the bench writes it: results.csv with exactly COLUMNS, meta.json (by
    default with the backend records of ``REGISTRY``)."""
    folder.mkdir(parents=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(folder / "results.csv", index=False)
    meta = meta or {"run_id": rows[0]["run_id"], "device": rows[0]["device"], "threads": 2,
                    "precision": {"tf32_matmul": False}, "torch": "2.14.1",
                    "backends": [info.to_json() for info in REGISTRY]}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def runs_dirs(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("runs")
    return [write_run(base / "cpu", _cpu_rows()), write_run(base / "gpu", _gpu_rows())]


@pytest.fixture(scope="module")
def df(runs_dirs) -> pd.DataFrame:
    return load_runs(runs_dirs).results


def _one(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for col, value in where.items():
        mask &= frame[col] == value
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]


def test_speedups_use_only_ok_cases(df):
    s = metrics.speedups(df)
    assert _one(s, device="cpu", workload="mlp", scenario="train", backend="compile")[
        "speedup"] == pytest.approx(2.0)
    assert _one(s, device="cpu", workload="mlp", scenario="train", backend="jit_trace")[
        "speedup"] == pytest.approx(0.5)
    for backend, scenario, workload in [("jit_script", "train", "mlp"),  # mismatch
                                        ("export_aoti", "train", "mlp"),  # unsupported
                                        ("compile", "train", "cnn")]:  # eager failed
        row = _one(s, device="cpu", workload=workload, scenario=scenario, backend=backend)
        assert math.isnan(row["speedup"])


def test_geomean_by_hand(df):
    g = metrics.geomean_speedups(df).set_index(["device", "backend"])
    cpu_compile = (2.0 * 4.0 * (0.011 / 0.008)) ** (1 / 3)  # train, infer, debug; no shapes
    assert g.loc[("cpu", "compile"), "geomean_speedup"] == pytest.approx(cpu_compile)
    assert g.loc[("cpu", "compile"), "n"] == 3
    assert g.loc[("cpu", "jit_trace"), "geomean_speedup"] == pytest.approx(1.0)  # 0.5, 2.0
    assert g.loc[("cuda", "compile"), "geomean_speedup"] == pytest.approx(2.0)
    assert ("cpu", "jit_script") not in g.index  # the mismatch's 10x never counts
    assert g.loc[("cpu", "jax_jit"), "n"] == 1  # train only: its shapes rows never count
    assert ("cpu", "compile_dynamic") not in g.index  # it ran only the shape scenarios


def test_speedup_table_shows_status_strings(df):
    shown = pivots.speedup_table(df).shown
    mlp = _one(shown, device="cpu", workload="mlp", scenario="train")
    assert (mlp["compile"], mlp["jit_trace"]) == ("2.00x (1.82-2.22)", "0.50x")
    assert (mlp["jit_script"], mlp["export_aoti"]) == ("mismatch", "unsupported")
    assert _one(shown, device="cpu", workload="cnn", scenario="train")["compile"] == "eager failed"
    assert _one(shown, device="cuda", workload="mlp", scenario="train")[
        "compile_reduce_overhead"] == "timeout"
    geo = pivots.geomean_table(df).shown.set_index("device")
    assert geo.loc["cuda", "compile"] == "2.00x (1.81-2.21x, n=1)"  # mean log half-width
    assert geo.loc["cpu", "jit_trace"] == "1.00x (n=2)"  # no step intervals: no interval
    assert geo.loc["cpu", "jit_script"] == "-"


def test_break_even_steps(df):
    b = metrics.break_even(df)
    key = {"device": "cpu", "workload": "mlp"}
    assert _one(b, **key, scenario="train", backend="compile")["break_even_steps"] == \
        pytest.approx(2.0 / (0.010 - 0.005))  # 400 steps
    assert math.isinf(_one(b, **key, scenario="train", backend="jit_trace")["break_even_steps"])
    assert math.isnan(_one(b, **key, scenario="train", backend="jit_script")["break_even_steps"])
    shown = tables.compile_table(df).shown
    be = shown.set_index(["device", "workload", "scenario", "backend"])["break-even steps"]
    assert be[("cpu", "mlp", "train", "compile")] == "400"
    assert be[("cpu", "mlp", "train", "jit_trace")] == "never"
    assert be[("cpu", "mlp", "infer", "compile")] == "334"  # 1.0 / 0.003 = 333.3
    assert be[("cuda", "mlp", "train", "compile")] == "3,000"
    compile_train = _one(shown, device="cpu", workload="mlp", scenario="train",
                         backend="compile")
    assert (compile_train["compile (cold)"], compile_train["compile (warm)"]) == \
        ("2.00 s", "500 ms")
    assert compile_train["break-even steps (warm)"] == "100"  # 0.5 / 0.005
    assert not set(shown["scenario"]) & {"shapes", "shapes8"}
    w = metrics.warm_savings(df).set_index(["device", "backend"])
    assert w.loc[("cpu", "compile"), "n"] == 2  # train, infer (debug has no warm time)
    assert w.loc[("cpu", "compile"), "saved_fraction"] == pytest.approx(1 - 0.75 / 3.0)


def test_interleaved_eager_median_is_the_baseline(tmp_path):
    r = ("i", "cpu", "w")
    rows = [_row(*r, "train", "eager", step=0.010, eager_step_median_s=0.010),
            _row(*r, "train", "compile", step=0.005, eager_step_median_s=0.012, compile_s=1.4,
                 compile_phases="dynamo=0.40s backend=1.00s"),
            _row(*r, "train", "jit_trace", step=0.005)]  # none recorded: the eager row's
    df = load_runs([write_run(tmp_path / "i", rows)]).results
    b = metrics.break_even(df).set_index("backend")
    assert b.loc["compile", "speedup"] == pytest.approx(0.012 / 0.005)
    assert b.loc["compile", "break_even_steps"] == pytest.approx(1.4 / (0.012 - 0.005))
    assert b.loc["jit_trace", "speedup"] == pytest.approx(2.0)
    shown = _one(tables.compile_table(df).shown, backend="compile")
    assert (shown["eager step"], shown["compile phases"]) == ("12.0 ms",
                                                               "dynamo=0.40s backend=1.00s")
    drift = metrics.eager_drift(df).iloc[0]  # eager read 0.010 (its row) and 0.012 (twin)
    assert (drift["n"], drift["min_s"], drift["max_s"]) == (2, 0.010, 0.012)
    assert drift["spread"] == pytest.approx(0.2)
    shown = _one(tables.drift_table(df).shown, workload="w")
    assert (shown["cases"], shown["slowest"], shown["spread"]) == ("2", "12.0 ms", "20%")
    # the wall-time plot puts compile's step on the eager row's scale: 0.010 / (0.012 / 0.005)
    scaled = metrics.step_on_eager_scale(metrics.with_baseline(df), 0.010)
    by = dict(zip(metrics.with_baseline(df)["backend"], scaled, strict=True))
    assert by["compile"] == pytest.approx(0.010 * 0.005 / 0.012)
    assert (by["eager"], by["jit_trace"]) == (pytest.approx(0.010), pytest.approx(0.005))


def test_step_time_units(df):
    t = tables.timing_table(df).shown
    eager = _one(t, device="cpu", workload="mlp", scenario="train", backend="eager")
    assert (eager["step median"], eager["step IQR"]) == ("10.0 ms", "1.00 ms")
    assert (eager["throughput"], eager["achieved"]) == ("10,000 samples/s", "10.0 GFLOP/s")
    mismatch = _one(t, device="cpu", workload="mlp", scenario="train", backend="jit_script")
    assert mismatch["step median"] == "-"  # its 1 ms is not shown as a number


def test_debug_and_memory(df):
    d = _one(metrics.debug_costs(df), backend="compile")
    assert d["debug_cost_ratio"] == pytest.approx(0.008 / 0.005)
    assert (d["graph_breaks"], d["train_graph_breaks"]) == (2, 0)
    assert (d["recompiles"], d["train_recompiles"]) == (1, 0)
    shown = _one(tables.debug_table(df).shown, backend="compile")
    assert shown["fullgraph=True says"] == NOTE.removeprefix("fullgraph=True: ")
    assert (shown["graph breaks"], shown["train graph breaks"]) == ("2", "0")
    assert _one(tables.debug_table(df).shown, backend="eager")["fullgraph=True says"] == "-"
    gpu = _one(metrics.memory(df), device="cuda", backend="compile")
    assert gpu["mem_ratio"] == pytest.approx(0.5)
    mem = tables.memory_table(df).shown
    assert _one(mem, device="cuda", backend="compile")["peak memory"] == "50.0 MiB"
    cpu = _one(mem, device="cpu", scenario="train", backend="compile")
    assert (cpu["peak memory"], cpu["vs eager"]) == ("60.0 MiB", "1.50")


def test_bandwidth_fraction_by_hand():
    # 1e9 bytes and 1e9 FLOPs per step in 0.5 s: 2 GB/s achieved. The run's roofline: copy
    # 4 GB/s, matmul 1 TFLOP/s. Bandwidth fraction 2/4 = 0.5; the roofline's least time
    # max(1e9 / 1e12, 1e9 / 4e9) = 0.25 s, over 0.5 s = 0.5. A row without bytes is left out.
    rows = [_row("r", "cpu", "tensor_ops", "infer", "compile", step=0.5, bytes_per_step=1e9,
                 achieved_bytes_per_s=2e9, flops_per_step=1e9),
            _row("r", "cpu", "tensor_ops", "infer", "eager", step=2.0, bytes_per_step=1e9,
                 achieved_bytes_per_s=5e8, flops_per_step=1e9),
            _row("r", "cpu", "manual_mlp", "infer", "eager", step=1e-3, flops_per_step=1e6)]
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    meta = {"run_id": "r", "roofline": {"copy_bytes_per_s": 4e9, "matmul_flops_per_s": 1e12}}
    m = metrics.bandwidth(frame, [meta])
    assert list(m["backend"]) == ["compile", "eager"]
    assert m["bandwidth_fraction"].tolist() == pytest.approx([0.5, 0.125])
    assert m["roofline_fraction"].tolist() == pytest.approx([0.5, 0.125])
    shown = tables.bandwidth_table(frame, [meta]).shown
    assert shown["of copy bandwidth"].tolist() == ["50%", "12%"]


def test_ok_row_with_a_note_is_not_a_failure(df):
    bad = tables.failures_table(df).tidy
    assert set(bad["status"]) == {"mismatch", "unsupported", "failed", "timeout"}
    assert not ((bad["scenario"] == "debug") & (bad["backend"] == "compile")).any()
    assert not bad["error"].str.contains("fullgraph", na=False).any()
    debug = _one(verdict.verdict_frame(df), device="cpu", workload="mlp", scenario="debug")
    assert debug["not_ok"] == "" and debug["fastest"] == "compile"


def test_shapes_table_numbers(df):
    s = metrics.shapes_summary(df).set_index(["backend", "scenario"])
    assert s.loc[("compile", "shapes"), "sequence_speedup"] == pytest.approx(0.8 / 3.2)
    assert s.loc[("compile", "shapes8"), "sequence_speedup"] == pytest.approx(0.2 / 4.0)
    assert s.loc[("jax_jit", "shapes"), "sequence_speedup"] == pytest.approx(2.0)
    assert math.isnan(s.loc[("compile_dynamic", "shapes8"), "sequence_s"])  # failed
    assert sorted(set(s["distinct_batch_sizes"].dropna())) == [2, 8]
    shown = pivots.shapes_table(df).shown.set_index("backend")
    assert list(shown.index) == ["eager", "compile", "compile_dynamic", "jax_jit"]
    assert shown.loc["compile"].drop(["device", "workload"]).tolist() == [
        "1", "1.50 s", "10.0 MiB", "12.0 MiB", "3.20 s", "800 ms", "0.25x",
        "7", "-", "-", "-", "4.00 s", "200 ms", "0.05x"]
    assert shown.loc["compile_dynamic", "shapes: vs eager"] == "0.80x"
    assert shown.loc["compile_dynamic", "shapes8: recompiles"] == "failed"
    assert shown.loc["eager", "shapes: sequence"] == "800 ms"
    assert "shapes 2, shapes8 8" in pivots.shapes_table(df).note


def test_recompiles_plot_has_points_at_2_and_8(df):
    from matplotlib.figure import Figure

    from reports import plots

    ax = plots.recompiles_vs_shapes(df, Figure().subplots())
    drawn = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
             for line in ax.lines}
    assert drawn["compile"] == ([2, 8], [1, 7])
    assert drawn["compile_dynamic"] == ([2], [0])  # its shapes8 failed: no point


def test_verdict_sentences(df):
    v = verdict.build_verdict(df)
    frame = v.table.tidy
    mlp = _one(frame, device="cpu", workload="mlp", scenario="train")
    assert (mlp["fastest"], mlp["claim"]) == ("compile", verdict.HOLDS)
    assert mlp["fastest_speedup"] == pytest.approx(2.0)
    text = "\n".join(v.cells)
    assert "mlp / train / cpu: the highest speedup among correct backends is compile's, " \
           "2.00x: 5.00 ms per step against 10.0 ms for the eager step timed alongside it; " \
           "its 2.00 s of compilation pays for itself after 400 steps" in text
    assert "Not counted: jit_script mismatch; export_aoti unsupported." in text
    assert "cnn / train / cpu: eager failed" in text
    assert "(with a warm compile cache 500 ms, after 100 steps)" in text
    assert "In JAX, jax_jit runs at 5.00x jax_eager." in text
    assert any("holds in 4 of 4 workload x scenario x device cells (cpu: 3 hold, 0 not, 0 "
               "undecided; cuda: 1 hold" in s for s in v.summary)  # mlp train/infer/debug
    assert "compile 2.00x (1.81-2.21x, n=1)" in " ".join(v.summary)  # cuda: log-symmetric
    assert ("holds (best static graph compile at 2.00x eager, 50% less time per step; its 95% "
            "interval, widened for the best of 2, 1.79x-2.26x, lies wholly above 1.05x)") in text
    warm = ("compile 3.00 s -> 750 ms (75% less) over 2 cases, jax_jit 300 ms -> 100 ms "
            "(67% less) over 1 case.")
    assert any(warm in s for s in v.summary)
    debug = "\n".join(v.debuggability)
    assert ("compile on mlp/cpu takes 1.60x its train step (3.00 ms extra per step) with "
            "2 graph breaks (train: 0) and 1 recompile (train: 0); fullgraph=True says: "
            "Unsupported: Attempted to inline function marked as skipped.") in debug
    assert ("compile on mlp/cpu: shapes (2 distinct batch sizes) 1 recompile, the pass "
            "takes 3.20 s (0.25x eager's 800 ms); shapes8 (8 distinct batch sizes) 7 "
            "recompiles, the pass takes 4.00 s (0.05x eager's 200 ms).") in debug
    assert "compile_dynamic on mlp/cpu: shapes (2 distinct batch sizes) 0 recompiles" in debug
    assert "shapes8 failed." in debug


@pytest.mark.parametrize(("speedup", "claim"), [
    (1.051, verdict.HOLDS), (2.0, verdict.HOLDS), (1.05, verdict.UNDECIDED),
    (1.049, verdict.FAILS), (0.5, verdict.FAILS), (float("nan"), None)])
def test_a_point_is_judged_as_an_interval_of_one_value(speedup, claim):
    assert verdict.judge_claim(speedup) == claim


def test_claim_speedup_shows_the_side_of_the_threshold():
    # 1.0496 rounds to 1.05x, which reads as the margin itself; three decimals show the side
    assert verdict.fmt_claim_speedup(1.0496) == "1.050x"
    assert verdict.fmt_claim_speedup(0.9536) == "0.954x"
    assert verdict._more_or_less(0.9536) == "4.9% more time per step"  # not "5%"
    assert verdict._more_or_less(2.0) == "50% less time per step"
    assert (verdict.fmt_claim_speedup(2.0), verdict.fmt_claim_speedup(0.5)) == ("2.00x", "0.50x")


def test_ci_and_tiny_memory_base(tmp_path):
    r = ("t", "cpu", "w")
    rows = [_row(*r, "infer", "eager", step=0.010, step_ci_low_s=0.0099, step_ci_high_s=0.0103,
                 peak_mem_bytes=4096),
            _row(*r, "infer", "compile", step=0.005, step_ci_low_s=0.004, step_ci_high_s=0.007,
                 peak_mem_bytes=8 * MIB)]
    df = load_runs([write_run(tmp_path / "t", rows)]).results
    shown = tables.timing_table(df).shown.set_index("backend")["95% CI"]
    assert (shown["eager"], shown["compile"]) == ("+-2.0%", "+-30.0%")  # (0.0103-0.0099)/2/0.01
    mem = metrics.memory(df).set_index("backend")["mem_ratio"]
    assert mem.isna().all()  # eager rose 4 KiB: no ratio of 2,048


def test_plot_functions_take_df_and_ax(df):
    from matplotlib.figure import Figure

    from reports import plots

    for fn in (plots.speedup_bars, plots.cumulative_time, plots.compile_vs_speedup,
               plots.recompiles_vs_shapes):
        ax = Figure().subplots()
        assert fn(df, ax) is ax
        assert fn(df.iloc[0:0], Figure().subplots()) is not None  # empty: a note, no crash


@pytest.fixture(scope="module")
def built(runs_dirs, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One real build in a fresh interpreter, which also reports whether torch/jax got in."""
    out = tmp_path_factory.mktemp("out")
    code = ("import sys; from reports.cli import main; rc = main(sys.argv[1:]); "
            "print('IMPORTED', sorted(m for m in ('torch', 'jax') if m in sys.modules)); "
            "print('BENCH', sorted(m for m in sys.modules if m.split('.')[0] == 'bench')); "
            "raise SystemExit(rc)")
    args = [sys.executable, "-c", code, "build", *map(str, runs_dirs), "--out", str(out)]
    return out, subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_reports_never_imports_torch(built):
    _, proc = built
    assert proc.returncode == 0, proc.stderr
    assert "IMPORTED []" in proc.stdout
    # bench.schema and the folder I/O it re-exports (both torch-free), nothing else
    assert "BENCH ['bench', 'bench.folder_io', 'bench.schema']" in proc.stdout


def test_build_writes_every_file(built):
    out, proc = built
    assert proc.returncode == 0, proc.stderr
    for plot in PLOTS:
        assert (out / f"{plot.name}.png").read_bytes().startswith(b"\x89PNG")
        assert "<svg" in (out / f"{plot.name}.svg").read_text()
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    names = ["verdict", "speedup", "speedup_geomean", "step_time", "compile_cost", "shapes",
             "debug", "memory", "bandwidth", "drift", "not_ok", "environment"]  # fmt: skip
    for name in names:
        assert (out / f"{name}.csv").stat().st_size > 0
        assert (out / f"{name}_tidy.csv").stat().st_size > 0
        assert f'id="table-{name}"' in html and f"(`{name}.csv`)" in md
    for plot in PLOTS:
        assert f'<img alt="{plot.name}" src="data:image/png;base64,iVBOR' in html
        assert f"![{plot.name}]({plot.name}.png)" in md
    assert "pays for itself after 400 steps" in html and "<table" in html
    assert "Attempted to inline function marked as skipped" in md  # the ok row's note
    assert "Attempted to inline" not in (out / "not_ok.csv").read_text()
    assert 'src="http' not in html and "<link" not in html  # self-contained


def test_missing_optional_columns_still_build(tmp_path):
    rows = [{"run_id": "r", "workload": "w", "scenario": "train", "backend": b, "device": "cpu",
             "status": "ok", "step_median_s": t} for b, t in (("eager", 0.01), ("compile", 0.02))]
    (tmp_path / "run").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "run" / "results.csv", index=False)  # no meta.json
    files = build_files([str(tmp_path / "run")])
    assert "only eager" not in files["report.md"].decode()
    assert "0.50x" in files["report.md"].decode()


def _bad_folder(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / kind
    if kind == "missing_folder":
        return folder
    rows = _gpu_rows()
    if kind == "missing_results":
        folder.mkdir()
        return folder
    write_run(folder, rows)
    csv = folder / "results.csv"
    if kind == "missing_column":
        pd.read_csv(csv).drop(columns="step_median_s").to_csv(csv, index=False)
    elif kind == "corrupt_csv":
        csv.write_text(csv.read_text() + 'gpu-run,"mlp,train,eager\n')
    elif kind == "not_a_number":
        csv.write_text(csv.read_text().replace("0.002", "fast", 1))
    elif kind == "bad_meta":
        (folder / "meta.json").write_text("{not json")
    return folder


@pytest.mark.parametrize("kind", ["missing_folder", "missing_results", "missing_column",
                                  "corrupt_csv", "not_a_number", "bad_meta"])
def test_bad_input_exits_2_with_one_line(kind, tmp_path, capsys):
    folder = _bad_folder(tmp_path, kind)
    assert main(["build", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(folder) in err, err
    assert not (tmp_path / "out").exists()  # nothing written


def test_cli_exit_status_in_a_real_process(tmp_path):
    folder = _bad_folder(tmp_path, "missing_column")
    proc = subprocess.run([sys.executable, "-m", "reports", "build", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "step_median_s" in proc.stderr


def _edge_frames() -> dict[str, list[dict]]:
    r = ("e", "cpu", "w")
    return {
        "only_shapes": [_row(*r, "shapes", "compile", step=0.1)],
        "only_eager": [_row(*r, "train", "eager", step=0.1)],
        "nothing_ok": [_row(*r, "infer", "eager", "failed"),
                       _row(*r, "infer", "jax_jit", "timeout")],
        "ok_without_time": [_row(*r, "train", "eager"), _row(*r, "train", "compile", step=0.1)],
        "jax_and_unknown": [_row(*r, "train", "eager", step=0.1, first_call_s=0.2),
                            _row(*r, "train", "jax_eager", step=0.3, first_call_s=0.4),
                            _row(*r, "train", "jax_jit", step=0.02, first_call_s=1.5,
                                 compile_s=1.4),
                            _row(*r, "train", "tvm", step=0.05, first_call_s=3.0)],
    }  # fmt: skip


@pytest.mark.parametrize("name", list(_edge_frames()))
def test_edge_cases_never_crash(name, tmp_path):
    df = load_runs([write_run(tmp_path / name, _edge_frames()[name])]).results
    v = verdict.build_verdict(df)
    assert v.summary and all(t.name for t in tables.build_tables(df, [{"run_id": "e"}]))
    for plot in PLOTS:
        assert plot.draw(df).axes
    if name == "jax_and_unknown":
        assert "In JAX, jax_jit runs at 15.00x jax_eager." in v.cells[0]
        assert "tvm" in pivots.speedup_table(df).shown.columns


def test_people_units():
    from reports.units import fmt_gflops, fmt_mib, fmt_speedup, fmt_steps, fmt_time

    assert [fmt_time(x) for x in (0.010, 812e-6, 2.5, 0.00099996, float("nan"))] == \
        ["10.0 ms", "812 us", "2.50 s", "1.00 ms", "-"]
    assert (fmt_steps(400.0), fmt_steps(math.inf), fmt_steps(333.3)) == ("400", "never", "334")
    assert (fmt_speedup(2), fmt_mib(50 * MIB), fmt_gflops(1.5e10)) == \
        ("2.00x", "50.0 MiB", "15.0 GFLOP/s")
