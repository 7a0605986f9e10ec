"""Analytic FLOP counts of the notes' layers (multiply-accumulate = 2 FLOPs).

Only matrix products and convolutions are counted: they are over 99% of the arithmetic of
every workload here. Element-wise work (ReLU, bias, loss, pooling, the optimizer update)
is left out, so ``achieved_flops_per_s`` is a slight underestimate, the same for every backend.
"""

from __future__ import annotations


def matmul_flops(m: int, k: int, n: int) -> int:
    """FLOPs of an ``(m, k) @ (k, n)`` product: ``2 * m * k * n``.

    >>> matmul_flops(100, 1000, 100)
    20000000
    """
    return 2 * m * k * n


def conv2d_flops(batch: int, c_in: int, c_out: int, kernel: int, h_out: int, w_out: int) -> int:
    """FLOPs of a dense 2-D convolution: ``2 * B * H_out * W_out * C_out * C_in * k * k``.

    >>> conv2d_flops(1, 1, 64, 3, 28, 28)
    903168
    """
    return 2 * batch * h_out * w_out * c_out * c_in * kernel * kernel
