"""Issue 16, "the regression gate passes a broken file": one reader of results files
(``bench.schema.read_results_csv``) checks every value, and ``compare``, ``merge``,
``export`` and ``reports build`` all read through it. A malformed file is one line on stderr
naming the file (line, column), exit 2, nothing written; never "no change" on garbage.

``four_readers`` runs the four commands in-process on one folder; the fuzz test
(``tests/test_safety_fuzz.py``) uses it too."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import UsageError
from bench.results import read_results, rows_frame
from bench.schema import (
    COLUMN_UNITS,
    REQUIRED,
    RunFolderError,
    read_results_csv,
    results_value,
)
from reports.cli import main as reports_main
from reports.load import read_results as reports_read_results
from tests.test_regress_compare import row, write_run

ROOT = Path(__file__).resolve().parent.parent
META = {"run_id": "r", "device": "cpu", "threads": 1}
ROWS = [row("eager", 2e-3, 2e-5), row("compile", 1e-3, 1e-5, eager_s=2e-3),
        row("jit_script", 1e-3, 1e-5, status="failed", error="RuntimeError: boom"),
        row("eager", 4e-3, 4e-5, workload="mnist_cnn", final_loss=-0.5, parity_rel_err=0.0)]
OTHER = [row("eager", 3e-3, 3e-5, workload="tensor_ops")]  # the other shard of a merge


def good_run(folder: Path, rows: list[dict] | None = None, meta: dict | None = None) -> Path:
    """A run folder as the bench writes it (``ROWS``, ``META`` by default)."""
    write_run(folder, ROWS if rows is None else rows, META if meta is None else meta)
    return folder


def broken_run(folder: Path, data: bytes) -> Path:
    """A run folder with ``META`` and ``data`` as its ``results.csv``."""
    good_run(folder)
    (folder / "results.csv").write_bytes(data)
    return folder


GOOD_TEXT = rows_frame(ROWS).to_csv(index=False)  # results.csv of ROWS, as the bench writes it


def with_cell(col: str, value: str, line: int = 3) -> str:
    """``GOOD_TEXT`` with the cell of ``col`` on ``line`` (1-based, header is 1) replaced."""
    rows = list(csv.reader(io.StringIO(GOOD_TEXT)))
    rows[line - 1][rows[0].index(col)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def one_line(capsys, prog: str = "python -m bench") -> str:
    """The stderr of the last call, checked to be one ``PROG: error: ...`` line."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{prog}: error: "), err
    assert "Traceback" not in err
    return err


def four_readers(tmp_path: Path, run: Path, capsys) -> list[tuple[int, str, str]]:
    """``(exit status, stdout, stderr)`` of compare (a good BASELINE against ``run``), merge
    (a good shard and ``run``), export (to a file) and reports build on ``run``, in-process.
    Each output path is new; an error leaves it absent (checked here)."""
    base = tmp_path / "base"
    if not base.exists():
        good_run(base)
        good_run(tmp_path / "other", OTHER)
    n = len(list(tmp_path.glob("out*")))
    outs = [tmp_path / f"out{n}-merged", tmp_path / f"out{n}.json", tmp_path / f"out{n}-report"]
    calls = [lambda: main(["compare", str(base), str(run)]),
             lambda: main(["merge", str(tmp_path / "other"), str(run), "--out", str(outs[0])]),
             lambda: main(["export", str(run), "--out", str(outs[1])]),
             lambda: reports_main(["build", str(run), "--out", str(outs[2])])]
    got = []
    for call in calls:
        rc = call()
        cap = capsys.readouterr()
        got.append((rc, cap.out, cap.err))
    for (rc, _, _), out in zip(got[1:], outs, strict=True):
        assert rc == 0 or not out.exists(), out
    return got


def assert_refused(got: list[tuple[int, str, str]], *needles: str) -> None:
    """Every reader exited 2 with one error line holding ``needles``, and printed nothing."""
    for (rc, out, err), prog in zip(got, ["python -m bench"] * 3 + ["python -m reports"],
                                    strict=False):
        assert rc == 2, (rc, out, err)
        assert err.count("\n") == 1 and err.startswith(f"{prog}: error: "), err
        assert all(n in err for n in needles), (needles, err)
        assert out == "" and "Traceback" not in err  # never a "no change" table


# --- the two examples, in all four readers -------------------------------------------
def test_a_last_row_cut_mid_line_is_refused_by_all_four(tmp_path, capsys):
    run = broken_run(tmp_path / "cut", GOOD_TEXT[:-25].encode())
    lines = GOOD_TEXT.count("\n")
    got = four_readers(tmp_path, run, capsys)
    assert_refused(got, f"{run}/results.csv", f"line {lines} was cut mid-line (no line end)")
    assert got[0][2] == (f"python -m bench: error: corrupt results file {run}/results.csv: "
                         f"line {lines} was cut mid-line (no line end)\n")


def test_a_step_time_with_its_unit_is_refused_by_all_four(tmp_path, capsys):
    run = broken_run(tmp_path / "unit", with_cell("step_median_s", "1.9e-3s").encode())
    got = four_readers(tmp_path, run, capsys)
    assert_refused(got, f"corrupt results file {run}/results.csv: line 3, column "
                        "step_median_s: '1.9e-3s' is not a number")


