"""The notes' tensor operations (section "tensor运算") as one workload: an element-wise chain of
``abs``, ``add`` (tensor and scalar), ``clamp``, ``div``, ``mul`` and ``pow``, then ``mm`` and
``mv``. Nothing here is trained: only the ``infer`` scenario is meaningful.

The shapes make the step memory-bound, so that fusion is what decides its time: the chain runs
on ``n x n`` operands larger than any cache (64 MB each at the default n = 4096), and ``mm``
multiplies by a narrow ``(n, 16)`` matrix; the step does 2.4 FLOPs per byte of its least
traffic, below the ridge point (peak FLOP/s over copy bandwidth) of both machines measured so
far (CPU 6, H200 12). A square ``n x n @ n x n`` product (the first design, at n = 1024) made
``mm`` 99.7% of the FLOPs: by that CPU's measured roofline (149 GFLOP/s, 24.6 GB/s) about
14 ms of matrix product against 2 ms of chain traffic, so no backend's fusion could show."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from models.flops import matmul_flops
from models.workload import JaxPort, Workload

UNSUPPORTED = "tensor_ops has no parameters to train: only the infer scenario"
N_ELEMENTWISE = 7  # abs, add (tensor), add (scalar), clamp, div, mul, pow
MM_COLS = 16  # columns of mm's right operand w (n, MM_COLS)
# Elements each op of the chain reads and writes, in units of E = n * n (the eager traffic):
# clamp 1+1, add scalar 1+1, abs 1+1, add tensor 2+1, div 2+1, mul 2+1, pow 1+1.
ELEMENTWISE_TRAFFIC = 17


class TensorOps(nn.Module):
    """``out = mv(mm(p, w), v)`` with ``p = pow(mul(div(add(clamp(a, -0.1, 0.1), 10),
    add(abs(a), b)), b), 2)``: every operation of the notes' "tensor运算" once.

    ``a``: the input ``(n, n)`` (``randn``). ``b (n, n)``, ``w (n, 16)`` and ``v (16,)`` are
    fixed operands drawn from ``rand + 0.5`` (in ``[0.5, 1.5)``), kept as parameters that never
    train (like the hand-written MLP's weights) so that every backend carries them as it
    carries weights. The divisor ``|a| + b >= 0.5`` is never near zero; ``p``, ``w`` and ``v``
    are positive, so the products sum positive terms only (no cancellation: float32 stays
    close to float64).
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.rand(n, n) + 0.5, requires_grad=False)
        self.w = nn.Parameter(torch.rand(n, MM_COLS) + 0.5, requires_grad=False)
        self.v = nn.Parameter(torch.rand(MM_COLS) + 0.5, requires_grad=False)

    def forward(self, a: Tensor) -> Tensor:
        """``a``: ``(n, n)`` -> ``(n,)``."""
        c = torch.clamp(a, -0.1, 0.1)  # (n, n) in [-0.1, 0.1]
        e = torch.add(c, 10)  # (n, n) in [9.9, 10.1]: tensor + scalar
        d = torch.add(torch.abs(a), self.b)  # (n, n) >= 0.5: tensor + tensor, a safe divisor
        q = torch.div(e, d)  # (n, n) in (0, 20.2]
        p = torch.pow(torch.mul(q, self.b), 2)  # (n, n) positive
        return torch.mv(torch.mm(p, self.w), self.v)  # (n, n) @ (n, 16) -> (n, 16) @ (16,)


