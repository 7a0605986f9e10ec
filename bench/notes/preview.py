"""The notes' "随机选取测试集数据测试": four random held-out MNIST images shown in one grid, with
the network's predicted and the real labels in the title (matplotlib, Agg). Writes no file."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from models.data import MEAN, STD, mnist_datasets  # noqa: E402

PREVIEW_BATCH = 4  # the notes' batch_size=4


def preview_batch(data_root: str | os.PathLike | None = None, seed: int = 0
                  ) -> tuple[Tensor, Tensor]:
    """Four random held-out images and their labels, drawn as the notes draw them: the first
    batch of a ``DataLoader`` over the test set with ``batch_size=4, shuffle=True`` (seeded).
    Returns ``(images (4, 1, 28, 28) float32, normalized; labels (4,) int64)``."""
    _, test = mnist_datasets(data_root)
    gen = torch.Generator().manual_seed(seed)
    loader = DataLoader(test, batch_size=PREVIEW_BATCH, shuffle=True, generator=gen)
    return next(iter(loader))


def predict(module: nn.Module, images: Tensor) -> Tensor:
    """The arg-max class of each image ``(B, 1, 28, 28)`` -> ``(B,)``, in eval mode, no grad."""
    module.eval()
    with torch.no_grad():
        return module(images).argmax(dim=1)


def labels_title(predicted: Tensor, real: Tensor) -> str:
    """``"Predicted: 3 1 4 1 | Real: 3 1 4 7"``."""
    def spaced(labels: Tensor) -> str:
        return " ".join(str(int(v)) for v in labels)

    return f"Predicted: {spaced(predicted)} | Real: {spaced(real)}"


def plot_predictions(images: Tensor, predicted: Tensor, real: Tensor, ax: Axes) -> Axes:
    """``images (B, 1, 28, 28)`` (normalized) in one ``make_grid`` row, un-normalized for display
    as the notes do (``img * std + mean``), titled with the ``(B,)`` predicted and real labels."""
    grid = torchvision.utils.make_grid(images.detach().cpu())  # (3, 32, 2 + 30 B): gray as RGB
    img = grid.numpy().transpose(1, 2, 0)  # (32, 2 + 30 B, 3): matplotlib's (H, W, C)
    img = img * STD + MEAN  # [-1, 1] -> [0, 1]
    ax.imshow(np.clip(img, 0.0, 1.0))  # clip: float rounding must not trip imshow's range check
    ax.set_title(labels_title(predicted, real))
    ax.set_axis_off()
    return ax


def preview_figure(module: nn.Module, images: Tensor, real: Tensor) -> Figure:
    """A figure of ``images`` with ``module``'s predictions and the ``real`` labels."""
    fig = Figure(figsize=(6.0, 1.95), layout="constrained")
    plot_predictions(images, predict(module, images), real, fig.add_subplot())
    return fig