# column | the bad cell (on line 3: the compile row) | what the error line says
BAD_CELLS = """
step_median_s | nan | 'nan' is not a number
step_median_s | inf | 'inf' is not a finite number
step_ci_high_s | -1e-3 | '-1e-3' is negative; s are >= 0
eager_step_median_s | 1e999 | '1e999' is not a finite number
peak_mem_bytes | -5 | '-5' is negative; bytes are >= 0
repeats | 2.5 | '2.5' is not a whole number of blocks
graph_breaks | one | 'one' is not a number
status | passed | column status: 'passed' is not a status; valid: ok, failed,
status |  | column status: an empty cell is not a status
backend |  | column backend: empty: every row names its case
step_median_s | 0.5 | column step_median_s: 0.5 is outside step_ci_low_s
backend | eager | lines 2 and 3 are both the case manual_mlp/train/eager/cpu
"""


@pytest.mark.parametrize(("col", "value", "why"),
                         [line.split(" | ") for line in BAD_CELLS.strip().splitlines()])
def test_every_bad_value_is_named_by_all_four(col, value, why, tmp_path, capsys):
    run = broken_run(tmp_path / "bad", with_cell(col, value).encode())
    assert_refused(four_readers(tmp_path, run, capsys), f"{run}/results.csv: ", why)


def test_an_ok_row_without_its_time(tmp_path, capsys, monkeypatch):
    """The gate and the dashboard need an ok row's time: compare, merge and export refuse the
    row; reports shows it as missing (``tests/test_reports.py``'s ``ok_without_time``)."""
    monkeypatch.setattr("reports.cli.PLOTS", [])  # the reader is under test, not the plots
    run = broken_run(tmp_path / "notime", with_cell("step_median_s", "").encode())
    got = four_readers(tmp_path, run, capsys)
    assert_refused(got[:3], f"{run}/results.csv: line 3, column step_median_s: empty on an ok "
                            "row: an ok row has its step time")
    assert got[3][0] == 0


@pytest.mark.parametrize(("data", "why"), [
    (b"", "empty; a results file starts with its header line"),
    (b"\n \n", "empty; a results file starts with its header line"),
    (b"\xff\xfe\x00garbage\n", "not UTF-8 text (byte 0)"),
    (b"run_id,\x00\n", "binary data (a NUL byte), not CSV text"),
    (b'run_id,workload\n"r,x\n', "unexpected end of data"),
])  # fmt: skip
def test_files_that_are_not_csv_are_refused_by_all_four(data, why, tmp_path, capsys):
    assert_refused(four_readers(tmp_path, broken_run(tmp_path / "x", data), capsys), why)


def test_rows_of_the_wrong_length_and_a_missing_column(tmp_path, capsys):
    lines = GOOD_TEXT.splitlines(keepends=True)
    short = "".join([*lines[:2], lines[2].rsplit(",", 1)[0] + "\n", *lines[3:]])
    got = four_readers(tmp_path, broken_run(tmp_path / "short", short.encode()), capsys)
    n = len(GOOD_TEXT.splitlines()[0].split(","))
    assert_refused(got, f"line 3 has {n - 1} fields, the header {n}")
    head, *body = [line.split(",") for line in GOOD_TEXT.splitlines()]
    drop = head.index("status")
    text = "".join(",".join(c for i, c in enumerate(r) if i != drop) + "\n" for r in [head, *body])
    got = four_readers(tmp_path, broken_run(tmp_path / "nostatus", text.encode()), capsys)
    assert_refused(got, "results file ", "/nostatus/results.csv lacks columns: status")


# --- the reader itself -----------------------------------------------------------------------
def test_values_the_suite_writes_are_accepted():
    """A diverged loss may be negative or infinite, parity's error infinite (NaN output),
    an unknown value is an empty cell; every other number is finite and >= 0."""
    assert results_value("final_loss", "-inf") == -math.inf
    assert results_value("parity_rel_err", "inf") == math.inf
    assert math.isnan(results_value("compile_s", " "))
    assert results_value("batch_size", "64.0") == 64 and results_value("error", " x ") == "x"
    assert results_value("mystery_column", "kept as text") == "kept as text"
    for col, text in [("parity_rel_err", "-inf"), ("compile_s", "1e-3 s"), ("batch_size", "1.5")]:
        with pytest.raises(ValueError, match=f"^column {col}: "):
            results_value(col, text)


