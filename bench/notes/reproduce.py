"""``python -m bench reproduce``: train each workload as the notes do and print what they print
(loss per epoch; for the CNN also train and held-out accuracy, and optionally the notes' preview
of four test images with their predicted and real labels, saved as a PNG), then what the
numbers mean against the notes (``bench.notes.meaning``) and a one-line summary. ``--seeds N``
trains each workload at N seeds and reports the final loss (and the CNN's held-out accuracy)
as mean and spread over them."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from bench.errors import UsageError
from bench.notes.meaning import Outcome, explain, spread_line, summary_line
from models import WORKLOADS, WorkloadConfig, build_workload
from models.data import mnist_datasets, mnist_loaders

PRINT_EVERY = {"sequential_sgd": 1000}  # the notes print every 1000th of its 10,000 epochs


def reproduce_mlp(name: str, epochs: int, seed: int = 0, tag: str | None = None) -> Outcome:
    """Full-batch training on the fixed random batch, printing the loss (the notes' epochs
    only, ``PRINT_EVERY``) after ``tag`` (default: the name); the loss of every epoch."""
    work = build_workload(name, WorkloadConfig(seed=seed))
    step, (x, y) = work.step("train")
    every, losses = PRINT_EVERY.get(name, 1), []
    for epoch in range(epochs):
        losses.append(float(step(x, y)))
        if epoch % every == 0 or epoch == epochs - 1:
            print(f"{tag or name} epoch {epoch}: loss {losses[-1]:.4f}")
    return Outcome(name, seed, losses)


def accuracy(module: nn.Module, loader) -> float:
    """Fraction of ``loader``'s images whose arg-max logit is the label (eval mode)."""
    module.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:  # (B, 1, 28, 28), (B,)
            correct += int((module(images).argmax(dim=1) == labels).sum())
            total += len(labels)
    return correct / total


def reproduce_forward(name: str, seed: int = 0, tag: str | None = None) -> Outcome:
    """A workload with nothing to train (the notes' tensor operations): one forward at the
    default size in eval mode, printing the output's shape and mean (kept as the outcome's
    one "loss")."""
    work = build_workload(name, WorkloadConfig(seed=seed))
    fn, (x,) = work.step("infer")
    out = fn(x)  # tensor_ops: (n,)
    mean = float(work.loss_fn(out, work.batch[1]))
    print(f"{tag or name}: nothing to train; one forward on {tuple(x.shape)}: "
          f"output {tuple(out.shape)}, mean {mean:.6g}")
    return Outcome(name, seed, [mean], trained=False)


def write_preview(module: nn.Module, path: Path, data_root: str | None, seed: int) -> None:
    """The notes' 随机选取测试集数据测试: four random held-out images with ``module``'s
    predicted and the real labels, saved as the PNG ``path``; prints the labels."""
    from bench.notes.preview import preview_batch, preview_figure

    images, labels = preview_batch(data_root, seed)  # (4, 1, 28, 28), (4,)
    fig = preview_figure(module, images, labels)
    fig.savefig(path, format="png", dpi=120)
    print(f"preview: {path} ({fig.axes[0].get_title()})")


def check_preview(path: str, names: list[str]) -> Path:
    """The ``--preview`` file, checked before any training: it needs the CNN among ``names``,
    a ``.png`` name and an existing folder. Raises ``UsageError`` otherwise."""
    if "mnist_cnn" not in names:
        raise UsageError(f"--preview shows MNIST predictions: it needs --workload mnist_cnn or "
                         f"all, not {names[0]!r}")
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--preview writes a PNG: give FILE.png, not {path!r}")
    if not out.parent.is_dir():
        raise UsageError(f"--preview folder does not exist: {out.parent}")
    return out


