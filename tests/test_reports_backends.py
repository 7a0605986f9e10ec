"""reports/ takes backends and scenarios from data: backend order, colour and framework from the
runs' meta.json records, scenario questions from ``bench.schema.SCENARIOS``; tables are
declared once. Literal results folders, no torch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from bench.schema import SCENARIOS, BackendInfo, Scenario
from reports import backends, metrics, pivots, tables, verdict
from reports.cli import main
from reports.load import load_runs
from reports.plots import PLOTS
from tests.test_reports import REGISTRY, _row, write_run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "reports" / "examples" / "cpu-quick" / "run"


def _meta(run_id: str, infos: list[BackendInfo]) -> dict:
    return {"run_id": run_id, "backends": [info.to_json() for info in infos]}


def _train_rows(run_id: str, steps: dict[str, float]) -> list[dict]:
    """One train row per backend, its step ``t`` with a 95% interval of +-1%."""
    return [_row(run_id, "cpu", "w", "train", b, step=t, first_call_s=t, compile_s=0.1,
                 step_ci_low_s=0.99 * t, step_ci_high_s=1.01 * t) for b, t in steps.items()]


def test_order_is_the_registry_then_first_appearance(tmp_path):
    infos = [BackendInfo("eager", "torch", False, True), BackendInfo("zeta", "torch", True),
             BackendInfo("alpha", "torch", True)]
    rows = _train_rows("o", {"tvm": 0.02, "alpha": 0.01, "abc": 0.03, "eager": 0.02,
                             "zeta": 0.01})
    df = load_runs([write_run(tmp_path / "o", rows, _meta("o", infos))]).results
    assert backends.order(df) == ["eager", "zeta", "alpha", "tvm", "abc"]
    shown = pivots.speedup_table(df).shown
    assert list(shown.columns) == ["device", "workload", "scenario", "eager", "zeta", "alpha",
                                   "tvm", "abc"]


def test_registries_of_several_runs_merge_in_order():
    old = _meta("a", [BackendInfo("eager", "torch", False, True),
                      BackendInfo("compile", "torch", True), BackendInfo("jax_jit", "jax", True)])
    new = _meta("b", [BackendInfo("eager", "torch", False, True),
                      BackendInfo("compile", "torch", True),
                      BackendInfo("compile_static", "torch", True),
                      BackendInfo("jax_jit", "jax", True)])
    names = [info.name for info in backends.described([old, new, {"run_id": "no records"}])]
    assert names == ["eager", "compile", "compile_static", "jax_jit"]


def test_every_backend_of_the_example_run_has_its_own_colour():
    df = load_runs([EXAMPLE]).results
    assert backends.order(df) == [info.name for info in REGISTRY]  # the run's registry
    colors = backends.colors(df)
    assert len(set(colors.values())) == len(colors) == len(REGISTRY)
    assert colors["compile_static"] != colors["jax_eager"]  # they shared one before
    assert colors["eager"] == "black"
    ax = next(p for p in PLOTS if p.name == "speedup").draw(df).axes[0]
    drawn = {bars.get_label(): bars.patches[0].get_facecolor() for bars in ax.containers}
    assert ax.collections  # the bars' intervals, drawn as lines, not as containers
    assert drawn and {b: to_rgba(colors[b]) for b in drawn} == drawn


def test_framework_comes_from_the_records_not_the_name(tmp_path):
    # "jax_fast" is a PyTorch graph and "graph_ish" a JAX backend: the names would mislead.
    infos = [BackendInfo("eager", "torch", False, True), BackendInfo("jax_fast", "torch", True),
             BackendInfo("graph_ish", "jax", True)]
    rows = _train_rows("f", {"eager": 0.010, "jax_fast": 0.008, "graph_ish": 0.001})
    df = load_runs([write_run(tmp_path / "f", rows, _meta("f", infos))]).results
    cell = verdict.verdict_frame(df).iloc[0]
    assert (cell["fastest"], cell["best_static"], cell["n_static"]) == ("graph_ish", "jax_fast", 1)
    assert cell["claim"] == verdict.HOLDS  # 1.25x (1.24x-1.26x), the only candidate
    assert list(backends.static(df)) == [False, True, False]


def test_undescribed_backends_are_never_static(tmp_path):
    rows = _train_rows("u", {"eager": 0.010, "compile": 0.005})
    df = load_runs([write_run(tmp_path / "u", rows, {"run_id": "u"})]).results  # older run
    assert not backends.static(df).any()
    assert "cannot be judged" in " ".join(verdict.build_verdict(df).cells)


def test_bad_backend_records_exit_2(tmp_path, capsys):
    rows = _train_rows("b", {"eager": 0.01})
    folder = write_run(tmp_path / "b", rows, {"run_id": "b", "backends": [{"name": "eager"}]})
    assert main(["build", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "backends" in err and str(folder) in err


def test_a_new_shape_scenario_is_read_from_the_registry(tmp_path, monkeypatch):
    monkeypatch.setitem(SCENARIOS, "shapes4", Scenario(
        "shapes4", "train", "four sizes", batch_sizes=(8, 16, 24, 32)))
    rows = [_row("s", "cpu", "w", "shapes4", b, step=0.001, sequence_s=t, recompiles=r,
                 distinct_batch_sizes=4) for b, t, r in (("eager", 0.4, 0), ("compile", 0.2, 3))]
    rows += _train_rows("s", {"eager": 0.01, "compile": 0.005})
    df = load_runs([write_run(tmp_path / "s", rows)]).results
    assert set(metrics.cases(df)["scenario"]) == {"train"}  # a shape case is no steady state
    shown = pivots.shapes_table(df).shown.set_index("backend")
    assert (shown.loc["compile", "shapes4: recompiles"], shown.loc["compile",
            "shapes4: vs eager"]) == ("3", "2.00x")


def test_a_printing_scenario_pairs_with_its_plain_twin(tmp_path, monkeypatch):
    monkeypatch.setitem(SCENARIOS, "infer_print", Scenario(
        "infer_print", "infer", "the infer step printing", prints=True))
    assert metrics.print_twins() == {"debug": "train", "infer_print": "infer"}
    assert metrics.plain_train_scenarios() == ["train"]
    rows = [_row("p", "cpu", "w", sc, "compile", step=t, graph_breaks=g)
            for sc, t, g in (("infer", 0.002, 0), ("infer_print", 0.003, 1))]
    df = load_runs([write_run(tmp_path / "p", rows)]).results
    d = metrics.debug_costs(df).iloc[0]
    assert (d["scenario"], d["train_graph_breaks"]) == ("infer_print", 0)
    assert d["debug_cost_ratio"] == pytest.approx(1.5)


@pytest.mark.parametrize(("table", "columns"), [
    (tables.STEP_TIME, ["batch_size", "step_median_s", "step_iqr_s", "step_ci_low_s",
                        "step_ci_high_s", "samples_per_s", "achieved_flops_per_s",
                        "settled_after"]),
    (tables.COMPILE_COST, ["compile_s", "compile_warm_s", "first_call_s", "step_median_s",
                           "eager_step_median_s", "break_even_steps", "break_even_warm_steps",
                           "compile_phases"]),
    (tables.DEBUG, ["graph_breaks", "train_graph_breaks", "recompiles", "train_recompiles",
                    "step_median_s", "train_status", "train_step_median_s", "debug_cost_ratio",
                    "debug_extra_s", "fullgraph_note"]),
    (tables.MEMORY, ["peak_mem_bytes", "mem_ratio"]),
    (tables.BANDWIDTH, ["step_median_s", "bytes_per_step", "achieved_bytes_per_s",
                        "copy_bytes_per_s", "peak_flops_per_s", "bandwidth_fraction",
                        "roofline_fraction"]),
])  # fmt: skip
def test_tidy_frame_comes_from_the_declaration(table, columns):
    """The tidy CSV's columns: the case index, backend, status, then each declared column."""
    rows = pd.DataFrame([{c: 1.0 for c in columns} | {
        "device": "cpu", "workload": "w", "scenario": "train", "run_id": "r", "backend": "b",
        "status": "failed"}])
    built = table.build(rows)
    index = ["device", "workload", *(["scenario"] if table.scenario else []), "backend",
             "status"]
    assert list(built.tidy.columns) == index + columns
    shown = [h for h, (_, fmt) in table.columns.items() if fmt is not None]
    assert list(built.shown.columns) == index + shown
    cell = "failed" if table.status_cells else "-"  # a failed case shows no number
    assert set(built.shown.iloc[0][shown]) == {cell}
