"""The one registry of backends, by DESIGN.md name. Adding a backend: one module here plus
one line below, and its test."""

from __future__ import annotations

from bench.backends.aoti import ExportAOTI
from bench.backends.base import Backend, Prepared, Unsupported
from bench.backends.compiled import COMPILE_BACKENDS
from bench.backends.eager import Eager
from bench.backends.jax_backends import JaxEager, JaxJit
from bench.backends.torchscript import JitScript, JitTrace

BACKENDS: dict[str, Backend] = {
    "eager": Eager(),
    "jit_script": JitScript(),
    "jit_trace": JitTrace(),
    **{b.name: b for b in COMPILE_BACKENDS},
    "export_aoti": ExportAOTI(),
    "jax_eager": JaxEager(),
    "jax_jit": JaxJit(),
}

__all__ = ["BACKENDS", "Backend", "Prepared", "Unsupported"]
