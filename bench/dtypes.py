"""The dtypes a case actually ran in, read off the prepared step, against the precision the run
asked for: a backend that silently runs half precision (or JAX truncating float64 without
``jax_enable_x64``) is a ``dtype mismatch``, recorded apart from parity's numeric check."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import torch

from bench.backends.base import Prepared
from models import Workload


def dtype_name(x: Any) -> str:
    """``"float32"``-style name of the dtype of ``x``: a torch tensor, a JAX or numpy array,
    or a ``torch.dtype``. Raises ``AttributeError`` for an object without a dtype."""
    dtype = x if isinstance(x, torch.dtype) else x.dtype
    return str(dtype).removeprefix("torch.")


def ran_dtypes(prepared: Prepared, work: Workload, trains: bool,
               framework: str) -> dict[str, str]:
    """What one more step of ``prepared`` ran in: ``{"params": ..., "out": ...}`` for an
    inference step (its output, ``(B, *output_shape)``, is the activations), ``{"params":
    ..., "loss": ...}`` for a training step (its output is the 0-dim loss). ``params`` is the
    set of dtypes of ``work.module``'s parameters, which a torch backend runs (compiled or
    not, the module's parameters are shared); a JAX backend's own copies reach the runner
    only as float64 (``Prepared.params``), so for ``framework == "jax"`` they are left out
    and its output's dtype stands for them. Runs one step (its print, in ``debug``,
    swallowed); call it after timing. Raises whatever the step raises."""
    with contextlib.redirect_stdout(io.StringIO()):
        out = prepared.step()
    found = {}
    if framework != "jax":
        found["params"] = "/".join(sorted({dtype_name(p) for p in work.module.parameters()}))
    found["loss" if trains else "out"] = dtype_name(out)
    return found


def dtype_fields(found: dict[str, str], requested: torch.dtype) -> dict[str, Any]:
    """The row's ``dtype`` column for ``found`` (``ran_dtypes``): the one name when every
    entry agrees, else ``"params=float32 out=float16"``; plus ``status`` ``mismatch`` and an
    ``error`` starting ``"dtype mismatch:"`` when any entry is not ``requested`` (the run's
    precision, e.g. ``torch.float32``)."""
    names = set(found.values())
    column = next(iter(names)) if len(names) == 1 else " ".join(
        f"{k}={v}" for k, v in found.items())
    want = dtype_name(requested)
    if names == {want}:
        return {"dtype": column}
    return {"dtype": column, "status": "mismatch",
            "error": f"dtype mismatch: ran {' '.join(f'{k}={v}' for k, v in found.items())}, "
                     f"requested {want}"}
