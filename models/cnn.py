"""The notes' MNIST convolutional network (section "向计算机视觉出击—MNIST")."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from models.data import first_train_batch
from models.flops import conv2d_flops, matmul_flops
from models.workload import JaxPort, Workload


class MnistNet(nn.Module):
    """conv 1->64->128 (3x3, pad 1), ReLU, max-pool 2, dense 25088->1024, ReLU, dropout 0.5, ->10.

    Input ``(B, 1, 28, 28)`` float, normalized with mean 0.5 and std 0.5; output ``(B, 10)``
    logits. Layer names follow the notes (``conv1``, ``dense``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(stride=2, kernel_size=2),
        )
        self.dense = nn.Sequential(
            nn.Linear(14 * 14 * 128, 1024),
            nn.ReLU(),
            nn.Dropout(p=0.5),
            nn.Linear(1024, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)  # (B, 128, 14, 14)
        x = x.reshape(-1, 14 * 14 * 128)  # (B, 25088)
        return self.dense(x)  # (B, 10)


class MnistCNN(Workload):
    """``MnistNet`` with ``CrossEntropyLoss`` and ``torch.optim.Adam`` (default lr 1e-3, as the
    notes construct it), on the first batch of 64 real MNIST training images."""

    name = "mnist_cnn"
    section = "向计算机视觉出击—MNIST (MNIST)"
    default_batch = 64
    notes_lr = 1e-3  # torch.optim.Adam's default, which the notes keep
    notes_epochs = 2  # the notes run 1
    output_shape = (10,)  # logits
    optimizer_class = torch.optim.Adam

    @classmethod
    def jax_port(cls) -> JaxPort:
        from models import jax_port

        return jax_port.mnist_cnn_port

    def build(self) -> None:
        self.module = MnistNet()
        self.criterion = nn.CrossEntropyLoss()

    def make_batch(self, n: int) -> tuple[Tensor, Tensor]:
        x, y = first_train_batch(n, self.cfg.data_root)  # (n, 1, 28, 28), (n,)
        return x.to(self.cfg.device, self.cfg.dtype), y.to(self.cfg.device)

    def loss_fn(self, out: Tensor, y: Tensor) -> Tensor:
        return self.criterion(out, y)

    def fit_batch(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """One Adam update on ``x (B, 1, 28, 28)``, ``y (B,)``; returns the loss (0-dim) and
        the logits ``(B, 10)`` of the forward it used (the notes read accuracy from them)."""
        self.optimizer.zero_grad()
        logits = self.module(x)
        loss = self.loss_fn(logits, y)
        loss.backward()
        self.optimizer.step()
        return loss.detach(), logits.detach()

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        return self.fit_batch(x, y)[0]

    def flops(self, mode: str) -> int:
        """Forward per batch B: conv1 ``2*B*28*28*64*1*9``, conv2 ``2*B*28*28*128*64*9``,
        dense ``2*B*25088*1024 + 2*B*1024*10``. Train: every layer's forward, weight gradient
        and input gradient, except conv1's input gradient (the image needs none):
        ``2*conv1 + 3*(conv2 + dense)``. B=64: infer 10.75 GFLOP, train 32.18 GFLOP."""
        self.check_mode(mode)
        b = self.batch_size
        conv1 = conv2d_flops(b, 1, 64, 3, 28, 28)
        conv2 = conv2d_flops(b, 64, 128, 3, 28, 28)
        dense = matmul_flops(b, 14 * 14 * 128, 1024) + matmul_flops(b, 1024, 10)
        return {"infer": conv1 + conv2 + dense, "train": 2 * conv1 + 3 * (conv2 + dense)}[mode]