class TensorOpsWorkload(Workload):
    """``TensorOps`` on a seeded ``randn`` matrix ``(n, n)``; ``n`` is ``cfg.batch_size``
    (default 4096: the chain runs on 16.8M-element operands of 64 MB each, ``mm`` is
    ``(4096, 4096) @ (4096, 16)``).

    Per ``infer`` step, float32 (4 bytes), with E = n * n and k = 16 (at n = 4096,
    E = 16,777,216):

    - FLOPs: 7 element-wise ops x E + ``mm`` 2 E k + ``mv`` 2 n k
      = 117,440,512 + 536,870,912 + 131,072 = 654,442,496 (0.654 GFLOP).
    - ``bytes_moved`` (eager: every op reads its inputs and writes its output once):
      chain 17 E (see ``ELEMENTWISE_TRAFFIC``) + ``mm`` (reads p: E, w: n k; writes n k)
      + ``mv`` (reads n k + k; writes n) = (18 E + 3 n k + k + n) x 4 bytes
      = 1,208,762,432 bytes (1.21 GB).
    - ``bytes_moved_fused`` (the chain fused into one pass that reads ``a`` and ``b`` once and
      writes ``p`` once; ``mm`` and ``mv`` library calls as above)
      = (4 E + 3 n k + k + n) x 4 bytes = 269,238,336 bytes (269 MB): the least traffic of
      a step that materializes ``p``, the denominator of the suite's bandwidth fraction.

    ``make_batch(m)`` draws an ``(m, m)`` matrix, which the module takes only for ``m = n``
    (its operands are ``n``-sized): the ``shapes`` scenarios train, so they do not apply.
    """

    name = "tensor_ops"
    section = "tensor运算 (tensor operations)"
    default_batch = 4096
    notes_lr = 0.0  # nothing to train
    refuses = {"train": UNSUPPORTED}
    output_shape = ()  # mv gives (n,): one number per row of the input

    @classmethod
    def jax_port(cls) -> JaxPort:
        from models import jax_port

        return jax_port.tensor_ops_port

    def build(self) -> None:
        self.module = TensorOps(self.batch_size)

    def make_batch(self, n: int) -> tuple[Tensor, Tensor]:
        """``x (n, n)`` from ``randn``; ``y (n,)``: zeros, a dummy target of the output's shape."""
        gen = torch.Generator().manual_seed(self.cfg.seed + 1)
        x = torch.randn(n, n, generator=gen)  # drawn in float32 whatever cfg.dtype is,
        y = torch.zeros(n)  # so a float64 reference sees the same data
        return x.to(self.cfg.device, self.cfg.dtype), y.to(self.cfg.device, self.cfg.dtype)

    def loss_fn(self, out: Tensor, y: Tensor) -> Tensor:
        """The mean of the output (``y`` is a placeholder): defines ``final_loss``."""
        return out.mean()

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError(UNSUPPORTED)

    def _infer_only(self, mode: str) -> int:
        """``n``, after checking that ``mode`` is one this workload runs (``infer``)."""
        self.check_mode(mode)
        return self.batch_size

    def _bytes(self, elements: int) -> int:
        return elements * torch.empty((), dtype=self.cfg.dtype).element_size()  # 4: float32

    def flops(self, mode: str) -> int:
        """One FLOP per element per element-wise op, ``mm`` ``2 n^2 k``, ``mv`` ``2 n k``."""
        n = self._infer_only(mode)
        return N_ELEMENTWISE * n * n + matmul_flops(n, n, MM_COLS) + matmul_flops(n, MM_COLS, 1)

    def _matmul_traffic(self, n: int) -> int:
        """Elements ``mm`` and ``mv`` move beyond reading ``p``: w read, (n, k) written, then
        read by ``mv`` with v, and the (n,) output written."""
        return 3 * n * MM_COLS + MM_COLS + n

    def bytes_moved(self, mode: str) -> int:
        """Eager's memory traffic in bytes: every op reads its inputs and writes its output."""
        n = self._infer_only(mode)
        return self._bytes((ELEMENTWISE_TRAFFIC + 1) * n * n + self._matmul_traffic(n))

    def bytes_per_step(self, mode: str) -> int:
        """``bytes_moved_fused``: the least traffic, the suite's bandwidth numerator."""
        return self.bytes_moved_fused(mode)

    def bytes_moved_fused(self, mode: str) -> int:
        """A fused chain's traffic in bytes: ``a`` and ``b`` read once, ``p`` written once and
        read once by ``mm``; ``mm`` and ``mv`` as in ``bytes_moved``. The least traffic of a
        step that materializes ``p``: the suite's bandwidth fraction divides this by the step
        time and the measured copy bandwidth."""
        n = self._infer_only(mode)
        return self._bytes(4 * n * n + self._matmul_traffic(n))
