"""The report's first screen and its plots, without a browser: the verdict table that opens the
page (its numbers by hand, its coloured cells, before the sentences), the speedup plot without
empty groups, the cumulative-time plot crossing eager where the break-even table says, its
labels apart, the recompiles plot naming the command that feeds it, and the committed
screenshot of the example report's first screen. Literal results folders, no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from PIL import Image

from bench.schema import SCENARIOS
from reports import metrics, plots, tables, verdict
from reports.cli import build_files
from reports.layout import text_extent
from reports.load import load_runs
from reports.render import VERDICT_COLOURS, VIEWPORT
from tests.test_reports import REGISTRY, _row, write_run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "reports" / "examples" / "cpu-quick"
SHOWN = ["device", "workload", "scenario", "verdict", "best static", "vs eager",
         "interval (95%, k adjusted)", "k", "eager step", "break-even steps",
         "fastest of all"]  # fmt: skip


def _rows() -> list[dict]:
    """mlp/train: compile 2.4x its eager twin (12 ms, while eager's own row read 10 ms: the
    machine drifted), its step's 95% interval 4-6 ms; jit_trace slower. mlp/infer: compile
    1.02x, its interval straddling 1.05x (undecided). w2/train: nothing can run it (every
    case unsupported)."""
    r = ("s", "cpu")
    return [
        _row(*r, "mlp", "train", "eager", step=0.010, first_call_s=0.030,
             eager_step_median_s=0.010),
        _row(*r, "mlp", "train", "compile", step=0.005, eager_step_median_s=0.012,
             step_ci_low_s=0.004, step_ci_high_s=0.006, compile_s=1.4, first_call_s=1.405),
        _row(*r, "mlp", "train", "jit_trace", step=0.011, eager_step_median_s=0.010,
             compile_s=0.01, first_call_s=0.021),
        _row(*r, "mlp", "infer", "eager", step=0.004, first_call_s=0.005),
        _row(*r, "mlp", "infer", "compile", step=0.004, eager_step_median_s=0.00408,
             step_ci_low_s=0.0038, step_ci_high_s=0.0041, compile_s=1.0, first_call_s=1.004),
        *(_row(*r, "w2", "train", b, "unsupported", error="no train step")
          for b in ("eager", "compile")),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("screen") / "s", _rows())


@pytest.fixture(scope="module")
def df(run):
    return load_runs([run]).results


def test_speedup_interval_by_hand(df):
    s = metrics.speedups(df).set_index(["workload", "scenario", "backend"])
    row = s.loc[("mlp", "train", "compile")]
    assert row["speedup"] == pytest.approx(0.012 / 0.005)
    assert (row["speedup_ci_low"], row["speedup_ci_high"]) == (pytest.approx(0.012 / 0.006),
                                                               pytest.approx(0.012 / 0.004))


def test_verdict_table_numbers(df):
    table = verdict.build_verdict(df).table
    assert list(table.shown.columns) == SHOWN
    shown = table.shown.set_index(["workload", "scenario"])
    # compile picked from k = 2 (compile, jit_trace); no rounds: normal quantiles, the window's
    # 2.00x-3.00x widened by z(1 - 0.025/2) / z(0.975) = 1.14359 in log space around 2.4x
    assert shown.loc[("mlp", "train")].tolist() == [
        "cpu", "holds", "compile", "2.40x", "1.95x-3.10x", "2", "12.0 ms", "200",
        "compile 2.40x (2.00-3.00)"]
    infer = shown.loc[("mlp", "infer")]  # 1.02x: three decimals on both ends near 1; k = 1
    assert (infer["verdict"], infer["vs eager"], infer["interval (95%, k adjusted)"]) == (
        "undecided", "1.020x", "0.995x-1.074x")
    assert shown.loc[("w2", "train")].tolist() == ["cpu", "cannot judge", *["-"] * 7]


def test_the_page_opens_on_the_coloured_verdict_table(run):
    files = build_files([str(run)])
    page, md = files["report.html"].decode(), files["report.md"].decode()
    assert '<td class="holds">holds</td>' in page
    assert '<td class="tie">undecided</td>' in page
    assert '<td class="none">cannot judge</td>' in page
    assert page.index('id="table-verdict"') < page.index("<li>The claim") < page.index(
        "Per case") < page.index('id="plot-speedup"') < page.index('id="table-speedup"')
    assert f"td.holds {{ background: {VERDICT_COLOURS['holds']}; }}" in page
    for name in ("verdict", "speedup", "compile_cost", "environment"):  # the contents line
        assert f'<a href="#table-{name}">' in page
    assert md.index("| device | workload | scenario | verdict |") < md.index("- The claim")


def test_the_speedup_plot_has_no_empty_group(df):
    ax = plots.speedup_bars(df, Figure().subplots())
    groups = [t.get_text() for t in ax.get_xticklabels()]
    assert groups == ["mlp\ntrain", "mlp\ninfer"]  # no slot for w2/train
    assert ax.get_xlim() == (-0.5, 1.5)
    assert "no valid case at all: w2/train" in ax.get_xlabel()
    assert "1 unsupported" in ax.get_xlabel()  # compile's; eager is the baseline


def _drawn(fig: Figure):
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_cumulative_time_crosses_eager_at_the_tables_break_even(df):
    be = tables.compile_table(df).shown.set_index(["workload", "scenario", "backend"])
    assert be.loc[("mlp", "train", "compile"), "break-even steps"] == "200"  # 1.4 / 0.007
    ax = plots.cumulative_time(df, Figure().subplots())
    labels = {a.get_text(): a.xy for a in ax.texts if isinstance(a, Annotation)}
    assert labels == {"200": (pytest.approx(200.0), pytest.approx(200 * 0.010))}
    lines = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    n = lines["eager"].get_xdata()
    gap = lines["compile"].get_ydata() - lines["eager"].get_ydata()  # > 0 until it pays off
    first_below = n[(gap < 0).argmax()]
    assert n[(gap < 0).argmax() - 1] < 200 <= first_below < 200 * 1.1
    assert lines["eager"].get_ydata()[0] == pytest.approx(0.010)  # n steps of eager's row
    # compile's times on the eager row's scale: its twin read 12 ms, the row 10 ms
    assert lines["compile"].get_ydata()[0] == pytest.approx(1.405 * 0.010 / 0.012)


def _overlaps(fig: Figure) -> list[str]:
    """Pairs of crossing labels of ``fig`` whose texts overlap once drawn, and labels that
    leave their Axes."""
    renderer, found = _drawn(fig), []
    for ax in fig.axes:  # a hidden panel has no labels
        frame = ax.get_window_extent(renderer)
        boxes = [(a.get_text(), text_extent(a, renderer)) for a in ax.texts
                 if isinstance(a, Annotation)]
        found += [f"{t} outside" for t, b in boxes if not frame.contains(b.x0, b.y0)
                  or not frame.contains(b.x1, b.y1)]
        found += [f"{t1} / {t2}" for i, (t1, b1) in enumerate(boxes)
                  for t2, b2 in boxes[i + 1:] if b1.overlaps(b2)]
    return found


def test_crossing_labels_do_not_overlap(tmp_path):
    # eight compiled backends that all pay off between 200 and 214 steps: one pile of dots
    names = [info.name for info in REGISTRY if info.compiles and info.framework == "torch"]
    rows = [_row("p", "cpu", "w", "train", "eager", step=0.010, first_call_s=0.010)]
    rows += [_row("p", "cpu", "w", "train", b, step=0.005, compile_s=1.0 + i * 0.01,
                  first_call_s=1.005 + i * 0.01) for i, b in enumerate(names)]
    df = load_runs([write_run(tmp_path / "p", rows)]).results
    fig = next(p for p in plots.PLOTS if p.name == "cumulative_time").draw(df)
    assert len([a for a in fig.axes[0].texts if isinstance(a, Annotation)]) == len(names) == 8
    assert _overlaps(fig) == []


@pytest.fixture(scope="module")
def example():
    """The example run's results and its cumulative-time figure."""
    df = load_runs([EXAMPLE / "run"]).results
    return df, next(p for p in plots.PLOTS if p.name == "cumulative_time").draw(df)


