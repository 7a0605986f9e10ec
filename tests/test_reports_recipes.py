"""The report's "PyTorch training recipes": the fastest recipe per training cell, whether it
is clear of the runner-up, and compiled against the best eager code (eager_fused)."""

from __future__ import annotations

from bench.schema import BackendInfo
from reports import recipes
from reports.load import load_runs
from tests.test_reports import _row, write_run

INFOS = [BackendInfo("eager", "torch", False, True), BackendInfo("eager_fused", "torch", False),
         BackendInfo("compile", "torch", True), BackendInfo("compile_module", "torch", True),
         BackendInfo("jax_eager", "jax", False, True), BackendInfo("jax_jit", "jax", True)]


def _train(workload: str, speedups: dict[str, tuple[float, float, float]]) -> list[dict]:
    """A train row per backend with its recorded speedup and interval (eager's step 10 ms)."""
    rows = [_row("r", "cpu", workload, "train", "eager", step=0.01, eager_step_median_s=0.01)]
    for b, (s, lo, hi) in speedups.items():
        rows.append(_row("r", "cpu", workload, "train", b, step=0.01 / s,
                         eager_step_median_s=0.01, speedup=s, speedup_ci_low=lo,
                         speedup_ci_high=hi, rounds=3))
    return rows


def _frame(tmp_path, rows):
    meta = {"run_id": "r", "backends": [i.to_json() for i in INFOS]}
    df = load_runs([write_run(tmp_path / "r", rows, meta)]).results
    return recipes.recipe_frame(df)


def test_the_fastest_recipe_is_named_with_its_runner_up_and_the_best_eager(tmp_path):
    rows = _train("adam", {"eager_fused": (1.5, 1.4, 1.6), "compile": (1.8, 1.7, 1.9),
                           "compile_module": (1.2, 1.1, 1.3), "jax_jit": (3.0, 2.9, 3.1)})
    rows += _train("sgd", {"compile": (1.05, 0.9, 1.2), "compile_module": (0.8, 0.75, 0.85)})
    frame = _frame(tmp_path, rows).set_index("workload")
    adam, sgd = frame.loc["adam"], frame.loc["sgd"]
    assert (adam["fastest"], adam["runner_up"], bool(adam["clear"])) == (
        "compile", "eager_fused", True)  # jax_jit is not a PyTorch recipe
    assert adam["compiled_over_dynamic"] == 1.8 / 1.5
    assert (sgd["fastest"], sgd["runner_up"], bool(sgd["clear"])) == ("compile", "eager", False)
    text = recipes.recipe_sentences(frame.reset_index())
    assert text[0].startswith("adam on cpu: the fastest PyTorch training recipe is compile at "
                              "1.80x (1.70-1.90) eager's speed, clear of eager_fused (1.50x); "
                              "the best compiled recipe (compile) runs at 1.20x the best eager "
                              "one (eager_fused) (4 recipes timed).")
    assert "its interval overlapping eager (1.00x)" in text[1]


def test_eager_fastest_says_how_far_the_next_one_is(tmp_path):
    frame = _frame(tmp_path, _train("mlp", {"compile": (0.7, 0.6, 0.8)}))
    [text] = recipes.recipe_sentences(frame)
    assert "is eager itself (the notes' code); the next, compile at 0.70x, has its interval " \
           "below 1 (clearly slower)" in text
    shown = recipes.recipe_table(frame).shown
    assert (shown.loc[0, "clear of it"], shown.loc[0, "speedup (95% interval)"]) == (
        "yes", "1.00x (the baseline)")
