"""The notes' four MLP programs (sections "first neural network", "autograd", "torch.nn",
"torch.optim"): a 1000 -> 100 -> 10 network on a random batch of 100, trained four ways."""

from __future__ import annotations

import functools
from collections import OrderedDict

import torch
from torch import Tensor, nn

from models.flops import matmul_flops
from models.workload import JaxPort, Workload


class TwoLayerNet(nn.Module):
    """``y = relu(x @ w1) @ w2`` with raw weight matrices, as in the notes' first programs.

    Weights are drawn from ``randn`` like the notes (not Kaiming): ``w1`` is
    ``(in_features, hidden)``, ``w2`` is ``(hidden, out_features)``. ``requires_grad`` is off
    for the hand-derived-gradient program and on for the autograd one.
    """

    def __init__(self, in_features: int, hidden: int, out_features: int, requires_grad: bool):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(in_features, hidden), requires_grad=requires_grad)
        self.w2 = nn.Parameter(torch.randn(hidden, out_features), requires_grad=requires_grad)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(B, in_features)`` -> ``(B, out_features)``."""
        return x.mm(self.w1).clamp(min=0).mm(self.w2)


def manual_grads(x: Tensor, y: Tensor, w1: Tensor, w2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Sum-of-squares loss of ``relu(x @ w1) @ w2`` and its gradients, derived by hand.

    Shapes: ``x (B, I)``, ``y (B, O)``, ``w1 (I, H)``, ``w2 (H, O)``; returns
    ``(loss (), grad_w1 (I, H), grad_w2 (H, O))``. Source: the notes, "first neural network":
    ``dL/dy_pred = 2 (y_pred - y)``, ``dL/dw2 = h^T dL/dy_pred``, ``dL/dw1 = x^T dL/dh``.
    The notes apply ReLU's derivative as ``grad_h.clamp_(min=0)``, which clips the gradient's
    sign instead of masking it; the derivative of ``relu(h)`` is the mask ``h > 0``, used here
    (it is what autograd computes, and what the tests check to 1e-10 in float64).
    """
    h = x.mm(w1)  # (B, H)
    h_relu = h.clamp(min=0)  # (B, H)
    y_pred = h_relu.mm(w2)  # (B, O)
    diff = y_pred - y
    loss = diff.pow(2).sum()
    grad_y_pred = 2.0 * diff  # (B, O)
    grad_w2 = h_relu.t().mm(grad_y_pred)  # (H, O)
    grad_h = grad_y_pred.mm(w2.t()) * (h > 0).to(h.dtype)  # (B, H)
    grad_w1 = x.t().mm(grad_h)  # (I, H)
    return loss, grad_w1, grad_w2


def manual_sgd_step(x: Tensor, y: Tensor, w1: Tensor, w2: Tensor, lr: float) -> Tensor:
    """One plain-SGD update of ``w1``, ``w2`` in place with hand-derived gradients; the loss."""
    loss, grad_w1, grad_w2 = manual_grads(x, y, w1, w2)
    w1.sub_(lr * grad_w1)
    w2.sub_(lr * grad_w2)
    return loss


def build_sequential(in_features: int, hidden: int, out_features: int, named: bool) -> nn.Sequential:  # noqa: E501
    """``Linear -> ReLU -> Linear`` built positionally (``named=False``: modules ``0, 1, 2``)
    or from an ``OrderedDict`` with the notes' names ``Line1, Relu1, Line2`` (``named=True``).
    Both draw their weights from the RNG in the same order, so one seed gives equal networks.
    """
    layers = [
        ("Line1", nn.Linear(in_features, hidden)),
        ("Relu1", nn.ReLU()),
        ("Line2", nn.Linear(hidden, out_features)),
    ]
    if named:
        return nn.Sequential(OrderedDict(layers))
    return nn.Sequential(*(layer for _, layer in layers))


