"""Measured data is never destroyed (issue 16): a folder that holds a run is refused unless
``--resume`` or ``--overwrite``, by ``run`` and ``merge`` alike; one writer at a time holds a
run folder's lock; ``--resume`` refuses other settings unless ``--resume-anyway``, and every
invocation records its own; ``results.csv`` and ``results.parquet`` are written as one step,
and a full disk ends with one line and both files at the last complete state; a torn
reference is built again. Cases are faked (``run_one``): nothing here measures."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import bench.cli
from bench import runner
from bench.case import Case
from bench.cli import main
from bench.errors import UsageError
from bench.precision import apply_precision
from bench.regress.history import append_history
from bench.results import ResultsWriter
from bench.runfolder import LOCK_FILE
from bench.runner import case_row
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "python -m bench: error: "


@pytest.fixture(autouse=True)
def fake_cases(monkeypatch):
    """Every case is a row at once (``unsupported``: nothing measured), and the roofline is a
    constant; ``calls`` counts the roofline measurements (one per planned run)."""
    calls = []

    def roofline(device, threads):
        calls.append(device)
        return {"matmul_flops_per_s": 1e9, "copy_bytes_per_s": 1e9, "launch_floor_s": 1e-6}

    def one(case, cfg, *, refs, timeout_s, in_process):
        return case_row(case, cfg.run_id, status="unsupported", error="faked by the test"), []

    monkeypatch.setattr(bench.cli, "measure_roofline", roofline)
    monkeypatch.setattr(bench.cli, "run_one", one)
    yield calls
    apply_precision(False)  # a --tf32 test leaves torch's flags as every other test expects


def run_fake(out: Path, *argv: str, scenarios: str = "train,infer") -> int:
    return main(["run", "--workloads", "manual_mlp", "--backends", "eager", "--scenarios",
                 scenarios, "--profile", "quick", "--rounds", "1", "--order", "workload",
                 "--out", str(out), *argv])


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_error(capsys) -> str:
    """The one error line on stderr (after the progress bar of a run that began), its text."""
    err = capsys.readouterr().err
    *bar, last, end = err.split("\n")
    assert end == "" and last.startswith(PREFIX) and err.count(PREFIX) == 1, err
    assert "Traceback" not in err and all("case/s" in line for line in bar), err
    return last[len(PREFIX):]


def _measured(tmp_path: Path, capsys, *argv: str) -> Path:
    out = tmp_path / "run"
    assert run_fake(out, *argv) == 0
    capsys.readouterr()
    return out


# --- 1, 2: a folder that holds a run --------------------------------------------------------
def test_run_into_a_run_without_resume_is_refused_and_keeps_it(tmp_path, capsys, fake_cases):
    out = _measured(tmp_path, capsys)
    before = files_of(out)
    assert run_fake(out) == 2
    assert one_error(capsys) == (
        f"{out} already holds a run (meta.json, results.csv, results.parquet); give --resume "
        "to complete it, or --overwrite to replace it")
    assert files_of(out) == before and len(fake_cases) == 1  # nothing measured the second time


def test_a_folder_with_only_results_is_a_run_too(tmp_path, capsys):
    out = _measured(tmp_path, capsys)
    (out / "meta.json").unlink()
    assert run_fake(out) == 2
    assert "already holds a run (results.csv, results.parquet)" in one_error(capsys)


def test_an_empty_or_foreign_folder_is_written(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert run_fake(tmp_path) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2


def test_overwrite_replaces_the_run_and_its_references(tmp_path, capsys):
    out = _measured(tmp_path, capsys)
    old_id = json.loads((out / "meta.json").read_text())["run_id"]
    (out / ".references" / "manual_mlp-train-cpu.npz").write_bytes(b"stale")
    assert run_fake(out, "--overwrite", scenarios="infer") == 0
    df = pd.read_csv(out / "results.csv")
    assert list(df["scenario"]) == ["infer"] and len(pd.read_parquet(out / "results.parquet")) == 1
    meta = json.loads((out / "meta.json").read_text())
    assert len(meta["invocations"]) == 1 and "resumed_from" not in meta
    assert set(df["run_id"]) == {meta["run_id"]} and old_id  # a fresh run
    assert list((out / ".references").iterdir()) == []


def test_overwrite_and_resume_together_are_refused(tmp_path, capsys):
    assert run_fake(tmp_path / "run", "--overwrite", "--resume") == 2
    assert one_error(capsys).startswith("--overwrite replaces the run in --out, --resume ")
    assert not (tmp_path / "run").exists()


def _shards(tmp_path: Path, capsys) -> list[str]:
    for i in (1, 2):
        assert run_fake(tmp_path / f"s{i}", "--shard", f"{i}/2") == 0
    capsys.readouterr()
    return [str(tmp_path / "s1"), str(tmp_path / "s2")]


def test_merge_into_a_run_is_refused_unless_overwrite(tmp_path, capsys):
    shards = _shards(tmp_path, capsys)
    out = _measured(tmp_path, capsys)
    before = files_of(out)
    assert main(["merge", *shards, "--out", str(out)]) == 2
    assert one_error(capsys) == (f"{out} already holds a run (meta.json, results.csv, "
                                  "results.parquet); give --overwrite to replace it")
    assert files_of(out) == before
    assert main(["merge", *shards, "--out", str(out), "--overwrite"]) == 0
    assert len(pd.read_csv(out / "results.csv")) == len(pd.read_parquet(out / "results.parquet"))
    assert json.loads((out / "meta.json").read_text())["shards"] == ["1/2", "2/2"]


def test_merge_over_one_of_its_shards_needs_overwrite(tmp_path, capsys):
    first, second = _shards(tmp_path, capsys)
    before = files_of(Path(first))
    assert main(["merge", first, second, "--out", first]) == 2
    assert "already holds a run" in one_error(capsys) and files_of(Path(first)) == before
    assert main(["merge", first, second, "--out", first, "--overwrite"]) == 0
    assert len(pd.read_csv(Path(first) / "results.csv")) == 2


# --- 3: one writer at a time ----------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import sys
    from bench.results import ResultsWriter
    writer = ResultsWriter(sys.argv[1], resume=True)
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes the pipe
""")


