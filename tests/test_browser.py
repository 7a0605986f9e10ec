"""The report in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright's
Python package; ``.ci/run`` installs both) opens ``report.html`` at 1400 x 900 px - the one
built here from the example run, and the two committed ones - through ``reports.screenshot``,
the code that writes the example's ``first_screen.png``. Every image loads, every table the
contents line promises is there with the rows its CSV has, no console error, nothing wider
than the window, and the verdict table on the first screen.

Skipped only where neither the browser nor Playwright is installed; with one of the two
missing the tests fail and say which, so a half-installed CI cannot pass by skipping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from reports import cli, screenshot
from reports.plots import PLOTS
from reports.render import VERDICT_COLOURS, VIEWPORT
from tests.test_reports_screen import _has_colour

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "reports" / "examples" / "cpu-quick"
GPU = ROOT / "results" / "gpu" / "h200-20261201-cuda" / "report"
LACKS = screenshot.missing_tools()
if len(LACKS) == 2:
    pytest.skip(f"neither chromium nor Playwright is installed: {' and '.join(LACKS)}",
                allow_module_level=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The example run's report, built now (as the README's command does)."""
    out = tmp_path_factory.mktemp("report")
    assert cli.main(["build", str(EXAMPLE / "run"), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module", params=["built", "example", "gpu"])
def page(request, tmp_path_factory) -> tuple[Path, screenshot.PageFacts, Path]:
    """A report folder, what the browser saw of its report.html, and the screenshot of its
    first screen (written in a temporary folder)."""
    if LACKS:
        pytest.fail(f"only half of the browser is installed: missing {' and '.join(LACKS)}")
    folder = {"example": EXAMPLE, "gpu": GPU}.get(request.param) or request.getfixturevalue(
        "built")
    png = tmp_path_factory.mktemp("screen") / screenshot.SCREENSHOT
    return folder, screenshot.look(folder / "report.html", png), png


def test_every_image_loads(page):
    _, facts, _ = page
    assert set(facts.images) == {p.name for p in PLOTS}
    assert all(width > 0 for width in facts.images.values()), facts.images


def _table_rows(folder: Path) -> dict[str, int]:
    """Each table the build wrote (NAME.csv beside report.html) -> its rows."""
    def rows(csv: Path) -> int:
        try:
            return len(pd.read_csv(csv))
        except pd.errors.EmptyDataError:
            return 0
    return {f"table-{csv.stem}": rows(csv) for csv in folder.glob("*.csv")
            if not csv.stem.endswith("_tidy")}


def test_every_promised_table_is_there(page):
    folder, facts, _ = page
    tables = _table_rows(folder)
    assert len(tables) >= 12 and "table-verdict" in tables
    assert facts.missing == []  # every link of the contents line lands somewhere
    assert set(facts.promised) == {f"plot-{p.name}" for p in PLOTS} | set(tables)
    assert {k: facts.rows[k] for k in tables} == tables  # each with its CSV's rows


def test_no_console_errors(page):
    assert page[1].errors == []


def test_the_page_fits_the_window(page):
    _, facts, _ = page
    assert facts.page_width <= facts.window_width  # no horizontal scrollbar
    assert facts.scrolling == []  # and no table scrolls inside its own box


def test_the_verdict_table_opens_the_page(page):
    folder, facts, _ = page
    top, bottom = facts.verdict
    assert top < VIEWPORT[1] / 4  # right under the title
    if folder != GPU:  # 12 rows: the whole table on the first screen (the GPU one has 22)
        assert bottom < VIEWPORT[1]


def test_the_screenshot_is_the_first_screen(page):
    image = Image.open(page[2])
    assert image.size == VIEWPORT
    assert _has_colour(image, VERDICT_COLOURS["holds"])  # the verdict cells, coloured
    assert _has_colour(image, VERDICT_COLOURS["tie"])


def test_the_checks_see_a_broken_page(tmp_path):
    """A page with each fault the checks look for: the browser reports every one."""
    (tmp_path / "bad.html").write_text(
        '<!DOCTYPE html><html><body><nav><a href="#table-gone">gone</a></nav>'
        '<img alt="broken" src="missing.png"><div class="wide" id="w">'
        '<div style="width: 3000px">wide</div></div><div style="width: 2000px">page</div>'
        '<script>console.error("boom")</script></body></html>')
    facts = screenshot.look(tmp_path / "bad.html")
    assert facts.images == {"broken": 0}
    assert facts.missing == ["table-gone"]
    assert facts.scrolling == ["w"]
    assert facts.page_width > facts.window_width
    assert any("boom" in e for e in facts.errors)
    assert facts.verdict is None
