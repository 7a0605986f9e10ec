"""``python -m reports build RESULTS_DIR... [--out DIR]``: the only place that writes files.
Everything is built in memory first, then each file is replaced atomically, so bad input
(exit status 2, one line on stderr) never leaves a half-written report behind. The run
folders are read by ``bench.schema.read_results_csv``, the reader the regression side uses."""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from bench.schema import atomic_write
from reports.load import ReportInputError, load_runs
from reports.plots import PLOTS
from reports.render import Report, render_html, render_markdown
from reports.tables import build_tables
from reports.verdict import build_verdict

DEFAULT_OUT = Path("reports") / "out"


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """``fig`` encoded as ``fmt`` (``"png"`` or ``"svg"``), without timestamps or random SVG
    ids, so the same results give the same bytes."""
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with rc_context({"svg.hashsalt": "reports"}):
        fig.savefig(buf, format=fmt, dpi=110, metadata=metadata)
    return buf.getvalue()


def build_files(folders: list[str]) -> dict[str, bytes]:
    """Every output file of the report of run ``folders``, by file name, as bytes: report.md,
    report.html, NAME.csv (as shown) and NAME_tidy.csv (SI numbers) per table, NAME.png and
    NAME.svg per plot. Raises ``ReportInputError`` for bad input."""
    runs = load_runs(folders)
    df = runs.results
    files: dict[str, bytes] = {}
    pngs: dict[str, bytes] = {}
    for plot in PLOTS:
        fig = plot.draw(df)
        pngs[plot.name] = files[f"{plot.name}.png"] = figure_bytes(fig, "png")
        fig.set_layout_engine("none")  # keep the layout just computed; don't solve it again
        files[f"{plot.name}.svg"] = figure_bytes(fig, "svg")
    report = Report([str(f) for f in folders], build_verdict(df), build_tables(df, runs.metas),
                    PLOTS, pngs)
    for table in report.all_tables():
        files[f"{table.name}.csv"] = table.shown.to_csv(index=False).encode()
        files[f"{table.name}_tidy.csv"] = table.tidy.to_csv(index=False).encode()
    files["report.md"] = render_markdown(report).encode()
    files["report.html"] = render_html(report).encode()
    return files


def write_files(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into ``out`` (created if needed), each by an atomic replace (files get
    the umask's mode). Raises ``OSError`` when ``out`` is not writable."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write(out / name, lambda tmp, data=data: Path(tmp).write_bytes(data))


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one ``ReportInputError`` line (exit status 2)."""

    def error(self, message: str):
        raise ReportInputError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m reports", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    build = sub.add_parser("build", help="build report.md, report.html, tables and plots")
    build.add_argument("results", nargs="+", metavar="RESULTS_DIR",
                       help="run folders, each holding results.csv and meta.json")
    build.add_argument("--out", type=Path, default=DEFAULT_OUT,
                       help=f"output folder (default: {DEFAULT_OUT}/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status: 0, or 2 with one line on stderr
    (``python -m reports: error: ...``) for bad arguments or input (nothing is written) and
    for an output folder that cannot be written (each file is replaced whole, or kept)."""
    start = time.perf_counter()
    try:
        args = _parser().parse_args(argv)
        files = build_files(args.results)
    except ReportInputError as exc:
        print(f"python -m reports: error: {exc}", file=sys.stderr)
        return 2
    try:
        write_files(args.out, files)
    except OSError as exc:
        print(f"python -m reports: error: cannot write --out {args.out}: "
              f"{' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(f"wrote {len(files)} files to {args.out} in {elapsed:.1f} s "
          f"(open {args.out / 'report.html'})")
    return 0
