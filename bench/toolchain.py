"""The compilers' one-time start-up, paid before a case is timed, never inside its
``compile_s``: Inductor's imports and compile-worker pool, its probe of the CPU's vector
instruction sets (``torch._inductor.cpu_vec_isa.pick_vec_isa`` builds and loads four small C++
programs: about 10 s cold on the 2-core VM, 1.6 s once they sit on disk), and JAX's backend
start-up. A user pays these once per machine (the probe's programs stay in Inductor's cache
folder) or once per process; a case whose compile cache is deliberately empty would pay them
again in every first round. So every process compiles a one-op function first, in the run's
shared toolchain folder (``TOOLCHAIN_ENV``), where the probe is built once per run."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from bench.backends import BACKENDS
from bench.case import Case

TOOLCHAIN_ENV = "EVC_TOOLCHAIN_DIR"  # a worker's shared toolchain folder, set by its parent


def toolchain_folder() -> Path:
    """The run's toolchain folder: ``TOOLCHAIN_ENV`` in a case's process, else ``toolchain``
    in this process's scratch folder (``bench.isolate.scratch_root``)."""
    if os.environ.get(TOOLCHAIN_ENV):
        return Path(os.environ[TOOLCHAIN_ENV])
    from bench.isolate import scratch_root

    return scratch_root() / "toolchain"


def _jax_one_op(device: str) -> None:
    """Compile and run ``x * 2 + 1`` with ``jax.jit`` on ``device``."""
    import jax

    with jax.default_device(jax.devices("gpu" if device == "cuda" else "cpu")[0]):
        jax.jit(lambda x: x * 2 + 1)(jax.numpy.ones(8)).block_until_ready()


def _torch_one_op(device: str) -> None:
    """Compile and run ``x * 2 + 1`` with ``torch.compile`` on ``device``, Inductor's cache
    (the ISA probe's programs included) in the toolchain folder; Dynamo and Inductor's
    in-memory caches are cleared after, so nothing of it serves a case."""
    import torch
    from torch._inductor.utils import clear_caches

    with mock.patch.dict(os.environ, {"TORCHINDUCTOR_CACHE_DIR": str(toolchain_folder())}):
        try:
            torch.compile(lambda x: x * 2 + 1)(torch.ones(8, device=device))
        finally:
            torch._dynamo.reset()
            clear_caches()


COMPILE_ONE_OP = {"jax": _jax_one_op, "torch": _torch_one_op}  # by BackendInfo.framework
_WARMED: set[str] = set()


def warm_compiler(case: Case) -> None:
    """Once per process and framework, compile a one-op function on ``case.device`` (see
    the module's docstring), so that the first compiled case does not also pay what every
    later one is spared. Best effort: a compiler that cannot run here fails in the case's
    own row; one cut short (a timeout) is tried again by the next case."""
    backend = BACKENDS[case.backend]
    if backend.framework in _WARMED or not backend.compiles:
        return
    try:
        COMPILE_ONE_OP[backend.framework](case.device)
    except Exception:
        pass
    _WARMED.add(backend.framework)