def test_every_committed_run_reads_the_same_through_both_callers():
    runs = subprocess.run(["git", "ls-files", "*results.csv"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.split()
    assert len(runs) >= 3
    for path in runs:
        df = read_results(ROOT / Path(path).parent)
        assert len(df) > 0 and df.equals(reports_read_results(ROOT / path))


def test_the_reports_reader_asks_only_the_required_columns(tmp_path):
    """reports reads a file with only ``REQUIRED`` columns and an ok row without a time;
    compare, merge and export need every column older runs have, and the ok row's time."""
    (tmp_path / "results.csv").write_text(",".join(REQUIRED) + "\nr,w,train,eager,cpu,ok,\n")
    df = reports_read_results(tmp_path / "results.csv")
    assert len(df) == 1 and math.isnan(df.loc[0, "step_median_s"])
    with pytest.raises(RunFolderError, match="empty on an ok row"):
        read_results_csv(tmp_path / "results.csv")
    with pytest.raises(UsageError, match="lacks columns: batch_size, dtype, error, "):
        read_results(tmp_path)
    assert set(df.columns) >= set(COLUMN_UNITS)


# --- compare ---------------------------------------------------------------------------------
def test_compare_of_runs_on_different_devices_says_so(tmp_path, capsys):
    cpu = good_run(tmp_path / "cpu")
    cuda = good_run(tmp_path / "cuda", [r | {"device": "cuda"} for r in ROWS])
    assert main(["compare", str(cpu), str(cuda)]) == 2
    assert one_line(capsys) == (
        f"python -m bench: error: cannot compare runs on different devices: {cpu} ran on cpu, "
        f"{cuda} on cuda; compare runs of one device\n")


def test_a_time_lost_in_current_is_a_regression_not_a_pass(tmp_path, capsys):
    base = good_run(tmp_path / "base")
    cur = broken_run(tmp_path / "cur", with_cell("eager_step_median_s", "").encode())
    assert main(["compare", str(base), str(cur)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION manual_mlp/train/compile/cpu: no speedup against eager in CURRENT" in out


# --- a file where a folder belongs, and the other way round ------------------------------------
def test_a_file_given_as_a_run_folder(tmp_path, capsys):
    run = good_run(tmp_path / "run")
    file = run / "results.csv"
    for argv in (["compare", str(run), str(file)], ["export", str(file)],
                 ["merge", str(run), str(file), "--out", str(tmp_path / "m")]):
        assert main(argv) == 2
        assert one_line(capsys).endswith(f"error: not a run folder: {file} is a file; give the "
                                         "folder that holds results.csv and meta.json\n")
    assert reports_main(["build", str(file), "--out", str(tmp_path / "o")]) == 2
    assert one_line(capsys, "python -m reports").endswith(f"not a run folder: {file} is a file\n")
    assert not (tmp_path / "m").exists() and not (tmp_path / "o").exists()


def test_a_results_csv_that_is_a_folder(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "results.csv").mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps(META))
    got = four_readers(tmp_path, run, capsys)
    assert_refused(got, f"not a results file, a folder: {run}/results.csv")


# --- export ----------------------------------------------------------------------------------
def _strict_json(text: str) -> list:
    def refuse(name: str):
        raise AssertionError(f"invalid JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_export_writes_strict_json_or_nothing(tmp_path, capsys):
    run = good_run(tmp_path / "run", [*ROWS, row("jax_jit", 1e-3, 1e-5, parity_rel_err=math.inf,
                                                 status="mismatch")])
    assert main(["export", str(run)]) == 0
    entries = _strict_json(capsys.readouterr().out)
    assert [e["value"] for e in entries] == [2e-3, 1e-3, 0.5, 4e-3]
    out = tmp_path / "bench.json"
    out.write_bytes(b"the previous export")
    for cell in ("", "nan", "fast"):  # an ok row without a time: the NaN issue 16 saw
        bad = broken_run(tmp_path / f"bad{cell}", with_cell("step_median_s", cell).encode())
        assert main(["export", str(bad), "--out", str(out)]) == 2
        assert "column step_median_s: " in one_line(capsys)
        assert out.read_bytes() == b"the previous export"


def test_export_out_a_folder_or_an_unwritable_place(tmp_path, capsys):
    run = good_run(tmp_path / "run")
    folder = tmp_path / "dash"
    (folder / "keep.json").parent.mkdir()
    (folder / "keep.json").write_text("[]")
    assert main(["export", str(run), "--out", str(folder)]) == 2
    assert one_line(capsys) == (f"python -m bench: error: --out {folder} is a folder; give a "
                                f"file, e.g. {folder}/bench.json\n")
    assert [p.name for p in folder.iterdir()] == ["keep.json"]
    missing = tmp_path / "no" / "such" / "bench.json"
    assert main(["export", str(run), "--out", str(missing)]) == 2
    assert one_line(capsys).endswith(f"cannot write --out {missing}: No such file or directory\n")
    assert not (tmp_path / "no").exists()


# --- reports ---------------------------------------------------------------------------------
def test_reports_usage_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("reports.cli.PLOTS", [])
    assert reports_main([]) == 2
    assert "the following arguments are required: command" in one_line(capsys, "python -m reports")
    assert reports_main(["build", str(good_run(tmp_path / "r")), "--outt", "x"]) == 2
    assert "unrecognized arguments: --outt x" in one_line(capsys, "python -m reports")
    (tmp_path / "file").write_text("")
    assert reports_main(["build", str(tmp_path / "r"), "--out", str(tmp_path / "file")]) == 2
    assert f"cannot write --out {tmp_path / 'file'}: " in one_line(capsys, "python -m reports")
    assert (tmp_path / "file").read_text() == ""