@pytest.fixture
def held(tmp_path, capsys):
    """A run folder whose lock another process holds: ``(folder, holder)``."""
    out = _measured(tmp_path, capsys)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == "locked\n"
    yield out, proc
    proc.stdin.close()
    proc.wait(timeout=60)


def test_a_second_writer_is_refused_naming_the_holder(held, capsys, fake_cases):
    out, proc = held
    before = files_of(out)
    assert run_fake(out, "--resume", scenarios="train,infer,debug") == 2
    msg = one_error(capsys)
    assert msg.startswith(f"run folder {out} is in use by pid {proc.pid} on ")
    assert msg.endswith("wait for that run to end, or give another --out")
    assert files_of(out) == before and len(fake_cases) == 1
    assert main(["merge", str(out), "--out", str(out), "--overwrite"]) == 2
    assert f"is in use by pid {proc.pid} " in one_error(capsys)


def test_the_lock_goes_with_its_holder(held, capsys):
    out, proc = held
    proc.stdin.close()
    proc.wait(timeout=60)
    assert not (out / LOCK_FILE).exists()
    assert run_fake(out, "--resume", scenarios="train,infer,debug") == 0
    assert len(pd.read_csv(out / "results.csv")) == 3 and not (out / LOCK_FILE).exists()


def test_two_writers_in_one_process_and_a_stale_lock_file(tmp_path):
    with ResultsWriter(tmp_path / "run") as writer:
        with pytest.raises(UsageError, match=f"is in use by pid {os.getpid()} "):
            ResultsWriter(tmp_path / "run", resume=True)
        writer.add(case_row(Case("manual_mlp", "train", "eager", "cpu"), "r",
                            status="unsupported", error="x"))
    (tmp_path / "run" / LOCK_FILE).write_text('{"pid": 1}')  # a killed writer's: not locked
    assert len(ResultsWriter(tmp_path / "run", resume=True).rows) == 1


# --- 4: resume checks the settings; invocations record them ---------------------------------
@pytest.mark.parametrize("first, again, says", [
    (["--threads", "1"], ["--threads", "2"], "threads 1, this run has 2"),
    ([], ["--tf32"], "precision TF32 off, this run has TF32 on (--tf32)"),
])
def test_resume_with_other_settings_is_refused(first, again, says, tmp_path, capsys):
    out = _measured(tmp_path, capsys, *first)
    before = files_of(out)
    assert run_fake(out, "--resume", *again) == 2
    assert one_error(capsys) == (f"cannot resume {out}: it was measured with {says}; give "
                                  "the same settings, or --resume-anyway to mix them")
    assert files_of(out) == before


@pytest.mark.parametrize("key, value", [("torch", "1.0.0"), ("jax", "0.1"), ("python", "3.8.0"),
                                        ("profile", "full")])
def test_resume_under_other_versions_or_profile_is_refused(key, value, tmp_path, capsys):
    out = _measured(tmp_path, capsys)
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps({**meta, key: value}))
    before = files_of(out)
    assert run_fake(out, "--resume") == 2
    assert f"it was measured with {key} {value}, this run has " in one_error(capsys)
    assert files_of(out) == before


