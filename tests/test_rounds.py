"""Independent rounds (``bench.rounds``, ``bench.matrix``): the interval from the rounds, its
coverage on simulated reruns, the shuffled orders, the case row rebuilt from its rounds, and a
matrix run round by round that resumes each case-round once."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bench.case import Case, RunConfig
from bench.matrix import LATER_ROUND_COST, Eta, run_matrix
from bench.profiles import PROFILES
from bench.results import ResultsWriter
from bench.rounds import aggregate, round_order, round_records, t_interval_of_logs
from bench.runner import case_row


def test_the_t_interval_of_three_ratios_by_hand():
    # logs 0, 0.09531, 0.18232: mean 0.092543, sd 0.091194, t(0.975, 2) = 4.302653
    point, low, high = t_interval_of_logs([1.0, 1.1, 1.2])
    half = 4.302653 * 0.091194 / math.sqrt(3)
    assert point == pytest.approx(math.exp(0.092543), rel=1e-5)
    assert low == pytest.approx(math.exp(0.092543 - half), rel=1e-4)  # 0.8746
    assert high == pytest.approx(math.exp(0.092543 + half), rel=1e-4)  # 1.3759
    assert t_interval_of_logs([2.0])[0] == 2.0 and math.isnan(t_interval_of_logs([2.0])[1])
    with pytest.raises(ValueError, match="finite and positive"):
        t_interval_of_logs([1.0, 0.0])


def test_a_rerun_lands_inside_the_interval_about_as_often_as_it_says():
    """Simulated runs of 3 rounds whose log speedup varies by 5% between rounds: a second
    run's speedup lies in the first run's 95% interval in about 9 of 10 pairs (the
    difference of two means is wider than one mean's spread), its true value in 95%."""
    rng = np.random.default_rng(0)
    runs = np.exp(np.log(1.3) + 0.05 * rng.standard_normal((4000, 2, 3)))
    first = [t_interval_of_logs(r[0]) for r in runs]
    second = [t_interval_of_logs(r[1])[0] for r in runs]
    rerun = np.mean([lo <= s <= hi for (_, lo, hi), s in zip(first, second, strict=True)])
    truth = np.mean([lo <= 1.3 <= hi for _, lo, hi in first])
    assert 0.94 <= truth <= 0.96
    assert 0.88 <= rerun <= 0.93  # 0.9085 with this seed


def test_each_round_has_its_own_reproducible_shuffle():
    cases = list(range(20))
    assert round_order(cases, 7, 1) == round_order(cases, 7, 1)  # a resume sees the same
    assert round_order(cases, 7, 1) != round_order(cases, 7, 2)
    assert sorted(round_order(cases, 7, 2)) == cases


def _timed(case: Case, median: float, eager: float) -> dict:
    row = case_row(case, "r", status="ok", step_median_s=median, step_ci_low_s=median * 0.99,
                   step_ci_high_s=median * 1.01, step_iqr_s=0.01, repeats=5,
                   eager_step_median_s=eager, first_call_s=2.0, compile_s=1.9,
                   batch_size=64, flops_per_step=1e9, steady_wall_s=1.0, disturbed=0,
                   other_cpu_cores=0.01, steal_fraction=0.0, case_wall_s=3.0)
    row["_eager_stats"] = (eager, eager * 0.99, eager * 1.01, 0.01, 5)
    return row


def test_the_case_row_comes_from_its_rounds():
    case = Case("manual_mlp", "train", "compile", "cpu")
    pairs = [(0.5, 1.0), (0.55, 1.1), (0.5, 1.2)]  # (step, eager): speedups 2.0, 2.0, 2.4
    log = pd.DataFrame([rec for r, (m, e) in enumerate(pairs, 1)
                        for rec in round_records(_timed(case, m, e), r, r)])
    row = aggregate(_timed(case, *pairs[0]), log)
    assert row["rounds"] == 3 and row["repeats"] == 15 and row["case_wall_s"] == 9.0
    assert row["speedup"] == pytest.approx((2.0 * 2.0 * 2.4) ** (1 / 3))
    assert row["speedup_ci_low"] < row["speedup"] < row["speedup_ci_high"]
    assert row["step_median_s"] == pytest.approx((0.5 * 0.55 * 0.5) ** (1 / 3))
    assert row["eager_step_median_s"] == pytest.approx((1.0 * 1.1 * 1.2) ** (1 / 3))
    assert row["achieved_flops_per_s"] == pytest.approx(1e9 / row["step_median_s"])
    assert row["step_ci_low_s"] <= row["step_median_s"] <= row["step_ci_high_s"]
    one = aggregate(_timed(case, 0.5, 1.0), log[log["round"] == 1])  # one round: the window's
    assert one["speedup"] == pytest.approx(2.0)
    assert (one["speedup_ci_low"], one["speedup_ci_high"]) == pytest.approx((1.0 / 0.505,
                                                                             1.0 / 0.495))


def test_the_matrix_runs_round_by_round_and_a_resume_measures_each_case_round_once(tmp_path):
    cases = [Case("manual_mlp", s, b, "cpu") for s in ("train", "infer", "shapes")
             for b in ("eager", "compile")]
    ran: list[tuple[int, str]] = []

    def execute(case, cfg):
        ran.append((cfg.round, case.label))
        if len(ran) == 8:
            raise KeyboardInterrupt  # mid round 2
        return _timed(case, 0.5, 1.0 if case.backend != "eager" else 0.5), []

    cfg = RunConfig("r", replace(PROFILES["quick"], rounds=3), 1)
    with pytest.raises(KeyboardInterrupt), ResultsWriter(tmp_path) as writer:
        run_matrix(cases, cfg, writer, {"warnings": [], "round_seed": 3}, execute=execute)
    assert [r for r, _ in ran[:6]] == [1] * 6  # round 1 is whole before round 2 starts
    with ResultsWriter(tmp_path, resume=True) as writer:
        rows = run_matrix(cases, cfg, writer, {"warnings": [], "round_seed": 3},
                          execute=execute)
    by_round = pd.Series([r for r, _ in ran]).value_counts().sort_index().to_list()
    assert by_round == [6, 5, 4]  # shapes: one pass; the interrupted round-2 case again
    assert len(set(ran)) == 14 and len(rows) == 6
    assert [(r["scenario"], r["backend"]) for r in rows] == [  # the matrix's order
        (c.scenario, c.backend) for c in cases]
    log = pd.read_csv(tmp_path / "rounds.csv")
    assert len(log.groupby(["round", "scenario", "backend"])) == 4 + 4 + 4
    assert {r["rounds"] for r in rows if r["scenario"] != "shapes"} == {3}


def test_the_eta_counts_later_rounds_at_what_they_have_cost():
    a, b = Case("manual_mlp", "train", "compile", "cpu"), Case("mnist_cnn", "train", "compile",
                                                               "cpu")
    eta = Eta()
    eta.seen(a, 1, 10.0)
    eta.seen(b, 1, 30.0)
    todo = [(2, a), (2, b), (1, Case("tensor_ops", "infer", "eager", "cpu"))]
    assert eta.left(todo) == pytest.approx(40.0 * LATER_ROUND_COST + 20.0)  # unseen: the mean
    eta.seen(a, 2, 2.5)  # a later round cost a quarter of the first
    assert eta.left(todo[1:]) == pytest.approx(30.0 * 0.25 + 20.0)
