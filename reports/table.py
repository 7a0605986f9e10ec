"""What a report table is: a ``Table`` (the shown strings and the tidy numbers behind them),
and ``CaseTable``, a table of one row per case declared once as ``{header: (column,
formatter)}``, from which both the shown cells and the tidy frame are derived."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from reports import metrics
from reports.units import MISSING

Formatter = Callable[..., str]
# header -> (the tidy column, or columns, behind it; the formatter of their values, one
# argument per column). A formatter of ``None`` puts the column in the tidy frame only.
Columns = dict[str, tuple[str | tuple[str, ...], Formatter | None]]


@dataclass
class Table:
    """One table of the report: ``shown`` is what people read, ``tidy`` the numbers behind it."""

    name: str  # file stem and HTML anchor
    title: str
    note: str  # one or two sentences: what a cell means, its units
    shown: pd.DataFrame
    tidy: pd.DataFrame
    # header -> {a cell's text -> its class in the HTML page}: cells coloured by meaning
    classes: dict[str, dict[str, str]] = field(default_factory=dict)


def _names(cols: str | tuple[str, ...]) -> tuple[str, ...]:
    return (cols,) if isinstance(cols, str) else cols


def format_columns(rows: pd.DataFrame, columns: Columns,
                   not_ok: Callable[[str], str] | None = None) -> pd.DataFrame:
    """One column of strings per header of ``columns`` that has a formatter: per row,
    ``formatter(*values of its columns)``; with ``not_ok``, a row whose ``status`` is not
    ``ok`` gets ``not_ok(status)`` instead. Same index as ``rows``."""
    out = pd.DataFrame(index=rows.index)
    status = rows["status"] if not_ok else pd.Series("ok", index=rows.index)
    for header, (cols, fmt) in columns.items():
        if fmt is None:
            continue
        values = zip(*(rows[c] for c in _names(cols)), strict=True)
        out[header] = [fmt(*v) if st == "ok" else not_ok(st)
                       for st, v in zip(status, values, strict=True)]
    return out


@dataclass(frozen=True)
class CaseTable:
    """A table of one row per case, declared once: its rows are the case index (``device``,
    ``workload``, ``scenario``, ``run_id`` where needed), ``backend`` and ``status``, then
    ``columns``; its tidy frame is the index and every column ``columns`` names, in order."""

    name: str
    title: str
    note: str
    columns: Columns
    scenario: bool = True  # False: the table holds one scenario, not named in its rows
    status_cells: bool = False  # a non-ok case's cells show its status (else '-')

    def build(self, rows: pd.DataFrame) -> Table:
        """The table of ``rows`` (a derived frame of ``reports.metrics``, one row per case)."""
        index = [c for c in metrics.case_index(rows) if self.scenario or c != "scenario"]
        index += ["backend", "status"]
        not_ok = str if self.status_cells else (lambda _: MISSING)
        shown = pd.concat([rows[index], format_columns(rows, self.columns, not_ok)], axis=1)
        tidy = [*index, *(c for cols, _ in self.columns.values() for c in _names(cols))]
        return Table(self.name, self.title, self.note, shown.reset_index(drop=True),
                     rows[list(dict.fromkeys(tidy))])
