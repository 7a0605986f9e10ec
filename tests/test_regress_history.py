"""History: each run kept in its own folder, and a kept run read by compare and export."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.errors import UsageError
from bench.regress.history import append_history, history_name
from tests.test_regress_compare import row, write_run


def test_history_keeps_each_run_in_its_own_folder(tmp_path):
    run = tmp_path / "run"
    meta = {"utc_time": "2025-01-31T12:05:01+00:00", "git_commit": "70b08ae1234+dirty"}
    write_run(run, [row("eager", 1e-3, 1e-5)], meta)
    assert history_name(meta) == "2025-01-31T120501Z_70b08ae-dirty"
    first, second = append_history(run, tmp_path / "h"), append_history(run, tmp_path / "h")
    assert first.name == "2025-01-31T120501Z_70b08ae-dirty" and second.name.endswith("-2")
    assert sorted(p.name for p in first.iterdir()) == ["meta.json", "results.csv"]


def test_history_refuses_a_folder_without_its_files(tmp_path):
    run = tmp_path / "run"
    write_run(run, [row("eager", 1e-3, 1e-5)])
    with pytest.raises(UsageError, match=r"in history: no meta\.json$"):
        append_history(run, tmp_path / "h")
    (run / "meta.json").write_text("{not json")
    with pytest.raises(UsageError, match="^unreadable run metadata .*meta.json: Expecting"):
        append_history(run, tmp_path / "h")


def test_run_with_history_then_compare_and_export(tmp_path, capsys):
    """One real eager case: ``--history`` keeps a copy that compare and export read."""
    out, hist = tmp_path / "run", tmp_path / "hist"
    assert main(["run", "--workloads", "manual_mlp", "--scenarios", "infer", "--backends",
                 "eager", "--profile", "quick", "--rounds", "1", "--out", str(out),
                 "--history", str(hist)]) == 0
    (kept,) = hist.iterdir()
    assert sorted(p.name for p in kept.iterdir()) == ["meta.json", "results.csv"]
    assert main(["compare", str(out), str(kept)]) == 0
    assert "0 regression, 0 improvement, 1 no change" in capsys.readouterr().out
    assert main(["export", str(kept)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["name"] == "manual_mlp/infer/eager/cpu" and entry["unit"] == "s"
