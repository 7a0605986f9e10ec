"""The notes' preview of four random test images with predicted and real labels: drawn from an
untrained CNN (no training here), the PNG it writes, and ``reproduce --preview`` end to end on a
shrunken loader."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torchvision
from matplotlib import image as mpimg
from torch.utils.data import DataLoader, Subset

import bench.notes.reproduce
from bench.cli import main
from bench.notes.preview import (
    labels_title,
    plot_predictions,
    predict,
    preview_batch,
    preview_figure,
)
from models import WorkloadConfig, build_workload
from models.data import mnist_datasets

TITLE = re.compile(r"^Predicted: (\d) (\d) (\d) (\d) \| Real: (\d) (\d) (\d) (\d)$")


@pytest.fixture(scope="module")
def cnn():
    return build_workload("mnist_cnn", WorkloadConfig(batch_size=4)).module  # untrained


def test_preview_png_titles_the_argmax_predictions(cnn, tmp_path):
    images, real = preview_batch(seed=0)
    assert images.shape == (4, 1, 28, 28) and real.shape == (4,)
    with torch.no_grad():
        expected = cnn.eval()(images).argmax(dim=1).tolist()  # (4,)
    fig = preview_figure(cnn, images, real)
    path = tmp_path / "preview.png"
    fig.savefig(path, format="png", dpi=100)
    pixels = mpimg.imread(path)  # (H, W, 4) float in [0, 1]
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert 150 <= pixels.shape[0] <= 400 and 400 <= pixels.shape[1] <= 900  # 6 x 1.95 in, 100 dpi
    assert pixels[..., :3].std() > 0.05  # not a blank canvas
    found = TITLE.match(fig.axes[0].get_title())
    assert found, fig.axes[0].get_title()
    labels = [int(g) for g in found.groups()]
    assert labels[:4] == expected and labels[4:] == real.tolist()


def test_the_grid_is_un_normalized_like_the_notes(cnn):
    images, real = preview_batch(seed=0)
    fig = preview_figure(cnn, images, real)
    ax = plot_predictions(images, predict(cnn, images), real, fig.add_subplot())
    assert ax is fig.axes[-1]
    shown = np.asarray(ax.images[0].get_array())  # (32, 122, 3): 4 cells of 28 + padding 2
    grid = torchvision.utils.make_grid(images).numpy().transpose(1, 2, 0)
    assert shown.shape == (32, 2 + 30 * 4, 3)
    np.testing.assert_allclose(shown, np.clip(grid * 0.5 + 0.5, 0, 1), atol=1e-6)
    assert shown.min() == pytest.approx(0.0, abs=1e-6) and shown.max() > 0.9  # ink and paper


def test_preview_batch_is_seeded_and_shuffled():
    first, labels = preview_batch(seed=0)
    again, same = preview_batch(seed=0)
    assert torch.equal(first, again) and torch.equal(labels, same)
    _, test = mnist_datasets()
    in_order = torch.stack([test[i][0] for i in range(4)])
    assert not torch.equal(first, in_order)  # shuffle=True, as the notes load it
    assert labels_title(torch.tensor([3, 1, 4, 1]), torch.tensor([3, 1, 4, 7])) == \
        "Predicted: 3 1 4 1 | Real: 3 1 4 7"


@pytest.mark.parametrize("argv, says", [
    (["--workload", "manual_mlp", "--preview", "p.png"], "needs --workload mnist_cnn"),
    (["--workload", "mnist_cnn", "--preview", "p.jpg"], "give FILE.png"),
    (["--workload", "mnist_cnn", "--preview", "no/such/dir/p.png"], "does not exist"),
])
def test_bad_preview_is_one_line_before_training(argv, says, capsys):
    assert main(["reproduce", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err


def test_reproduce_writes_the_preview(monkeypatch, tmp_path, capsys):
    def tiny_loaders(batch_size, data_root=None, seed=0):  # 8 training images, 4 test images
        train, test = mnist_datasets(data_root)
        return (DataLoader(Subset(train, range(8)), batch_size=4),
                DataLoader(Subset(test, range(4)), batch_size=4))

    monkeypatch.setattr(bench.notes.reproduce, "mnist_loaders", tiny_loaders)
    path = tmp_path / "preview.png"
    argv = ["reproduce", "--workload", "mnist_cnn", "--epochs", "1", "--preview", str(path)]
    assert main(argv) == 0
    assert mpimg.imread(path).shape[2] in (3, 4)
    out = capsys.readouterr().out.splitlines()  # "preview: PATH (Predicted: ... )", summary
    line = next(line for line in out if line.startswith("preview: "))
    assert out[-1].startswith("summary: ")
    assert line.startswith(f"preview: {path} (") and TITLE.match(line[line.rindex("(") + 1:-1])
