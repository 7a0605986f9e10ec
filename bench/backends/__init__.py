"""The one registry of backends, by DESIGN.md name. Adding a backend: one module here plus
one line below, and its test."""

from __future__ import annotations

from bench.backends.base import Backend, Unsupported
from bench.backends.eager import Eager

BACKENDS: dict[str, Backend] = {
    "eager": Eager(),
}

__all__ = ["BACKENDS", "Backend", "Unsupported"]
