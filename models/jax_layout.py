"""Where the JAX port's arrays differ in layout from torch's: the one place that decides it.

Torch runs the CNN channels-first (inputs NCHW, conv weights OIHW); the JAX port runs it
channels-last (inputs NHWC, kernels HWIO), JAX's idiom (Flax's ``nn.Conv`` takes NHWC inputs
and HWIO kernels) and the layout XLA's CPU convolutions run fastest (NCHW costs layout
transposes around them). Conversions happen once, when weights and batches are copied from
torch, never inside a step; parameters are converted back for the parity check. Numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Convert = Callable[[int, np.ndarray], np.ndarray]  # (parameter index, array) -> array

# lax.conv_general_dilated's dimension_numbers (input, kernel, output) in the port.
CONV_DIMS = ("NHWC", "HWIO", "NHWC")


@dataclass(frozen=True)
class Layout:
    """How a port's arrays differ from torch's. ``to_port(i, a)`` / ``to_torch(i, a)`` convert
    parameter ``i`` (in ``parameters()`` order; numpy, any float dtype, same dtype out) from
    torch's layout to the port's and back; ``x(a)`` converts an input batch. The default is
    torch's own layout (every function the identity)."""

    to_port: Convert = lambda i, a: a  # noqa: E731
    to_torch: Convert = lambda i, a: a  # noqa: E731
    x: Callable[[np.ndarray], np.ndarray] = lambda a: a  # noqa: E731


TORCH_LAYOUT = Layout()


def channels_last_cnn() -> Layout:
    """``MnistNet`` in JAX channels-last (``CONV_DIMS``). Conv weights ``(O, I, 3, 3)`` become
    ``(3, 3, I, O)`` (parameters 0 and 2); the first Linear's weight ``(1024, 25088)``
    (parameter 4) has its input columns reordered from torch's (C, H, W) flatten of
    ``(128, 14, 14)`` to the NHWC (H, W, C) flatten, so that the port's flatten feeds it the
    same features; biases and the last Linear are unchanged. Inputs ``(B, 1, 28, 28)`` become
    ``(B, 28, 28, 1)``. Arrays of other shapes raise numpy's ``ValueError``."""
    def to_port(i: int, a: np.ndarray) -> np.ndarray:
        if i in (0, 2):
            return a.transpose(2, 3, 1, 0)
        return a.reshape(-1, 128, 14, 14).transpose(0, 2, 3, 1).reshape(a.shape) if i == 4 else a

    def to_torch(i: int, a: np.ndarray) -> np.ndarray:
        if i in (0, 2):
            return a.transpose(3, 2, 0, 1)
        return a.reshape(-1, 14, 14, 128).transpose(0, 3, 1, 2).reshape(a.shape) if i == 4 else a

    return Layout(to_port, to_torch, lambda x: x.transpose(0, 2, 3, 1))
