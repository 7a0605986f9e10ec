"""``jax_eager`` and ``jax_jit``: the notes' programs ported to JAX (``models.jax_port``), run op
by op (JAX's dynamic mode) or as one XLA program per step (``jax.jit``, JAX's static graph)."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

from bench.backends.base import BackendBase, Prepared, Unsupported, whole_graph
from bench.schema import Scenario
from models import Workload
from models.jax_layout import TORCH_LAYOUT, Layout
from models.jax_port import JaxProgram, State, TrainStep, port

# JAX takes 75% of a GPU's memory when it first touches it, starving the torch backends that
# run in the same process; this asks it to allocate as it goes (read when JAX first picks a GPU).
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

# JAX reports how long each compile phase took (jax.monitoring duration events); every event of
# the process lands here, and a case sums the ones after its start.
_PHASE_OF_EVENT = {"jaxpr_trace_duration": "trace", "jaxpr_to_mlir_module_duration": "lower",
                   "backend_compile_duration": "compile"}
_PHASE_EVENTS: list[tuple[str, float]] = []


def _on_duration_event(name: str, secs: float, **_: Any) -> None:
    phase = _PHASE_OF_EVENT.get(name.rsplit("/", 1)[-1])
    if phase is not None:
        _PHASE_EVENTS.append((phase, secs))


jax.monitoring.register_event_duration_secs_listener(_on_duration_event)


def jax_compile_phases(since: int) -> str:
    """JAX's compile time since event ``since`` by phase: tracing to a jaxpr, lowering to
    StableHLO (MLIR), XLA's backend compile, e.g. ``"trace=0.082s lower=0.009s compile=0.047s"``
    (``jax.monitoring`` events ``/jax/core/compile/*_duration``; summed over every compile,
    retraces included)."""
    total = dict.fromkeys(_PHASE_OF_EVENT.values(), 0.0)
    for phase, secs in _PHASE_EVENTS[since:]:
        total[phase] += secs
    return " ".join(f"{phase}={secs:.3f}s" for phase, secs in total.items())


# XLA's CPU client sizes its thread pools (the intra-op "XLAEigen" pool among them) once, when JAX
# starts its backends: from PJRT_NPROC, else NPROC, else the cores this process may run on
# (XLA's DefaultThreadPoolSize, xla/pjrt/utils.cc). XLA_FLAGS' --xla_cpu_multi_thread_eigen=false
# makes its Eigen matmuls and convolutions single-threaded (parsed once too). The folklore flag
# "intra_op_parallelism_threads" is TensorFlow's, not XLA's, and is not used.
SINGLE_THREAD_FLAG = "--xla_cpu_multi_thread_eigen=false"


def jax_thread_env(threads: int, xla_flags: str = "") -> dict[str, str]:
    """The environment that gives XLA's CPU client ``threads`` (>= 1) threads, torch's intra-op
    count: ``PJRT_NPROC``, and ``XLA_FLAGS`` (``xla_flags`` with any ``xla_cpu_multi_thread_eigen``
    setting replaced: ``SINGLE_THREAD_FLAG`` for one thread, none otherwise)."""
    kept = [f for f in xla_flags.split() if not f.startswith("--xla_cpu_multi_thread_eigen")]
    return {"PJRT_NPROC": str(threads),
            "XLA_FLAGS": " ".join(kept + ([SINGLE_THREAD_FLAG] if threads == 1 else []))}


def jax_pool_threads() -> int:
    """The threads XLA's CPU client has taken (or will take, before it starts): ``PJRT_NPROC``,
    else ``NPROC``, else the cores this process may run on, as XLA reads them."""
    for name in ("PJRT_NPROC", "NPROC"):
        if os.environ.get(name, "").strip().isdigit():
            return int(os.environ[name])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def match_torch_threads(threads: int | None = None) -> dict[str, Any]:
    """Gives JAX's CPU backend ``threads`` threads (None: ``torch.get_num_threads()``, which the
    run sets to ``--threads``) by setting ``jax_thread_env`` in ``os.environ``, which takes effect
    only if JAX has not started its backends yet. Once started, its count is fixed: a different
    one is not applied but warned about in one line (``RuntimeWarning``; a case's warnings are
    recorded). Returns what JAX was given, for ``meta.json``: ``{"threads": the count JAX runs
    with, "applied": whether the env was set now, "PJRT_NPROC", "XLA_FLAGS"}``."""
    threads = threads or torch.get_num_threads()
    from jax._src import xla_bridge  # JAX's own record of whether its backends have started

    started = getattr(xla_bridge, "backends_are_initialized", lambda: True)()
    if not started:
        os.environ.update(jax_thread_env(threads, os.environ.get("XLA_FLAGS", "")))
    elif jax_pool_threads() != threads:
        warnings.warn(f"JAX's CPU backend started earlier with {jax_pool_threads()} thread(s) "
                      f"and cannot take torch's {threads} now: its cases run on "
                      f"{jax_pool_threads()}", RuntimeWarning, stacklevel=2)
    return {"threads": jax_pool_threads(), "applied": not started,
            **{k: os.environ.get(k) for k in ("PJRT_NPROC", "XLA_FLAGS")}}


def jax_device(work: Workload) -> jax.Device:
    """The JAX device of ``work.cfg.device`` ("cpu", "cuda" or "cuda:N"); ``Unsupported`` when
    JAX has none such, or cannot hold the workload's dtype."""
    if work.cfg.dtype not in (torch.float32, torch.float64):
        raise Unsupported(f"JAX port runs float32/float64 only, not {work.cfg.dtype}")
    if work.cfg.dtype == torch.float64 and not jax.config.jax_enable_x64:
        raise Unsupported("float64 in JAX needs jax_enable_x64, which is off")
    kind, _, index = work.cfg.device.partition(":")
    platform = {"cpu": "cpu", "cuda": "gpu"}.get(kind)
    if platform is None:
        raise Unsupported(f"JAX backends know devices cpu and cuda, not {work.cfg.device!r}")
    try:
        devices = jax.devices(platform)
    except RuntimeError:
        found = ", ".join(sorted({d.platform for d in jax.devices()}))
        raise Unsupported(f"JAX sees no {platform} device here (only: {found})") from None
    i = int(index or 0)
    if i >= len(devices):
        raise Unsupported(f"JAX sees {len(devices)} {platform} device(s), not {work.cfg.device}")
    return devices[i]


def torch_precision(device: jax.Device) -> tuple[str, str]:
    """``(matmul, conv)`` precision matching torch's TF32 policy on GPUs (TF32 allowed ->
    JAX's "default", else "highest"); full float32 ("highest") on CPUs."""
    if device.platform != "gpu":
        return "highest", "highest"
    allow = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    return tuple("default" if a else "highest" for a in allow)  # type: ignore[return-value]


def keyed(train_step: TrainStep) -> Callable[..., tuple[State, jax.Array, jax.Array]]:
    """``train_step`` that splits its PRNG key itself: ``(state, key, x, y) -> (state, key,
    loss)``, so a jitted step is one dispatch, key split included."""
    def step(state: State, key: jax.Array, x: jax.Array, y: jax.Array):
        key, sub = jax.random.split(key)
        state, loss = train_step(state, x, y, sub)
        return state, key, loss

    return step


class _Run:
    """The mutable side of a train case: the current state and key between steps."""

    def __init__(self, fn: Callable[..., Any], program: JaxProgram, device: jax.Device,
                 seed: int) -> None:
        self.fn, self.program = fn, program
        # A copy, since donated buffers must not be the program's own initial parameters; and
        # all of it committed to ``device`` (optax creates Adam's step count uncommitted), as
        # the step's outputs are: else the second call compiles the step again.
        self.state: State = jax.device_put(jax.tree.map(jnp.copy, program.init_state()), device)
        self.key = jax.device_put(jax.random.key(seed), device)

    def step(self) -> jax.Array:
        """One update on the fixed batch; returns the loss (0-dim) once all of it is computed."""
        return self.step_on(*self.program.batch)

    def step_on(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """One update on ``(x, y)`` (any batch size; ``jax_jit`` retraces for a new one)."""
        state, key, loss = self.fn(self.state, self.key, x, y)
        jax.block_until_ready((state, key, loss))
        self.state, self.key = state, key
        return loss

    def params(self) -> list[np.ndarray]:
        return [p.astype(np.float64) for p in self.program.params_in_torch_order(self.state)]


Counters = Callable[[], dict[str, int]]


class _JaxBackend(BackendBase):
    """Shared preparation: port the workload onto its device, then ``wrap`` its functions.
    A workload without a ``jax_port`` is refused (``Workload.missing_port``)."""

    framework = "jax"

    def wrap(self, fn: Callable[..., Any], donate: tuple[int, ...]) -> tuple[Callable, Counters]:
        """This backend's version of ``fn`` and the counters it keeps (per prepared case)."""
        raise NotImplementedError

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        match_torch_threads()  # before jax_device starts JAX's backends, if nothing has yet
        device = jax_device(work)
        program = port(work, device, torch_precision(device))
        moved = on_device(device, program.layout)
        if not scenario.trains:
            forward, counters = self.wrap(program.forward, ())
            params = program.params

            def infer(x: Any) -> jax.Array:
                return jax.block_until_ready(forward(params, moved(x)))  # (B, n_out)

            def torch_order() -> list[np.ndarray]:
                return [p.astype(np.float64) for p in program.params_in_torch_order((params, ()))]

            return Prepared(step=lambda: infer(program.batch[0]), params=torch_order,
                            counters=counters, call=infer)
        fn, counters = self.wrap(keyed(program.train_step), (0, 1))
        run = _Run(fn, program, device, work.cfg.seed)

        def call(x: Any, y: Any) -> jax.Array:
            loss = run.step_on(moved(x), moved(y, is_input=False))
            if scenario.prints:  # the notes print the loss every step: a host sync
                print(f"Loss:{float(loss):.4f}")
            return loss

        return Prepared(step=lambda: call(*program.batch), params=run.params,
                        counters=counters, call=call, update=optax_rule(work, program))


def optax_rule(work: Workload, program: JaxProgram) -> str:
    """The ``optimizer`` column of a JAX train step: ``"hand-written SGD"`` when the port
    updates by hand, else the optax transformation the port runs for the workload's update
    (``models.jax_port``: ``optax.adam`` for ``torch.optim.Adam``, ``optax.sgd`` for the
    notes' ``p -= lr * p.grad``)."""
    if program.optimizer is None:
        return "hand-written SGD"
    return f"optax.{work.optimizer_class.__name__.lower()}" if work.optimizer_class else "optax.sgd"


def on_device(device: jax.Device, layout: Layout = TORCH_LAYOUT) -> Callable[..., jax.Array]:
    """``moved(t, is_input=True)``: a torch tensor as a JAX array on ``device``, converted once
    (remembered by identity, so a batch fed again costs no copy); an input (``is_input``) also
    to the port's ``layout`` (the CNN's ``(B, 1, 28, 28)`` to ``(B, 28, 28, 1)``), outside the
    step, never inside it; labels and targets (``is_input=False``) as they are. JAX arrays
    pass through."""
    seen: dict[int, tuple[Any, jax.Array]] = {}

    def moved(x: Any, is_input: bool = True) -> jax.Array:
        if not isinstance(x, torch.Tensor):
            return x
        if id(x) not in seen:
            a = x.detach().cpu().numpy()
            seen[id(x)] = (x, jax.device_put(layout.x(a) if is_input else a, device))
        return seen[id(x)][1]

    return moved


class JaxEager(_JaxBackend):
    """The JAX port called without ``jit``: every ``jnp`` op dispatched on its own."""

    name = "jax_eager"
    compiles = False
    baseline = True

    def wrap(self, fn: Callable[..., Any], donate: tuple[int, ...]) -> tuple[Callable, Counters]:
        return fn, dict


class JaxJit(_JaxBackend):
    """The whole update (forward, ``jax.grad``, optimizer) or the forward as one ``jax.jit``
    program, the state's buffers donated. ``recompiles``: traces beyond the first."""

    name = "jax_jit"
    compiles = True

    def wrap(self, fn: Callable[..., Any], donate: tuple[int, ...]) -> tuple[Callable, Counters]:
        traces = [0]  # a Python side effect inside a jitted function runs only while tracing
        since = len(_PHASE_EVENTS)

        @functools.wraps(fn)  # compile logs and profiles name the step, not this wrapper
        def counted(*args: Any) -> Any:
            traces[0] += 1
            return fn(*args)

        def counters() -> dict[str, Any]:
            return {"recompiles": max(traces[0] - 1, 0), **whole_graph("the jitted step",
                                                                      traces[0]),
                    "compile_phases": jax_compile_phases(since)}

        return jax.jit(counted, donate_argnums=donate), counters
