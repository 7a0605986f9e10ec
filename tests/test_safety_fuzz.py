"""Issue 16's fuzz test: 300 malformed ``results.csv`` files (over 200 distinct), made from a
good one with a seeded RNG (truncated at random bytes, bad types in numeric columns,
NaN/inf/negative times, unknown statuses, empty case names, missing required columns,
duplicate cases, rows of the wrong length, unclosed quotes, empty files, binary garbage), each
fed to the four readers (``compare``, ``merge``, ``export``, ``reports build``, in-process).
Each must exit 2 with one line on stderr and write nothing; never a traceback, never "no
change". Files cut exactly at a line end are valid, shorter runs: each reader must read them
right."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.schema import COLUMN_UNITS, KEY, NUMERIC_COLUMNS, REQUIRED
from tests.test_safety_reader import GOOD_TEXT, META, ROWS, assert_refused, four_readers

SEED, COUNT = 16, 300
TABLE = list(csv.reader(io.StringIO(GOOD_TEXT)))  # header + one list per row
TIMES = [c for c, unit in COLUMN_UNITS.items() if unit == "s"]
NOT_NUMBERS = ["abc", "1.9e-3s", "0x1A", "--1", "1e", "1.2.3", "true", "12ms", "1 2", "½",
               "∞", "[]", "None", "1,5", "'3'", "+-2", ".", "e5"]  # fmt: skip
BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "-1e-3", "-0.5", "1e999", "-7", "NA"]
BAD_STATUSES = ["OK", "passed", "", "error", "ok?", "Failed", "nan", "0", "ok ok", "succeeded"]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _with_cell(rng: random.Random, cols: list[str], values: list[str]) -> bytes:
    rows = [list(r) for r in TABLE]
    rows[rng.randrange(1, len(rows))][TABLE[0].index(rng.choice(cols))] = rng.choice(values)
    return _csv(rows)


def _truncated(rng: random.Random) -> bytes:
    data = GOOD_TEXT.encode()
    while data[:(cut := rng.randrange(1, len(data)))].endswith(b"\n"):
        pass  # a cut at a line end is a valid file: test_cuts_at_a_line_end covers those
    return data[:cut]


def _without_column(rng: random.Random) -> bytes:
    drop = TABLE[0].index(rng.choice(REQUIRED))
    return _csv([[c for i, c in enumerate(r) if i != drop] for r in TABLE])


def _duplicate(rng: random.Random) -> bytes:
    rows = [list(r) for r in TABLE]
    a, b = rng.sample(range(1, len(rows)), 2)
    if rng.random() < 0.5:
        rows.insert(rng.randrange(1, len(rows) + 1), list(rows[a]))  # a row written twice
    else:
        for k in KEY:  # another row renamed to the same case
            rows[b][TABLE[0].index(k)] = rows[a][TABLE[0].index(k)]
    return _csv(rows)


def _wrong_length(rng: random.Random) -> bytes:
    rows = [list(r) for r in TABLE]
    r = rows[rng.randrange(1, len(rows))]
    r.pop(rng.randrange(len(r))) if rng.random() < 0.5 else r.insert(rng.randrange(len(r)), "x")
    return _csv(rows)


def _unclosed_quote(rng: random.Random) -> bytes:
    lines = GOOD_TEXT.splitlines(keepends=True)
    i = rng.randrange(1, len(lines))
    starts = [0] + [j + 1 for j, ch in enumerate(lines[i]) if ch == ","]
    at = rng.choice(starts)
    lines[i] = lines[i][:at] + '"' + lines[i][at:]
    return "".join(lines).encode()


def _garbage(rng: random.Random) -> bytes:
    noise = rng.randbytes(rng.randrange(1, 300))
    pick = rng.randrange(4)
    if pick == 0:
        return rng.choice([b"", b"\n", b"  \n\n", b"\r\n"])
    if pick == 1:
        return noise
    if pick == 2:
        return GOOD_TEXT.split("\n")[0].encode() + b"\n" + noise + b"\n"
    data = GOOD_TEXT.encode()
    at = rng.randrange(len(data))
    return data[:at] + b"\0" + data[at:]


MUTATORS: dict[str, Callable[[random.Random], bytes]] = {
    "truncated": _truncated,
    "not a number": lambda rng: _with_cell(rng, NUMERIC_COLUMNS, NOT_NUMBERS),
    "NaN/inf/negative": lambda rng: _with_cell(rng, TIMES, BAD_NUMBERS),
    "unknown status": lambda rng: _with_cell(rng, ["status"], BAD_STATUSES),
    "empty case name": lambda rng: _with_cell(rng, KEY, ["", "  "]),
    "missing column": _without_column,
    "duplicate case": _duplicate,
    "wrong length": _wrong_length,
    "unclosed quote": _unclosed_quote,
    "garbage": _garbage,
}


def mutants(seed: int = SEED, count: int = COUNT) -> list[tuple[str, bytes]]:
    """``count`` malformed results files, ``(kind, bytes)``, the same for the same seed."""
    rng = random.Random(seed)
    kinds = list(MUTATORS)
    return [(kind, MUTATORS[kind](rng)) for kind in (kinds[i % len(kinds)] for i in range(count))]


def _run_folder(folder: Path, data: bytes) -> Path:
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps(META))
    (folder / "results.csv").write_bytes(data)
    return folder


def test_every_malformed_file_is_one_line_and_exit_2_in_all_four(tmp_path, capsys):
    files = mutants()
    assert len({data for _, data in files}) >= 200
    assert mutants() == files  # seeded: a failure reproduces
    failures = []
    for i, (kind, data) in enumerate(files):
        run = _run_folder(tmp_path / f"m{i}", data)
        try:
            assert_refused(four_readers(tmp_path, run, capsys))
        except AssertionError as exc:
            failures.append(f"#{i} {kind} {data[:80]!r}: {' '.join(str(exc).split())[:300]}")
    assert failures == []


@pytest.fixture
def no_plots(monkeypatch):
    """The reports without their plots (the reader is under test, not matplotlib)."""
    monkeypatch.setattr("reports.cli.PLOTS", [])


@pytest.mark.parametrize("kept", range(len(ROWS)))
def test_cuts_at_a_line_end_are_shorter_runs_read_right(kept, tmp_path, capsys, no_plots):
    run = _run_folder(tmp_path / "cut", "".join(GOOD_TEXT.splitlines(True)[:kept + 1]).encode())
    compare, merge, export, report = four_readers(tmp_path, run, capsys)
    assert compare[0] == 1 and compare[2] == ""
    assert compare[1].count(": missing in CURRENT") == len(ROWS) - kept
    assert merge[0] == 0 and merge[1].startswith(f"merged 2 folders, {kept + 1} cases, into ")
    assert export[0] == 0
    names = [e["name"] for e in json.loads((tmp_path / "out0.json").read_text())]
    ok = [r for r in ROWS[:kept] if r["status"] == "ok"]
    assert [n for n in names if not n.endswith(" vs eager")] == [
        f"{r['workload']}/{r['scenario']}/{r['backend']}/{r['device']}" for r in ok]
    if kept:
        assert report[0] == 0 and (tmp_path / "out0-report" / "report.md").exists()
    else:
        assert report[:2] == (2, "")
        assert report[2] == f"python -m reports: error: no result rows in {run}\n"
