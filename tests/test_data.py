"""MNIST: the shipped subset, the torchvision path, and broken files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.cli import main
from models.data import (
    N_TEST,
    N_TRAIN,
    DataError,
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
    assert (len(tv_train), len(tv_test)) == (N_TRAIN, N_TEST)
    for ours, theirs in [(ours_train, tv_train), (ours_test, tv_test)]:
        for i in (0, 1, len(ours) - 1):
            (x_a, y_a), (x_b, y_b) = ours[i], theirs[i]
            assert torch.equal(x_a, x_b) and y_a == y_b
    assert torch.equal(tv_train.targets, torch.from_numpy(shipped_subset()[1]))


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
