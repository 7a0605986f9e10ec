"""The notes' tensor operations (section "tensor运算") as one workload: an element-wise chain of
``abs``, ``add`` (tensor and scalar), ``clamp``, ``div``, ``mul`` and ``pow``, then ``mm`` and
``mv``. Nothing here is trained: only the ``infer`` scenario is meaningful."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from models.flops import matmul_flops
from models.workload import Workload

UNSUPPORTED = "tensor_ops has no parameters to train: only the infer scenario"
N_ELEMENTWISE = 7  # abs, add (tensor), add (scalar), clamp, div, mul, pow
# Elements each op of the chain reads and writes, in units of E = n * n (the eager traffic):
# clamp 1+1, add scalar 1+1, abs 1+1, add tensor 2+1, div 2+1, mul 2+1, pow 1+1.
ELEMENTWISE_TRAFFIC = 17


class TensorOps(nn.Module):
    """``out = mv(mm(p, b), v)`` with ``p = pow(mul(div(add(clamp(a, -0.1, 0.1), 10),
    add(abs(a), b)), b), 2)``: every operation of the notes' "tensor运算" once.

    ``a``: the input ``(n, n)`` (``randn``). ``b (n, n)`` and ``v (n,)`` are fixed operands drawn
    from ``rand + 0.5`` (in ``[0.5, 1.5)``), kept as parameters that never train (like the
    hand-written MLP's weights) so that every backend carries them as it carries weights. The
    divisor ``|a| + b >= 0.5`` is never near zero; ``p``, ``b`` and ``v`` are positive, so the
    products sum positive terms only (no cancellation: float32 stays close to float64).
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.rand(n, n) + 0.5, requires_grad=False)
        self.v = nn.Parameter(torch.rand(n) + 0.5, requires_grad=False)

    def forward(self, a: Tensor) -> Tensor:
        """``a``: ``(n, n)`` -> ``(n,)``."""
        c = torch.clamp(a, -0.1, 0.1)  # (n, n) in [-0.1, 0.1]
        e = torch.add(c, 10)  # (n, n) in [9.9, 10.1]: tensor + scalar
        d = torch.add(torch.abs(a), self.b)  # (n, n) >= 0.5: tensor + tensor, a safe divisor
        q = torch.div(e, d)  # (n, n) in (0, 20.2]
        p = torch.pow(torch.mul(q, self.b), 2)  # (n, n) positive
        return torch.mv(torch.mm(p, self.b), self.v)  # (n, n) @ (n, n) -> (n, n) @ (n,) -> (n,)


class TensorOpsWorkload(Workload):
    """``TensorOps`` on a seeded ``randn`` matrix ``(n, n)``; ``n`` is ``cfg.batch_size``
    (default 1024: the chain runs on 1M elements, ``mm`` is 1024 x 1024 @ 1024 x 1024).

    Per ``infer`` step at n = 1024, float32 (E = n * n = 1,048,576 elements):

    - FLOPs: 7 element-wise ops x E + ``mm`` 2 n^3 + ``mv`` 2 n^2
      = 7,340,032 + 2,147,483,648 + 2,097,152 = 2,156,920,832 (2.16 GFLOP).
    - ``bytes_moved`` (eager, every op reads its inputs and writes its output; ``mm`` and
      ``mv`` counted at their minimum, each operand read once): (17 E element-wise + 3 E ``mm``
      + E + 2 n ``mv``) x 4 bytes = 88,088,576 bytes (88.1 MB).
    - ``bytes_moved_fused`` (the chain fused: reads ``a`` and ``b`` once, writes ``p`` once;
      ``mm``, ``mv`` as above): (3 E + 3 E + E + 2 n) x 4 bytes = 29,368,320 bytes (29.4 MB).

    ``make_batch(m)`` draws an ``(m, m)`` matrix, which the module takes only for ``m = n``
    (its operands are ``n``-sized): the ``shapes`` scenarios train, so they do not apply.
    """

    trainable = False

    name = "tensor_ops"
    section = "tensor运算 (tensor operations)"
    default_batch = 1024
    notes_lr = 0.0  # nothing to train

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

    def _infer_only(self, scenario: str) -> int:
        """``n``, after checking that ``scenario`` is ``infer``."""
        if scenario != "infer":
            raise NotImplementedError(UNSUPPORTED)
        return self.batch_size

    def _bytes(self, elements: int) -> int:
        return elements * torch.empty((), dtype=self.cfg.dtype).element_size()  # 4: float32

    def flops(self, scenario: str) -> int:
        """One FLOP per element per element-wise op, ``mm`` ``2 n^3``, ``mv`` ``2 n^2``."""
        n = self._infer_only(scenario)
        return N_ELEMENTWISE * n * n + matmul_flops(n, n, n) + matmul_flops(n, n, 1)

    def bytes_moved(self, scenario: str) -> int:
        """Eager's memory traffic: every op reads its inputs and writes its output once."""
        n = self._infer_only(scenario)
        return self._bytes((ELEMENTWISE_TRAFFIC + 3 + 1) * n * n + 2 * n)

    def bytes_moved_fused(self, scenario: str) -> int:
        """A fully fused chain's traffic: ``a`` and ``b`` read once, ``p`` written once; ``mm``
        and ``mv`` read their operands and write their results once."""
        n = self._infer_only(scenario)
        return self._bytes((3 + 3 + 1) * n * n + 2 * n)
