"""The precision policy of a run: one TF32 setting for every backend, applied in every case
process and recorded in ``meta.json``. Default: TF32 off, full float32 (exact parity)."""

from __future__ import annotations

from typing import Any

import torch


def apply_precision(tf32: bool) -> dict[str, Any]:
    """Set TF32 for matmuls and cuDNN convolutions on or off (torch's cuDNN default is on,
    so off must be said) and return the policy as recorded. The JAX backends read these
    flags (``bench.backends.jax_backends.torch_precision``), so both frameworks agree. On a
    CPU the setting changes nothing: TF32 is a GPU tensor-core format."""
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    return policy()


def policy() -> dict[str, Any]:
    """The float32 matmul/convolution precision in force now."""
    return {
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