class _MLPWorkload(Workload):
    """Shared data of the MLP programs: ``x (B, 1000)`` and ``y (B, 10)`` from ``randn``."""

    default_batch = 100

    def make_batch(self, n: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(self.cfg.seed + 1)
        shape_x, shape_y = (n, self.cfg.in_features), (n, self.cfg.out_features)
        x = torch.randn(shape_x, generator=gen)  # drawn in float32 whatever cfg.dtype is,
        y = torch.randn(shape_y, generator=gen)  # so a float64 reference sees the same data
        return x.to(self.cfg.device, self.cfg.dtype), y.to(self.cfg.device, self.cfg.dtype)

    def flops(self, mode: str) -> int:
        """Forward: ``2BIH + 2BHO``. Train adds ``dL/dw2 (2BHO)``, ``dL/dh (2BOH)`` and
        ``dL/dw1 (2BIH)`` (no gradient for the input): ``4BIH + 6BHO``. Notes' shapes
        (B=100, I=1000, H=100, O=10): infer 20.2 MFLOP, train 40.6 MFLOP."""
        self.check_mode(mode)
        b, i, h, o = self.batch_size, self.cfg.in_features, self.cfg.hidden, self.cfg.out_features
        first, second = matmul_flops(b, i, h), matmul_flops(b, h, o)
        return {"infer": first + second, "train": 2 * first + 3 * second}[mode]


class ManualMLP(_MLPWorkload):
    """Raw tensors and hand-derived gradients, SGD lr 1e-6, sum-of-squares loss."""

    name = "manual_mlp"
    section = "第一个神经网络 (first neural network)"
    notes_lr = 1e-6
    notes_epochs = 30
    hand_gradients = True  # on w1, w2 directly: forward() and backward() are not called

    @classmethod
    def jax_port(cls) -> JaxPort:
        from models import jax_port  # JAX is imported only where a JAX backend asks

        return jax_port.manual_mlp_port

    def build(self) -> None:
        cfg = self.cfg
        self.module = TwoLayerNet(cfg.in_features, cfg.hidden, cfg.out_features, False)
        # (x, y, w1, w2) -> loss, updating w1 and w2 in place; a backend may swap in its own
        self.update = functools.partial(manual_sgd_step, lr=self.lr)

    def loss_fn(self, out: Tensor, y: Tensor) -> Tensor:
        return (out - y).pow(2).sum()

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        with torch.no_grad():
            return self.update(x, y, self.module.w1, self.module.w2)


class AutogradMLP(ManualMLP):
    """Same network with ``requires_grad`` weights: ``loss.backward()``, manual SGD lr 1e-6."""

    name = "autograd_mlp"
    section = "自动梯度 (autograd)"
    notes_epochs = 20
    hand_gradients = False

    @classmethod
    def jax_port(cls) -> JaxPort:
        from models import jax_port

        return jax_port.autograd_mlp_port

    def build(self) -> None:
        cfg = self.cfg
        self.module = TwoLayerNet(cfg.in_features, cfg.hidden, cfg.out_features, True)

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        loss = self.loss_fn(self.module(x), y)
        loss.backward()
        with torch.no_grad():
            for w in self.module.parameters():
                w -= self.lr * w.grad
                w.grad.zero_()  # as the notes do; gradients would otherwise accumulate
        return loss.detach()


class SequentialSGD(_MLPWorkload):
    """``nn.Sequential(Linear, ReLU, Linear)``, ``MSELoss``, manual update lr 1e-4."""

    name = "sequential_sgd"
    section = "torch.nn"
    notes_lr = 1e-4
    notes_epochs = 10000

    @classmethod
    def jax_port(cls) -> JaxPort:
        from models import jax_port

        return jax_port.sequential_sgd_port

    def build(self) -> None:
        cfg = self.cfg
        self.module = build_sequential(cfg.in_features, cfg.hidden, cfg.out_features, named=False)
        self.criterion = nn.MSELoss()

    def loss_fn(self, out: Tensor, y: Tensor) -> Tensor:
        return self.criterion(out, y)

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        self.module.zero_grad()
        loss = self.loss_fn(self.module(x), y)
        loss.backward()
        with torch.no_grad():
            for p in self.module.parameters():
                p -= self.lr * p.grad
        return loss.detach()


class SequentialAdam(SequentialSGD):
    """The same ``nn.Sequential`` and ``MSELoss``, updated by ``torch.optim.Adam`` lr 1e-4."""

    name = "sequential_adam"
    section = "torch.optim"
    notes_epochs = 300
    optimizer_class = torch.optim.Adam

    @classmethod
    def jax_port(cls) -> JaxPort:
        from models import jax_port

        return jax_port.sequential_adam_port

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.module(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.detach()
