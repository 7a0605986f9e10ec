"""The built report in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright's Python package, pointed at the system browser: no ``playwright install``) opens
``report.html`` in a 1400 x 900 px window and reads what a person would meet there: the console
errors, each image's natural width, the tables the page's contents line promises and their
rows, whether anything is wider than the window, where the verdict table sits, and a
screenshot of the first screen. ``tests/test_browser.py`` checks the same facts this writes
the screenshot with:

    python -m reports.screenshot [REPORT.html] [--out PNG]

(default: the example report, its screenshot ``first_screen.png`` beside it)."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from reports.render import VIEWPORT

EXAMPLE = Path(__file__).resolve().parent / "examples" / "cpu-quick" / "report.html"
SCREENSHOT = "first_screen.png"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Read in the page: everything ``PageFacts`` holds, in one pass.
FACTS_JS = """() => {
  const doc = document.documentElement;
  const promised = Array.from(document.querySelectorAll('nav a'))
    .map(a => a.getAttribute('href').slice(1));
  const rows = {};
  for (const s of document.querySelectorAll('section[id^="table-"]')) {
    const t = s.querySelector('table');
    rows[s.id] = t ? t.tBodies[0].rows.length : 0;
  }
  const v = document.querySelector('#table-verdict table');
  const box = v ? v.getBoundingClientRect() : null;
  return {
    images: Array.from(document.images).map(i => [i.alt, i.complete ? i.naturalWidth : 0]),
    promised: promised,
    missing: promised.filter(id => document.getElementById(id) === null),
    rows: rows,
    scrolling: Array.from(document.querySelectorAll('.wide'))
      .filter(d => d.scrollWidth > d.clientWidth).map(d => d.closest('[id]').id),
    page_width: doc.scrollWidth,
    window_width: doc.clientWidth,
    verdict: box ? [box.top + window.scrollY, box.bottom + window.scrollY] : null,
  };
}"""


@dataclass
class PageFacts:
    """What the browser saw (lengths in CSS px)."""

    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    images: dict[str, int] = field(default_factory=dict)  # alt -> natural width (0: not loaded)
    promised: list[str] = field(default_factory=list)  # ids the contents line links to
    missing: list[str] = field(default_factory=list)  # promised ids absent from the page
    rows: dict[str, int] = field(default_factory=dict)  # "table-NAME" -> body rows (0: none)
    scrolling: list[str] = field(default_factory=list)  # sections whose table box scrolls
    page_width: int = 0  # the document's scroll width
    window_width: int = 0  # the window's client width (no scrollbar when page <= window)
    verdict: tuple[float, float] | None = None  # top and bottom of the verdict table


def chromium() -> str | None:
    """The system's Chromium executable, or None."""
    found = [p for p in CHROMIUM if Path(p).is_file()] + [shutil.which("chromium") or ""]
    return next((p for p in found if p), None)


def missing_tools() -> list[str]:
    """What this machine lacks to open a page: none, one or both of the browser and the
    driver, each with how to install it."""
    lacks = []
    if chromium() is None:
        lacks.append("the chromium browser (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        lacks.append("Playwright's Python package (pip install playwright)")
    return lacks


def look(report: Path, png: Path | None = None, size: tuple[int, int] = VIEWPORT) -> PageFacts:
    """Open ``report`` (an HTML file) in headless Chromium in a ``size`` (width, height px)
    window and read its ``PageFacts``; with ``png``, also write a screenshot of the first
    screen (the window, not the whole page) there."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium())
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(Path(report).resolve().as_uri(), wait_until="load")
            facts = page.evaluate(FACTS_JS)
            if png is not None:
                page.screenshot(path=str(png))
        finally:
            browser.close()
    facts["images"] = dict(facts["images"])
    facts["verdict"] = tuple(facts["verdict"]) if facts["verdict"] else None
    return PageFacts(errors=errors, **facts)


def main(argv: list[str] | None = None) -> int:
    """Write the first screen's screenshot of a built report; 0 when written, 2 when the
    browser or its driver is missing (one line on stderr)."""
    parser = argparse.ArgumentParser(prog="python -m reports.screenshot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", nargs="?", type=Path, default=EXAMPLE,
                        help=f"a built report.html (default: {EXAMPLE})")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the PNG (default: {SCREENSHOT} beside the report)")
    args = parser.parse_args(argv)
    if lacks := missing_tools():
        parser.exit(2, f"reports.screenshot: error: missing {' and '.join(lacks)}\n")
    out = args.out or args.report.parent / SCREENSHOT
    facts = look(args.report, out)
    print(f"wrote {out}: the first {VIEWPORT[0]} x {VIEWPORT[1]} px of {args.report}; "
          f"{len(facts.errors)} console errors, page {facts.page_width} px wide")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
