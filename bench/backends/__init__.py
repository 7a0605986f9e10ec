"""The one registry of backends, by DESIGN.md name, in the order reports show them. Adding a
backend: one module here (a ``BackendBase`` subclass declaring what it is) plus one line below."""

from __future__ import annotations

from bench.backends.aoti import ExportAOTI
from bench.backends.base import Backend, BackendBase, Prepared, Unsupported, refusal
from bench.backends.compiled import COMPILE_BACKENDS
from bench.backends.eager import Eager
from bench.backends.jax_backends import JaxEager, JaxJit
from bench.backends.recipes import CompileAutograd, CompileModule, CompileOptimizer, EagerFused
from bench.backends.torchscript import JitScript, JitTrace
from bench.schema import BackendInfo

BACKENDS: dict[str, Backend] = {
    "eager": Eager(),
    "eager_fused": EagerFused(),
    "jit_script": JitScript(),
    "jit_trace": JitTrace(),
    **{b.name: b for b in COMPILE_BACKENDS},
    "compile_module": CompileModule(),
    "compile_optimizer": CompileOptimizer(),
    "compile_autograd": CompileAutograd(),
    "export_aoti": ExportAOTI(),
    "jax_eager": JaxEager(),
    "jax_jit": JaxJit(),
}


def backend_infos() -> list[BackendInfo]:
    """Every registered backend's ``BackendInfo``, in registry order (read now, so a backend
    registered later is included): what a run's ``meta.json`` records under ``"backends"``."""
    return [backend.info() for backend in BACKENDS.values()]


__all__ = ["BACKENDS", "Backend", "BackendBase", "Prepared", "Unsupported", "backend_infos",
           "refusal"]
