"""Rendering the report as text: Markdown (plots linked as files) and one self-contained HTML
page (plots embedded as base64 PNG, CSS inline). Pure functions of the built content."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import pandas as pd

from reports.plots import Plot
from reports.table import Table
from reports.verdict import Verdict

TITLE = "Eager vs compiled: does a static graph beat a dynamic one?"
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
th { background: #f3f3f3; }
p.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
li { margin: 0.3em 0; }
"""


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
    """The report as Markdown; plots are linked as ``NAME.png`` next to it, tables also
    written as ``NAME.csv``."""
    v = report.verdict
    out = [f"# {TITLE}", "", "Runs: " + ", ".join(f"`{s}`" for s in report.sources), "",
           "## Verdict", "", *_bullets(v.summary), "", "### Per case", "", *_bullets(v.cells),
           "", "### Debuggability", "", *_bullets(v.debuggability), "", "## Plots", ""]
    for p in report.plots:
        out += [f"### {p.title}", "", f"![{p.name}]({p.name}.png)", "", f"_{p.caption}_", ""]
    out += ["## Tables", ""]
    for t in report.all_tables():
        out += [f"### {t.title}", "", f"{t.note} (`{t.name}.csv`)", "", markdown_table(t.shown),
                ""]
    return "\n".join(out)


def _html_list(lines: list[str]) -> str:
    if not lines:
        return "<p><em>nothing measured</em></p>"
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def html_table(t: Table) -> str:
    """One table as an HTML section with its anchor ``table-NAME``, title and note."""
    body = ("<p><em>no rows</em></p>" if t.shown.empty else
            t.shown.to_html(index=False, escape=True, border=0, na_rep="-"))
    return (f'<section id="table-{t.name}"><h3>{html.escape(t.title)}</h3>'
            f'<p class="note">{html.escape(t.note)} ({t.name}.csv)</p>{body}</section>')


def html_figure(p: Plot, png: bytes) -> str:
    """One plot as a ``<figure id="plot-NAME">`` with the PNG embedded as base64."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="plot-{p.name}"><h3>{html.escape(p.title)}</h3>'
            f'<img alt="{p.name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(p.caption)}</figcaption></figure>")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (no external files or requests)."""
    v = report.verdict
    sources = ", ".join(f"<code>{html.escape(s)}</code>" for s in report.sources)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(TITLE)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(TITLE)}</h1><p>Runs: {sources}</p>",
        "<h2>Verdict</h2>", _html_list(v.summary), "<h3>Per case</h3>", _html_list(v.cells),
        "<h3>Debuggability</h3>", _html_list(v.debuggability), "<h2>Plots</h2>",
        *(html_figure(p, report.pngs[p.name]) for p in report.plots),
        "<h2>Tables</h2>", *(html_table(t) for t in report.all_tables()),
        "</body></html>",
    ]  # fmt: skip
    return "\n".join(parts) + "\n"
