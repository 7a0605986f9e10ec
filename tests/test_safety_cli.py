"""Every bad input of ``run``, ``merge`` and ``reproduce`` that once gave a traceback (or a
silent surprise) ends with one line, exit 2, before anything is measured and with nothing
written (issue 16): ``--timeout`` out of range, an ``--out`` or ``--history`` that cannot be
a folder here, a broken ``meta.json`` to resume or merge, MNIST labels out of range, a
backend named twice or ``all`` among names. Cases are faked: nothing here measures."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest

import bench.cli
import bench.notes.reproduce
from bench.cli import main
from models.data import write_torchvision_layout
from tests import test_safety_data
from tests.test_safety_data import files_of, one_error, run_fake

fake_cases = test_safety_data.fake_cases  # autouse here too: cases faked, roofline counted


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "1e9"])
def test_a_timeout_out_of_range_is_one_line(value, tmp_path, capsys, fake_cases):
    for isolation in ("in-process", "process"):
        assert run_fake(tmp_path / "run", f"--timeout={value}", "--isolation", isolation) == 2
        shown = f"{float(value):g}"
        assert one_error(capsys) == (f"--timeout must be over 0 and at most 86400 seconds, "
                                     f"got {shown}; omit it for the profile's (600 s)")
    assert not (tmp_path / "run").exists() and fake_cases == []


def test_a_valid_timeout_is_used_as_given(tmp_path):
    args = bench.cli.build_parser().parse_args(["run", "--timeout", "0.5", "--out",
                                                str(tmp_path)])
    assert bench.cli.plan_run(args, "cpu", []).timeout_s == 0.5


def _bad_out(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Paths ``--out`` (or ``--history``) cannot be, and the message each gets."""
    file = tmp_path / "file.txt"
    file.write_text("not a folder")
    return {
        "a file": (file, f"{file} is a file; give a folder"),
        "under a file": (file / "run", f"{file / 'run'} is under {file}, which is a file; "
                                       "give a folder"),
        "under /proc": (Path("/proc/bench-run"), "/proc/bench-run: cannot write in /proc: "),
    }


@pytest.mark.parametrize("where", ["a file", "under a file", "under /proc"])
@pytest.mark.parametrize("flag", ["--out", "--history"])
def test_an_out_or_history_that_cannot_be_a_folder_is_refused_first(where, flag, tmp_path,
                                                                    capsys, fake_cases):
    path, says = _bad_out(tmp_path)[where]
    before = files_of(tmp_path)
    argv = ["--history", str(path)] if flag == "--history" else []
    out = path if flag == "--out" else tmp_path / "run"
    assert run_fake(out, *argv) == 2
    assert one_error(capsys).startswith(f"{flag} {says}")
    assert files_of(tmp_path) == before and fake_cases == []  # nothing measured or written
    assert not (tmp_path / "run").exists()


def test_a_read_only_folder_is_refused_first(tmp_path, capsys, monkeypatch, fake_cases):
    def read_only(**kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), kw["dir"])

    monkeypatch.setattr("bench.runfolder.tempfile.mkdtemp", read_only)
    assert run_fake(tmp_path / "run") == 2
    assert one_error(capsys) == (f"--out {tmp_path / 'run'}: cannot write in {tmp_path}: "
                                 "Read-only file system; give a folder you can write to")
    assert list(tmp_path.iterdir()) == [] and fake_cases == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_an_unwritable_folder_is_refused_first(tmp_path, capsys, fake_cases):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert run_fake(locked / "run") == 2
    assert "Permission denied; give a folder you can write to" in one_error(capsys)
    assert list(locked.iterdir()) == [] and fake_cases == []


def test_the_probe_leaves_nothing(tmp_path, capsys):
    assert run_fake(tmp_path / "a" / "b", "--history", str(tmp_path / "h")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "h"]


@pytest.mark.parametrize("text, says", [("{not json", "Expecting property name"),
                                        ("[]", "not a JSON object"), ("", "Expecting value")])
def test_resume_on_a_broken_meta_is_one_line(text, says, tmp_path, capsys, fake_cases):
    out = tmp_path / "run"
    assert run_fake(out) == 0
    (out / "meta.json").write_text(text)
    capsys.readouterr()
    before = files_of(out)
    assert run_fake(out, "--resume") == 2
    msg = one_error(capsys)
    assert msg.startswith(f"unreadable meta.json {out / 'meta.json'}: ") and says in msg
    assert files_of(out) == before and len(fake_cases) == 1


