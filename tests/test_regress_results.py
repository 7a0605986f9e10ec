"""Reading run folders for the regression side: the validated results frame, the duplicate-case
check compare and merge share, ``meta.json`` through the schema's reader, and merge."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from bench.cli import main
from bench.errors import UsageError
from bench.regress.merge import merge
from bench.results import (
    ResultsWriter,
    case_name,
    duplicate_case,
    read_results,
    read_run_meta,
    rows_frame,
)
from bench.schema import COLUMNS, LATER_COLUMNS
from tests.test_regress_compare import row, write_run


def test_results_round_trip_with_the_schemas_columns(tmp_path):
    write_run(tmp_path, [row("eager", 1e-3, 1e-5)])
    df = read_results(tmp_path)
    assert list(df.columns) == COLUMNS and df.loc[0, "step_median_s"] == 1e-3
    assert pd.read_parquet(tmp_path / "results.parquet").columns.tolist() == COLUMNS


def test_an_older_folder_reads_with_later_columns_empty(tmp_path):
    rows_frame([row("eager", 1e-3, 1e-5)]).drop(columns=list(LATER_COLUMNS)).to_csv(
        tmp_path / "results.csv", index=False)
    df = read_results(tmp_path)
    assert list(df.columns) == COLUMNS and df[list(LATER_COLUMNS)].isna().all().all()


def test_broken_results_files_name_the_path(tmp_path):
    with pytest.raises(UsageError, match=f"^no results file: {tmp_path}/results.csv$"):
        read_results(tmp_path)
    (tmp_path / "results.csv").write_text("")
    with pytest.raises(UsageError, match="^corrupt results file "):
        read_results(tmp_path)
    pd.DataFrame({"workload": ["x"]}).to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(UsageError, match="lacks columns: run_id, scenario, backend"):
        read_results(tmp_path)


def test_duplicate_case_names_the_first_case_with_two_rows():
    one, other = row("eager", 1e-3, 1e-5), row("compile", 1e-3, 1e-5)
    assert case_name(one) == "manual_mlp/train/eager/cpu"
    assert duplicate_case(rows_frame([one, other])) is None
    assert duplicate_case(rows_frame([other, one, one])) == "manual_mlp/train/eager/cpu"


def test_run_meta_is_read_once_with_merges_messages(tmp_path):
    meta = {"run_id": "r", "device": "cpu"}
    ResultsWriter(tmp_path).write_meta(meta)
    path = tmp_path / "meta.json"
    assert read_run_meta(tmp_path) == meta
    assert path.read_text() == json.dumps(meta, indent=2, sort_keys=True) + "\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # not mkstemp's 0600
    path.write_text("{not json")
    with pytest.raises(UsageError) as err:
        read_run_meta(tmp_path)
    assert str(err.value) == (f"unreadable run metadata {path}: "
                              "Expecting property name enclosed in double quotes: "
                              "line 1 column 2 (char 1)")
    path.unlink()
    with pytest.raises(UsageError) as err:
        read_run_meta(tmp_path)
    assert str(err.value) == (f"unreadable run metadata {path}: "
                              f"[Errno 2] No such file or directory: '{path}'")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _shard(folder, backend, meta=None):
    base = {"run_id": folder.name, "device": "cpu", "warnings": [f"w-{backend}", "shared"],
            "shard": folder.name}
    write_run(folder, [row(backend, 1e-3, 1e-5)], base | (meta or {}))
    return folder


def test_merge_joins_shards_under_the_first_run_id(tmp_path, capsys):
    a, b = _shard(tmp_path / "a", "eager"), _shard(tmp_path / "b", "compile")
    assert merge([a, b], tmp_path / "m") == 0
    assert capsys.readouterr().out == f"merged 2 folders, 2 cases, into {tmp_path / 'm'}\n"
    df = read_results(tmp_path / "m")
    assert list(df["backend"]) == ["eager", "compile"] and set(df["run_id"]) == {"a"}
    meta = read_run_meta(tmp_path / "m")
    assert (meta["merged_from"], meta["shards"]) == (["a", "b"], ["a", "b"])
    assert meta["warnings"] == ["w-eager", "shared", "w-compile"]


def test_merge_refusals_are_one_line_and_exit_2(tmp_path, capsys):
    a, b = _shard(tmp_path / "a", "eager"), _shard(tmp_path / "b", "eager", {"threads": 2})
    dirs = ["merge", str(a), str(b), "--out", str(tmp_path / "m")]
    assert main(dirs) == 2
    assert "cannot merge runs with different threads: 2, null\n" in capsys.readouterr().err
    _shard(tmp_path / "c", "eager")
    assert main([*dirs[:2], str(tmp_path / "c"), *dirs[3:]]) == 2
    assert "case measured twice: manual_mlp/train/eager/cpu\n" in capsys.readouterr().err
    (a / "meta.json").write_text("[]")
    assert main(dirs) == 2
    assert f"unreadable run metadata {a}/meta.json: not a JSON object" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
