"""Rendering the report as text: Markdown (plots linked as files) and one self-contained HTML
page (plots embedded as base64 PNG, CSS inline). Pure functions of the built content."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import pandas as pd

from reports.plots import Plot
from reports.table import Table
from reports.units import MISSING
from reports.verdict import Verdict

TITLE = "Eager vs compiled: does a static graph beat a dynamic one?"
VIEWPORT = (1400, 900)  # px: the window the page is checked in (tests/test_browser.py)
# The verdict cells' colours, by their class (``reports.claim.VERDICT_CLASSES``).
VERDICT_COLOURS = {"holds": "#b9e4bd", "fails": "#f7b9bd", "tie": "#fbe7a1", "none": "#e4e4e4"}
CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; padding: 0 1em;
       max-width: 1340px; color: #222; }
p, ul { max-width: 72em; }
.wide { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.45em; text-align: left; }
th { background: #f3f3f3; }
#table-verdict table { font-size: 0.9em; margin-bottom: 0.3em; }
p.note { color: #555; font-size: 0.85em; }
nav { font-size: 0.85em; color: #555; } nav a { margin-right: 0.6em; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
li { margin: 0.3em 0; }
""" + "".join(f"td.{cls} {{ background: {colour}; }}\n" for cls, colour in VERDICT_COLOURS.items())


@dataclass
class Report:
    """Everything a rendering shows: sources, the verdict, the tables, the plots (PNG bytes)."""

    sources: list[str]
    verdict: Verdict
    tables: list[Table]
    plots: list[Plot]
    pngs: dict[str, bytes] = field(default_factory=dict)

    def all_tables(self) -> list[Table]:
        """The verdict table (when there is one) followed by the other tables."""
        return ([self.verdict.table] if self.verdict.table is not None else []) + self.tables


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame) -> str:
    """``df`` (strings) as a GitHub-flavoured Markdown table; ``_no rows_`` when empty."""
    if df.empty:
        return "_no rows_"
    lines = ["| " + " | ".join(_md_cell(c) for c in df.columns) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(
        index=False)]
    return "\n".join(lines)


def _bullets(lines: list[str]) -> list[str]:
    return [f"- {line}" for line in lines] or ["_nothing measured_"]


def render_markdown(report: Report) -> str:
    """The report as Markdown, the verdict table first; plots are linked as ``NAME.png`` next
    to it, tables also written as ``NAME.csv``."""
    v = report.verdict
    out = [f"# {TITLE}", "", "Runs: " + ", ".join(f"`{s}`" for s in report.sources), "",
           "## Verdict", ""]
    if v.table is not None:
        out += [markdown_table(v.table.shown), "", f"_{v.table.note}_ (`{v.table.name}.csv`)",
                ""]
    out += [*_bullets(v.summary), "", "### Per case", "", *_bullets(v.cells), "",
            "### Debuggability", "", *_bullets(v.debuggability), "",
            "### PyTorch training recipes", "", *_bullets(v.recipes), "", "## Plots", ""]
    for p in report.plots:
        out += [f"### {p.title}", "", f"![{p.name}]({p.name}.png)", "", f"_{p.caption}_", ""]
    out += ["## Tables", ""]
    for t in report.tables:
        out += [f"### {t.title}", "", f"{t.note} (`{t.name}.csv`)", "", markdown_table(t.shown),
                ""]
    return "\n".join(out)


def _html_list(lines: list[str]) -> str:
    if not lines:
        return "<p><em>nothing measured</em></p>"
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


LONG = 24  # characters: a cell longer than this may wrap after a _ or a /


def _breakable(text: str, longer_than: int = 0) -> str:
    """``text`` escaped; when longer than ``longer_than``, with a line-break opportunity after
    each ``_`` and ``/`` (long names and paths wrap there instead of widening the page)."""
    escaped = html.escape(text)
    if len(text) <= longer_than:
        return escaped
    return escaped.replace("_", "_<wbr>").replace("/", "/<wbr>")


def _html_cells(t: Table) -> str:
    """The rows of ``t.shown`` as ``<tr>``s; a cell ``t.classes`` names gets that class."""
    rows = []
    for values in t.shown.itertuples(index=False):
        cells = []
        for header, value in zip(t.shown.columns, values, strict=True):
            text = MISSING if value is None or (isinstance(value, float) and pd.isna(value)) \
                else str(value)
            cls = t.classes.get(header, {}).get(text)
            cells.append((f'<td class="{cls}">' if cls else "<td>") + _breakable(text, LONG)
                         + "</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(rows)


def html_table(t: Table, heading: bool = True) -> str:
    """One table as an HTML section with its anchor ``table-NAME``: its title (unless
    ``heading`` is False), the table (in a box that scrolls sideways rather than the page,
    should a window be too narrow), then its note."""
    head = "".join(f"<th>{_breakable(str(c))}</th>" for c in t.shown.columns)
    body = ("<p><em>no rows</em></p>" if t.shown.empty else
            f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{_html_cells(t)}</tbody></table></div>")
    title = f"<h3>{html.escape(t.title)}</h3>" if heading else ""
    return (f'<section id="table-{t.name}">{title}{body}'
            f'<p class="note">{html.escape(t.note)} ({t.name}.csv)</p></section>')


def html_figure(p: Plot, png: bytes) -> str:
    """One plot as a ``<figure id="plot-NAME">`` with the PNG embedded as base64."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="plot-{p.name}"><h3>{html.escape(p.title)}</h3>'
            f'<img alt="{p.name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(p.caption)}</figcaption></figure>")


def _contents(report: Report) -> str:
    """One line of links to every plot and table of the page: what the page promises."""
    plots = "".join(f'<a href="#plot-{p.name}">{html.escape(p.title)}</a>'
                    for p in report.plots)
    tables = "".join(f'<a href="#table-{t.name}">{html.escape(t.title)}</a>'
                     for t in report.all_tables())
    return f"<nav><p>Plots: {plots}</p><p>Tables: {tables}</p></nav>"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (no external files or requests): the
    verdict table first, its sentences below it, then the plots and the other tables."""
    v = report.verdict
    sources = ", ".join(f"<code>{html.escape(s)}</code>" for s in report.sources)
    verdict = [] if v.table is None else [html_table(v.table, heading=False)]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(TITLE)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(TITLE)}</h1><p>Runs: {sources}</p>",
        "<h2>Verdict</h2>", *verdict, _html_list(v.summary), _contents(report),
        "<h3>Per case</h3>", _html_list(v.cells),
        "<h3>Debuggability</h3>", _html_list(v.debuggability),
        "<h3>PyTorch training recipes</h3>", _html_list(v.recipes), "<h2>Plots</h2>",
        *(html_figure(p, report.pngs[p.name]) for p in report.plots),
        "<h2>Tables</h2>", *(html_table(t) for t in report.tables),
        "</body></html>",
    ]  # fmt: skip
    return "\n".join(parts) + "\n"
