"""MNIST: the shipped subset, the torchvision path, and broken files."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
import torch

from bench.cli import main
from models.data import (
    GZ_MD5,
    IDX_FILES,
    N_SAMPLES,
    N_TEST,
    N_TRAIN,
    DataError,
    _write_idx,
    check_gz,
    check_idx_file,
    mnist_datasets,
    mnist_loaders,
    shipped_subset,
    write_torchvision_layout,
)


def test_shipped_subset_split():
    train_x, train_y, test_x, test_y = shipped_subset()
    assert train_x.shape == (N_TRAIN, 28, 28) and test_x.shape == (N_TEST, 28, 28)
    assert train_x.dtype == np.uint8 and train_x.max() == 255
    assert sorted(set(train_y.tolist())) == list(range(10))
    counts = np.bincount(test_y, minlength=10)
    assert counts.min() > 60  # the permutation mixes the class-sorted subset


def test_loader_batches_are_normalized_like_the_notes():
    train_loader, _ = mnist_loaders(batch_size=64)
    images, labels = next(iter(train_loader))
    assert images.shape == (64, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64
    assert images.min() == -1.0 and images.max() == 1.0  # (x/255 - 0.5) / 0.5
    assert len(train_loader) == 63  # 62 full batches and a last one of 32


def test_torchvision_layout_round_trip(tmp_path):
    write_torchvision_layout(tmp_path)
    tv_train, tv_test = mnist_datasets(tmp_path)
    ours_train, ours_test = mnist_datasets(None)
    assert type(tv_train).__name__ == "MNIST"
    assert (len(tv_train), len(tv_test)) == (60_000, 10_000)  # the subset, repeated
    for ours, theirs in [(ours_train, tv_train), (ours_test, tv_test)]:
        for i in (0, 1, len(ours) - 1):
            (x_a, y_a), (x_b, y_b) = ours[i], theirs[i]
            assert torch.equal(x_a, x_b) and y_a == y_b
    assert torch.equal(tv_train.targets[:N_TRAIN], torch.from_numpy(shipped_subset()[1]))


def _truncate(tmp_path):
    raw = write_torchvision_layout(tmp_path)
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    return path


def test_truncated_file_raises_naming_the_path(tmp_path):
    path = _truncate(tmp_path)
    with pytest.raises(DataError, match="truncated: .*train-images-idx3-ubyte"):
        mnist_datasets(tmp_path)
    path.unlink()
    with pytest.raises(DataError, match="missing: .*train-images-idx3-ubyte"):
        mnist_datasets(tmp_path)


@pytest.mark.parametrize("command", ["run", "reproduce"])
def test_truncated_file_exits_2_with_one_line(tmp_path, capsys, command):
    path = _truncate(tmp_path)
    status = main([command, "--workloads" if command == "run" else "--workload", "mnist_cnn",
                   "--data-root", str(tmp_path), *(["--out", str(tmp_path / "run")]
                                                   if command == "run" else [])])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and str(path) in err
    assert err.rstrip().endswith(f"torchvision.datasets.MNIST({str(tmp_path)!r}, download=True) "
                                 "on a machine with internet")


# --- torchvision's files, checked on tiny synthetic idx files (nothing downloaded) ---------
def _tiny_layout(root, n_train=3, n_test=2):
    """The four raw files holding ``n_train`` / ``n_test`` blank samples: a partial set."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, (magic, ndim) in IDX_FILES.items():
        n = n_train if name.startswith("train") else n_test
        _write_idx(raw / name, np.zeros((n, 28, 28) if ndim == 3 else (n,)), magic)
    return raw


@pytest.mark.parametrize("damage, says", [
    (lambda b: (2049).to_bytes(4, "big") + b[4:], r"corrupt \(bad idx header, magic 2051"),
    (lambda b: b[:-1], "truncated: .* has 2367 bytes, header says 2368"),
    (lambda b: b, "partial: .* holds 3 samples, torchvision's MNIST has 60000"),
])
def test_bad_torchvision_file_is_named_in_one_line(tmp_path, damage, says):
    path = _tiny_layout(tmp_path) / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=says) as caught:
        mnist_datasets(tmp_path)
    msg = str(caught.value)
    assert "\n" not in msg and str(path) in msg and "download=True" in msg


def test_partial_labels_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(N_SAMPLES, "train", 3)  # the images pass; the test labels do not
    monkeypatch.setitem(N_SAMPLES, "t10k", 2)
    raw = _tiny_layout(tmp_path)
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.zeros(1), 2049)
    with pytest.raises(DataError, match="partial: .*t10k-labels-idx1-ubyte holds 1 samples"):
        mnist_datasets(tmp_path)


def test_gz_is_checked_against_torchvision_md5(tmp_path, monkeypatch):
    assert GZ_MD5["train-images-idx3-ubyte"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    raw = _tiny_layout(tmp_path)
    name = "train-images-idx3-ubyte"  # the first file checked
    gz = raw / f"{name}.gz"
    gz.write_bytes(gzip.compress((raw / name).read_bytes()))
    with pytest.raises(DataError, match=f"corrupt: {gz} has MD5 .*, torchvision lists "
                                        f"{GZ_MD5[name]}; re-fetch"):
        mnist_datasets(tmp_path)
    (raw / name).unlink()  # a good .gz alone is extracted, as torchvision's download does
    monkeypatch.setitem(GZ_MD5, name, hashlib.md5(gz.read_bytes()).hexdigest())
    check_gz(raw, name)
    assert check_idx_file(raw / name, 2051, 3, 3) == [3, 28, 28]