def reproduce_cnn(epochs: int, data_root: str | None, seed: int = 0,
                  preview: Path | None = None, tag: str | None = None) -> Outcome:
    """The notes' MNIST loop: Adam, batch 64, shuffled; prints per epoch the mean batch loss,
    train accuracy (measured during the epoch, dropout on) and held-out accuracy; then, given
    ``preview``, saves the notes' preview there. The outcome holds each epoch's mean loss and
    the last held-out accuracy (a fraction)."""
    work = build_workload("mnist_cnn", WorkloadConfig(data_root=data_root, seed=seed))
    train_loader, test_loader = mnist_loaders(64, data_root, seed=seed)
    losses, test_acc = [], float("nan")
    for epoch in range(epochs):
        start, loss_sum, correct, seen = time.perf_counter(), 0.0, 0, 0
        work.module.train()
        for images, labels in train_loader:  # (64, 1, 28, 28), (64,); the last batch 32
            loss, logits = work.fit_batch(images, labels)
            loss_sum += float(loss) * len(labels)
            correct += int((logits.argmax(dim=1) == labels).sum())
            seen += len(labels)
        test_acc = accuracy(work.module, test_loader)
        losses.append(loss_sum / seen)
        print(f"{tag or 'mnist_cnn'} epoch {epoch}: loss {losses[-1]:.4f}, "
              f"train accuracy {100 * correct / seen:.2f}%, "
              f"held-out accuracy {100 * test_acc:.2f}% ({time.perf_counter() - start:.0f} s)")
    if preview is not None:
        write_preview(work.module, preview, data_root, seed)
    return Outcome("mnist_cnn", seed, losses, test_acc, images=len(train_loader.dataset))


def _check(names: list[str], epochs: int | None, seeds: int, preview: str | None,
           data_root: str | None) -> Path | None:
    """Every argument of ``reproduce``, before anything trains; the preview path or None."""
    for name in names:
        if name not in WORKLOADS:
            raise UsageError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}, all")
    if epochs is not None and epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {epochs}")
    if seeds < 1:
        raise UsageError(f"--seeds must be at least 1, got {seeds}")
    preview_path = check_preview(preview, names) if preview is not None else None
    if data_root is not None and "mnist_cnn" in names:
        mnist_datasets(data_root)  # a bad file fails now, not after the other workloads train
    return preview_path


def _train(name: str, epochs: int | None, data_root: str | None, seed: int,
           preview: Path | None, tag: str | None) -> Outcome:
    """One workload at one seed, as the notes train it."""
    if "train" in WORKLOADS[name].refuses:  # nothing to train: one forward
        return reproduce_forward(name, seed, tag)
    n = epochs or WORKLOADS[name].notes_epochs
    if name == "mnist_cnn":
        return reproduce_cnn(n, data_root, seed, preview, tag)
    return reproduce_mlp(name, n, seed, tag)


def reproduce(workload: str, epochs: int | None, data_root: str | None, seed: int = 0,
              preview: str | None = None, seeds: int = 1) -> int:
    """Run the notes' training for ``workload`` (or ``all``) for ``epochs`` (default: the
    workload class's ``notes_epochs``) at ``seeds`` seeds from ``seed`` on (``seed``,
    ``seed + 1``, ...); after each workload print what its numbers mean against the notes
    (and, over several seeds, their mean and spread), and end with a one-line summary; exit
    status 0. ``preview``: a PNG path for the CNN's preview of four test images (first seed;
    checked before training). Raises ``UsageError`` for an unknown workload, ``epochs < 1``,
    ``seeds < 1`` or a bad preview path, and ``DataError`` for a bad MNIST file of
    ``data_root`` (``models.data``), before anything trains."""
    names = list(WORKLOADS) if workload == "all" else [workload]
    preview_path = _check(names, epochs, seeds, preview, data_root)
    results: dict[str, list[Outcome]] = {}
    for name in names:
        runs = results[name] = []
        for s in range(seed, seed + seeds):
            tag = f"{name} seed {s}" if seeds > 1 else None
            runs.append(_train(name, epochs, data_root, s, preview_path if s == seed else None,
                               tag))
        for line in explain(runs[0]):
            print(line)
        if seeds > 1:
            print(spread_line(runs))
    print(summary_line(results))
    return 0