def test_example_crossings_are_the_tables_break_even(example):
    df, fig = example
    shown = tables.compile_table(df).shown
    train = shown[shown["scenario"] == "train"]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 5  # every trained workload but tensor_ops (unsupported)
    for ax in panels:
        device, workload = ax.get_title().split(" / ")
        steps = train.loc[(train["device"] == device) & (train["workload"] == workload),
                          "break-even steps"]
        labels = sorted(a.get_text() for a in ax.texts if isinstance(a, Annotation))
        assert labels == sorted(s for s in steps if s not in ("-", "never")), workload
    cnn = panels[4]  # compile pays off after 125 steps in both (the verdict table's)
    assert cnn.get_title() == "cpu / mnist_cnn"
    assert "125" in [a.get_text() for a in cnn.texts]


def test_example_plot_labels_apart_with_one_legend(example):
    _, fig = example
    assert _overlaps(fig) == []  # manual_mlp's 31,431 and 32,854 overlapped before
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()][:3] == ["eager", "jit_script",
                                                                      "jit_trace"]


def test_recompiles_plot_names_the_command_without_shapes_data(df):
    ax = plots.recompiles_vs_shapes(df, Figure().subplots())
    text = " ".join(t.get_text() for t in ax.texts)
    assert "no shapes data" in text and plots.SHAPES_COMMAND in text
    assert "python -m bench run" in plots.SHAPES_COMMAND
    assert {"shapes", "shapes8"} <= set(SCENARIOS)  # the scenarios the command names exist
    assert "--scenarios shapes,shapes8" in plots.SHAPES_COMMAND
    caption = next(p for p in plots.PLOTS if p.name == "recompiles_vs_shapes").caption
    assert plots.SHAPES_COMMAND in caption
    cumulative = next(p for p in plots.PLOTS if p.name == "cumulative_time").caption
    assert "eager_step_median_s" in cumulative and "break-even" in cumulative


def _has_colour(image: Image.Image, hex_colour: str, at_least: int = 200) -> bool:
    """Whether ``image`` holds ``at_least`` pixels of ``hex_colour`` (within 3 per channel)."""
    want = np.array([round(c * 255) for c in to_rgb(hex_colour)])
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(pixels - want) <= 3).all(axis=-1).sum()) >= at_least


def test_the_committed_first_screen_shows_the_verdict():
    """reports/examples/cpu-quick/first_screen.png, written by ``python -m reports.screenshot``
    (the browser test's code path): the window's size, the verdict's colours on it."""
    image = Image.open(EXAMPLE / "first_screen.png")
    assert image.size == VIEWPORT
    assert _has_colour(image, VERDICT_COLOURS["holds"])  # 3 cells hold in the example run
    assert _has_colour(image, VERDICT_COLOURS["tie"])  # 7 undecided
