"""``python -m bench reproduce``: train each workload as the notes do and print what they print
(loss per epoch; for the CNN also train and held-out accuracy)."""

from __future__ import annotations

import time

import torch
from torch import nn

from bench.errors import UsageError
from models import WORKLOADS, WorkloadConfig, build_workload
from models.data import mnist_loaders

NOTES_EPOCHS = {  # the notes' epoch_n per program; the CNN: 2 (the notes run 1)
    "manual_mlp": 30, "autograd_mlp": 20, "sequential_sgd": 10000, "sequential_adam": 300,
    "mnist_cnn": 2,
}  # fmt: skip
PRINT_EVERY = {"sequential_sgd": 1000}  # the notes print every 1000th of its 10,000 epochs


def reproduce_mlp(name: str, epochs: int, seed: int = 0) -> float:
    """Full-batch training on the fixed random batch; prints the loss; returns the last loss."""
    work = build_workload(name, WorkloadConfig(seed=seed))
    step, (x, y) = work.step("train")
    every = PRINT_EVERY.get(name, 1)
    loss = float("nan")
    for epoch in range(epochs):
        loss = float(step(x, y))
        if epoch % every == 0 or epoch == epochs - 1:
            print(f"{name} epoch {epoch}: loss {loss:.4f}")
    return loss


def accuracy(module: nn.Module, loader) -> float:
    """Fraction of ``loader``'s images whose arg-max logit is the label (eval mode)."""
    module.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:  # (B, 1, 28, 28), (B,)
            correct += int((module(images).argmax(dim=1) == labels).sum())
            total += len(labels)
    return correct / total


def reproduce_cnn(epochs: int, data_root: str | None, seed: int = 0) -> float:
    """The notes' MNIST loop: Adam, batch 64, shuffled; prints per epoch the mean batch loss,
    train accuracy (measured during the epoch, dropout on) and held-out accuracy. Returns the
    last held-out accuracy (fraction)."""
    work = build_workload("mnist_cnn", WorkloadConfig(data_root=data_root, seed=seed))
    train_loader, test_loader = mnist_loaders(64, data_root, seed=seed)
    test_acc = float("nan")
    for epoch in range(epochs):
        start, loss_sum, correct, seen = time.perf_counter(), 0.0, 0, 0
        work.module.train()
        for images, labels in train_loader:  # (64, 1, 28, 28), (64,); the last batch 32
            loss, logits = work.fit_batch(images, labels)
            loss_sum += float(loss) * len(labels)
            correct += int((logits.argmax(dim=1) == labels).sum())
            seen += len(labels)
        test_acc = accuracy(work.module, test_loader)
        print(f"mnist_cnn epoch {epoch}: loss {loss_sum / seen:.4f}, "
              f"train accuracy {100 * correct / seen:.2f}%, "
              f"held-out accuracy {100 * test_acc:.2f}% ({time.perf_counter() - start:.0f} s)")
    return test_acc


def reproduce(workload: str, epochs: int | None, data_root: str | None, seed: int = 0) -> int:
    """Run the notes' training for ``workload`` (or ``all``); exit status 0."""
    names = list(WORKLOADS) if workload == "all" else [workload]
    for name in names:
        if name not in WORKLOADS:
            raise UsageError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}, all")
    if epochs is not None and epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {epochs}")
    for name in names:
        n = epochs or NOTES_EPOCHS[name]
        if name == "mnist_cnn":
            reproduce_cnn(n, data_root, seed)
        else:
            reproduce_mlp(name, n, seed)
    return 0
