"""Intervals everywhere, verdicts from intervals: the recorded per-round speedup and its interval
(a run without them falls back to the window's), the geometric mean's interval, the verdict
rule at its edges, the Bonferroni widening for picking the best of k static backends, and the
intervals in the tables and the speedup plot. Literal numbers, no torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from reports import claim, metrics, pivots, plots, verdict
from reports.load import load_runs
from reports.units import fmt_geomean, fmt_speedup_ci
from tests.test_reports import _row, write_run


def _rows() -> list[dict]:
    """w/train, 3 rounds: compile recorded 1.2x (1.1x-1.309x: symmetric in log space), though
    its window would say 0.010 / 0.005 = 2x; jit_trace recorded 0.9x (0.85x-0.953x). w/infer,
    an older row without the columns: compile 0.004 / 0.002 = 2x, its step's interval
    1.6-2.5 ms -> 1.6x-2.5x."""
    r = ("iv", "cpu", "w")
    return [
        _row(*r, "train", "eager", step=0.010, eager_step_median_s=0.010),
        _row(*r, "train", "compile", step=0.005, eager_step_median_s=0.010,
             step_ci_low_s=0.0049, step_ci_high_s=0.0051, speedup=1.2, speedup_ci_low=1.1,
             speedup_ci_high=1.2**2 / 1.1, rounds=3),
        _row(*r, "train", "jit_trace", step=0.011, eager_step_median_s=0.010, speedup=0.9,
             speedup_ci_low=0.85, speedup_ci_high=0.9**2 / 0.85, rounds=3),
        _row(*r, "infer", "eager", step=0.004),
        _row(*r, "infer", "compile", step=0.002, eager_step_median_s=0.004,
             step_ci_low_s=0.0016, step_ci_high_s=0.0025),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def df(tmp_path_factory):
    return load_runs([write_run(tmp_path_factory.mktemp("iv") / "iv", _rows())]).results


def test_recorded_speedups_are_used_and_old_rows_fall_back(df):
    s = metrics.speedups(df).set_index(["scenario", "backend"])
    recorded = s.loc[("train", "compile")]
    assert (recorded["speedup"], recorded["speedup_ci_low"], recorded["speedup_ci_high"]) == (
        1.2, 1.1, pytest.approx(1.3090909))  # not the window's 2x
    old = s.loc[("infer", "compile")]
    assert old["speedup"] == pytest.approx(2.0)
    assert (old["speedup_ci_low"], old["speedup_ci_high"]) == (pytest.approx(0.004 / 0.0025),
                                                               pytest.approx(0.004 / 0.0016))


def test_a_failed_row_never_shows_its_recorded_speedup(tmp_path):
    rows = [_row("f", "cpu", "w", "train", "eager", "failed"),
            _row("f", "cpu", "w", "train", "compile", step=0.005, speedup=3.0,
                 speedup_ci_low=2.0, speedup_ci_high=4.5, rounds=3)]
    s = metrics.speedups(load_runs([write_run(tmp_path / "f", rows)]).results)
    assert s[["speedup", "speedup_ci_low", "speedup_ci_high"]].isna().all().all()


def test_geomean_interval_of_two_cells_by_hand(tmp_path):
    # 2.0x (1.6-2.5) and 0.5x (0.4-0.625): both log half-widths are log 1.25; the mean of the
    # logs is 0, its half-width sqrt(2 * log(1.25)^2) / 2 = log(1.25) / sqrt(2) = 0.15779.
    rows = [_row("g", "cpu", w, "train", b, step=0.01, speedup=s, speedup_ci_low=lo,
                 speedup_ci_high=hi, rounds=5)
            for w, b, s, lo, hi in (("a", "eager", math.nan, math.nan, math.nan),
                                    ("a", "compile", 2.0, 1.6, 2.5),
                                    ("b", "eager", math.nan, math.nan, math.nan),
                                    ("b", "compile", 0.5, 0.4, 0.625))]
    df = load_runs([write_run(tmp_path / "g", rows)]).results
    g = metrics.geomean_speedups(df).set_index(["device", "backend"]).loc[("cpu", "compile")]
    assert (g["geomean_speedup"], g["n"]) == (pytest.approx(1.0), 2)
    assert g["geomean_ci_low"] == pytest.approx(math.exp(-0.15778632))  # 0.85403
    assert g["geomean_ci_high"] == pytest.approx(1.17091596)
    geo = pivots.geomean_table(df).shown.set_index("device")
    assert geo.loc["cpu", "compile"] == "1.00x (0.85-1.17x, n=2)"


def test_a_geomean_over_a_case_without_interval_has_none(df):
    g = metrics.geomean_speedups(df).set_index("backend")
    assert math.isnan(g.loc["eager", "geomean_ci_low"])  # the eager rows have no step CI
    assert g.loc["compile", "geomean_speedup"] == pytest.approx(math.sqrt(1.2 * 2.0))
    assert not math.isnan(g.loc["compile", "geomean_ci_low"])


@pytest.mark.parametrize(("low", "high", "disturbed", "expected"), [
    (1.051, 1.3, 0, claim.HOLDS),  # wholly above 1.05
    (0.9, 1.049, 0, claim.FAILS),  # wholly below 1.05: not faster by the margin
    (0.5, 0.8, 0, claim.FAILS),  # slower
    (1.0, 1.1, 0, claim.UNDECIDED),  # straddles
    (1.05, 1.3, 0, claim.UNDECIDED),  # touching 1.05 is not above it
    (0.9, 1.05, 0, claim.UNDECIDED),
    (1.051, 1.3, 1, claim.DISTURBED),
    (math.nan, math.nan, 0, None), (1.2, math.nan, 1, None),  # no interval: cannot judge
])  # fmt: skip
def test_verdict_rule_at_its_edges(low, high, disturbed, expected):
    assert claim.judge_claim(low, high, disturbed) == expected


def test_bonferroni_widening_by_hand():
    # rounds 3 (t, 2 degrees of freedom): t(1 - 0.025/8) / t(0.975) = 12.5897 / 4.3027 = 2.92604
    lo, hi = claim.bonferroni_interval(1.2, 1.1, 1.2**2 / 1.1, k=8, rounds=3)
    assert (lo, hi) == (pytest.approx(0.93027285), pytest.approx(1.54793295))
    assert math.log(hi / 1.2) == pytest.approx(2.92604153 * math.log(1.2 / 1.1))
    assert claim.bonferroni_interval(1.2, 1.1, 1.2**2 / 1.1, k=1, rounds=3) == (
        1.1, pytest.approx(1.2**2 / 1.1))  # one candidate: unchanged
    # one round or none recorded: normal quantiles, z(1 - 0.025/2) / z(0.975) = 1.14359
    lo, hi = claim.bonferroni_interval(2.4, 2.0, 3.0, k=2, rounds=math.nan)
    assert (lo, hi) == (pytest.approx(1.94831896), pytest.approx(3.09768273))
    assert claim.bonferroni_interval(2.4, 2.0, 3.0, k=2, rounds=1) == (lo, hi)
    assert all(math.isnan(v) for v in claim.bonferroni_interval(2.4, math.nan, 3.0, k=2))


def test_the_verdict_judges_the_widened_interval(df):
    frame = verdict.verdict_frame(df).set_index("scenario")
    train = frame.loc["train"]  # compile picked from k = 2 (compile, jit_trace), 3 rounds
    f = 6.20534682 / 4.30265273  # t(1 - 0.025/2, 2) / t(0.975, 2) = 1.44221
    assert (train["best_static"], train["k_static"]) == ("compile", 2)
    assert train["best_static_adjusted_low"] == pytest.approx(1.2 * (1.1 / 1.2) ** f)  # 1.0585
    assert train["claim"] == claim.HOLDS  # still above 1.05 after the widening
    infer = frame.loc["infer"]  # 1.6x-2.5x, the only candidate
    assert (infer["k_static"], infer["claim"]) == (1, claim.HOLDS)
    assert infer["best_static_adjusted_low"] == pytest.approx(1.6)
    shown = verdict.build_verdict(df).table.shown.set_index("scenario")
    assert shown.loc["train", claim.INTERVAL] == "1.058x-1.360x"
    assert (shown.loc["train", "k"], shown.loc["infer", "k"]) == ("2", "1")
    assert shown.loc["infer", "fastest of all"] == "compile 2.00x (1.60-2.50)"
    assert "k=" not in claim.INTERVAL and "Bonferroni" in claim.NOTE and "5%" in claim.NOTE


def test_every_speedup_shows_its_interval(df):
    shown = pivots.speedup_table(df).shown.set_index("scenario")
    assert shown.loc["train", "compile"] == "1.20x (1.10-1.31)"
    assert shown.loc["infer", "compile"] == "2.00x (1.60-2.50)"
    assert fmt_speedup_ci(2.0, math.nan, 3.0) == "2.00x"  # no interval: the speedup alone
    assert fmt_geomean(1.23, 1.1, 1.38, 9) == "1.23x (1.10-1.38x, n=9)"
    assert fmt_geomean(1.23, math.nan, math.nan, 9) == "1.23x (n=9)"


def test_the_speedup_bars_carry_their_intervals(df):
    ax = plots.speedup_bars(df, Figure().subplots())
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    ends = sorted((round(float(s[0][1]), 4), round(float(s[1][1]), 4)) for s in segments)
    assert ends == [(0.85, 0.9529), (1.1, 1.3091), (1.6, 2.5)]
    assert ax.get_ylim()[1] == pytest.approx(2.5 * 1.5)  # the interval's end fits
    assert all(c.patches for c in ax.containers)  # only bar containers: colours stay testable
    assert np.isclose(sorted(p.get_height() + 1.0 for c in ax.containers for p in c.patches),
                      [0.9, 1.2, 2.0]).all()