def test_resume_anyway_mixes_them_and_each_invocation_records_its_own(tmp_path, capsys):
    out = _measured(tmp_path, capsys, "--threads", "1")
    assert run_fake(out, "--resume-anyway", "--threads", "2", "--isolation", "process",
                scenarios="train,infer,debug") == 0
    assert "note: resuming" in capsys.readouterr().err
    meta = json.loads((out / "meta.json").read_text())
    first, second = meta["invocations"]
    assert (first["threads"], second["threads"], meta["threads"]) == (1, 2, 2)
    assert (first["isolation"], second["isolation"]) == ("in-process", "process per case")
    assert first["profile"] == second["profile"] == "quick"
    assert first["torch"] == second["torch"] and "tf32_matmul" in first["precision"]
    assert len(pd.read_csv(out / "results.csv")) == 3


# --- 5: a torn reference is built again ------------------------------------------------------
@pytest.mark.parametrize("torn", [b"", b"PK\x03\x04 cut", b"not a zip at all"])
def test_a_torn_reference_is_built_again(torn, tmp_path):
    case = Case("manual_mlp", "infer", "eager", "cpu")
    good = runner.References(tmp_path).get(case, TINY)
    path = tmp_path / "manual_mlp-infer-cpu.npz"
    path.write_bytes(torn)
    again = runner.References(tmp_path).get(case, TINY)
    assert again.eager_err == good.eager_err
    assert runner.parity.Reference.load(path).eager_err == good.eager_err  # replaced


# --- 6: both results files in one step; a full disk keeps the last complete state ------------
def _full_after(monkeypatch, method: str, writes: int):
    """``DataFrame.<method>`` raises ENOSPC from its ``writes + 1``-th call on; returns the
    real method."""
    real, calls = getattr(pd.DataFrame, method), []

    def write(self, *a, **k):
        calls.append(1)
        if len(calls) > writes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, method, write)
    return real


@pytest.mark.parametrize("method, writes", [("to_csv", 2), ("to_parquet", 2)])
def test_disk_full_ends_with_one_line_and_the_last_complete_state(method, writes, tmp_path,
                                                                  capsys, monkeypatch):
    out = tmp_path / "run"
    real = _full_after(monkeypatch, method, writes)
    assert run_fake(out, scenarios="train,infer,shapes,debug") == 2
    assert one_error(capsys) == (
        f"cannot write the results in {out}: No space left on device; results.csv and "
        "results.parquet keep their 2 cases (--resume completes the run once it can be "
        "written)")
    monkeypatch.setattr(pd.DataFrame, method, real)  # space again
    csv, parquet = pd.read_csv(out / "results.csv"), pd.read_parquet(out / "results.parquet")
    assert list(csv["scenario"]) == list(parquet["scenario"]) == ["train", "infer"]
    assert sorted(p.name for p in out.iterdir()) == [".references", "meta.json",
                                                    "results.csv", "results.parquet"]
    assert run_fake(out, "--resume", scenarios="train,infer,shapes,debug") == 0
    assert len(pd.read_csv(out / "results.csv")) == 4


def test_a_full_disk_for_meta_json_is_one_line_too(tmp_path, capsys, monkeypatch):
    def full(path, obj):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("bench.results.write_json", full)
    assert run_fake(tmp_path / "run") == 2
    assert one_error(capsys) == (f"cannot write {tmp_path / 'run' / 'meta.json'}: No space "
                                  "left on device; the previous one is kept")
    assert not (tmp_path / "run" / LOCK_FILE).exists()


def test_a_parquet_ahead_of_its_csv_is_rewritten_on_resume(tmp_path, capsys):
    out = _measured(tmp_path, capsys)
    csv = pd.read_csv(out / "results.csv")
    pd.concat([csv, csv]).to_parquet(out / "results.parquet", index=False)  # cut between renames
    with ResultsWriter(out, resume=True) as writer:
        assert len(writer.rows) == 2
    assert len(pd.read_parquet(out / "results.parquet")) == 2


def test_history_is_kept_whole_or_not_at_all(tmp_path, capsys, monkeypatch):
    out = _measured(tmp_path, capsys)
    real, calls = shutil.copy2, []

    def copy2(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)

    monkeypatch.setattr(shutil, "copy2", copy2)
    with pytest.raises(UsageError, match="No space left on device$"):
        append_history(out, tmp_path / "h")
    assert list((tmp_path / "h").iterdir()) == []  # no half copy, no temporary folder
    monkeypatch.setattr(shutil, "copy2", real)
    kept = append_history(out, tmp_path / "h")
    assert [p.name for p in (tmp_path / "h").iterdir()] == [kept.name]
    assert files_of(kept) == {f: (out / f).read_bytes() for f in ("meta.json", "results.csv")}