def test_merge_with_a_list_for_meta_is_one_line(tmp_path, capsys):
    for i in (1, 2):
        assert run_fake(tmp_path / f"s{i}", "--shard", f"{i}/2") == 0
    (tmp_path / "s2" / "meta.json").write_text("[]")
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out",
                 str(tmp_path / "m")]) == 2
    assert one_error(capsys) == (f"unreadable run metadata {tmp_path / 's2' / 'meta.json'}: "
                                 "not a JSON object")
    assert not (tmp_path / "m").exists()


# --- MNIST files ---------------------------------------------------------------------------
def _corrupt(root: Path, name: str, offset: int, value: int) -> Path:
    path = write_torchvision_layout(root) / name
    data = bytearray(path.read_bytes())
    data[offset] = value
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("name, offset, says", [
    ("train-labels-idx1-ubyte", 8 + 5, "holds label 200 at index 5; labels are 0-9"),
    ("t10k-labels-idx1-ubyte", 8, "holds label 200 at index 0; labels are 0-9"),
    ("t10k-images-idx3-ubyte", 11, None),  # 28 x 28 -> 200 x 28 (and so truncated)
])
def test_reproduce_on_bad_mnist_files_is_one_line_before_training(name, offset, says,
                                                                  tmp_path, capsys,
                                                                  monkeypatch):
    path = _corrupt(tmp_path, name, offset, 200)
    for step in ("reproduce_mlp", "reproduce_forward", "reproduce_cnn"):
        monkeypatch.setattr(bench.notes.reproduce, step, lambda *a: pytest.fail("trained"))
    assert main(["reproduce", "--data-root", str(tmp_path)]) == 2
    msg = one_error(capsys)
    assert str(path) in msg and (says is None or f"{says}; re-fetch it: " in msg)
    assert run_fake(tmp_path / "run", "--data-root", str(tmp_path)) == 2
    assert one_error(capsys) == msg and not (tmp_path / "run").exists()


def test_labels_for_other_images_are_one_line(tmp_path, capsys):
    raw = write_torchvision_layout(tmp_path)
    labels = raw / "t10k-labels-idx1-ubyte"
    data = labels.read_bytes()
    labels.write_bytes(data[:4] + (999).to_bytes(4, "big") + data[8 : 8 + 999])
    assert main(["reproduce", "--workload", "mnist_cnn", "--data-root", str(tmp_path)]) == 2
    assert one_error(capsys) == (f"MNIST file partial: {labels} holds 999 samples, "
                                 f"torchvision's MNIST has 10000; re-fetch it: torchvision."
                                 f"datasets.MNIST({str(tmp_path)!r}, download=True) on a "
                                 "machine with internet")


# --- names ---------------------------------------------------------------------------------
VALID_BACKENDS = ", ".join(bench.cli.BACKENDS)


@pytest.mark.parametrize("flag, value, says", [
    ("--backends", "eager,eager", "backend 'eager' given twice: name each once "
                                  f"(valid: {VALID_BACKENDS}, or all alone)"),
    ("--backends", "all,eager", "all stands alone: it already names every backend; give all, "
                                f"or a list of names (valid: {VALID_BACKENDS}, or all alone)"),
    ("--backends", "eager,all", "all stands alone: it already names every backend; give all, "
                                f"or a list of names (valid: {VALID_BACKENDS}, or all alone)"),
    ("--workloads", "manual_mlp, manual_mlp", "workload 'manual_mlp' given twice: "),
    ("--scenarios", "all,train", "all stands alone: it already names every scenario; "),
])
def test_a_name_twice_or_all_among_names_is_refused(flag, value, says, tmp_path, capsys):
    argv = ["run", "--profile", "quick", "--out", str(tmp_path / "run"), flag, value]
    assert main(argv) == 2
    msg = one_error(capsys)
    assert msg.startswith(says) and "unknown backend 'all'" not in msg
    assert not (tmp_path / "run").exists()


def test_the_help_says_how_names_are_read(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--workloads", "--backends", "--scenarios"):
        assert re.search(f"{flag} \\S+ comma-separated names[^-]*, or all alone \\(every one\\); "
                         "a name given twice is refused", text)
    assert "--overwrite replace the run already in --out" in text
    assert "--resume-anyway --resume even with other settings" in text
    assert "over 0 and at most 86400 (default: the profile's)" in text


def test_an_unforeseen_os_error_is_one_line_too(tmp_path, capsys, monkeypatch):
    def refused(plan):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/somewhere")

    monkeypatch.setattr(bench.cli, "execute_run", refused)
    assert run_fake(tmp_path / "run") == 2
    assert one_error(capsys) == "Permission denied: /somewhere"
