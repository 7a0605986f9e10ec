"""What a backend is: a named way to execute a workload's step, what it declares of itself
(framework, whether it compiles, the scenarios it refuses), and what it hands the runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from torch.optim.optimizer import _default_to_fused_or_foreach

from bench.schema import BackendInfo, Scenario
from models import Workload


class Unsupported(Exception):
    """The backend cannot express this case; the message says why (recorded, never dropped)."""


def torch_params(work: Workload) -> Callable[[], list[np.ndarray]]:
    """Reads the parameters ``work.module`` has now (kept even if a backend later swaps the
    module for a compiled one sharing them) as float64 numpy arrays: the parity check's view."""
    params = list(work.module.parameters())
    return lambda: [p.detach().cpu().double().numpy().copy() for p in params]  # a snapshot


@dataclass
class Prepared:
    """A case ready to run under one backend.

    ``step()`` runs one step of the scenario on the workload's fixed batch and returns its
    output, fully computed (a JAX backend waits with ``block_until_ready`` inside): the loss
    (0-dim) for a training mode, the network output ``(B, *output_shape)`` for ``infer``, as
    a torch tensor or a JAX array. ``params()`` returns the current parameters as numpy
    arrays, in ``work.module.parameters()`` order. ``counters()`` is read once the case has
    run: ``graph_breaks``, ``recompiles`` where the backend knows them (and ``error``, a note
    such as the message ``fullgraph=True`` gives). ``call(*batch)``, where the backend can
    take a batch of another size, runs one step on it (the batch-size sequences need it).
    ``update``: what a train step updates with, where ``update_rule(work)`` cannot see it (JAX).
    """

    step: Callable[[], Any]
    params: Callable[[], list[np.ndarray]]
    counters: Callable[[], dict[str, Any]] = lambda: {}
    call: Callable[..., Any] | None = None
    update: str | None = None  # the train step's update rule when not ``update_rule(work)``


def whole_graph(what: str, graphs: int = 1) -> dict[str, object]:
    """The graph columns of a backend that captures ``what`` whole or raises (TorchScript,
    torch.export, ``jax.jit``: no graph break exists there): ``graphs`` (programs built over
    the case), ``graph_breaks`` 0 and ``break_reasons`` saying why none."""
    return {"graphs": graphs, "graph_breaks": 0,
            "break_reasons": f"none: {what} is captured whole or not at all"}


def update_rule(work: Workload) -> str:
    """What ``work.train_step`` updates the parameters with, as a row's ``optimizer`` says
    it: ``"hand-written SGD"`` when the workload has no ``optimizer``, else the class and the
    implementation its step runs: ``"torch.optim.Adam (for-loop)"``, ``"(foreach)"`` or
    ``"(fused)"`` (``foreach=None`` resolved as ``torch.optim`` does: for-loop on the CPU,
    foreach on CUDA), with ``", lr tensor"`` when the learning rate is a tensor."""
    opt = getattr(work, "optimizer", None)
    if opt is None:
        return "hand-written SGD"
    group = opt.param_groups[0]
    impl = "fused" if group.get("fused") else "foreach" if group.get("foreach") else "for-loop"
    if group.get("foreach") is None and not group.get("fused"):
        params = [p for g in opt.param_groups for p in g["params"]]
        _, foreach = _default_to_fused_or_foreach(params, group.get("differentiable", False))
        impl = "foreach" if foreach else "for-loop"
    lr = ", lr tensor" if isinstance(group["lr"], torch.Tensor) else ""
    return f"torch.optim.{type(opt).__name__} ({impl}{lr})"


# Names the case's own folder in a case's process (``bench.isolate.cache_env``): kept from its
# first round to its last, for what a backend may reuse in later rounds; unset elsewhere.
CASE_FOLDER_ENV = "EVC_CASE_FOLDER"


class Backend(Protocol):
    """Turns a workload's eager step into this backend's step, and says what it is.

    ``framework``: "torch" or "jax" (``schema.FRAMEWORKS``). ``compiles``: the first call
    builds a graph (``compile_s`` is then reported). ``baseline``: the framework's eager
    baseline. ``own_process``: names of the scenarios measured in a process of their own
    even in an in-process run. ``refuses``: a scenario's mode or name -> why this backend
    cannot express it (the runner records ``unsupported`` with that reason, building nothing);
    ``refuses_on``: a device -> why this backend is not run there (e.g. it would be another
    backend under a second name).
    ``prepare(work, scenario)`` builds the backend's step for the ``Scenario`` record around
    ``work`` (graph capture may happen here or on the first ``step()`` call) and raises
    ``Unsupported`` when it finds it cannot express the case. ``info()``: the ``BackendInfo``
    that ``meta.json`` records.
    """

    name: str
    framework: str
    compiles: bool
    baseline: bool
    own_process: tuple[str, ...]
    refuses: dict[str, str]
    refuses_on: dict[str, str]

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared: ...

    def info(self) -> BackendInfo: ...

    def refuses_workload(self, workload: type[Workload], scenario: Scenario) -> str | None:
        """Why this backend cannot express ``scenario`` of ``workload`` from their
        declarations (e.g. a workload whose update is hand-written has no optimizer to
        compile), or ``None``."""
        ...


class BackendBase:
    """The protocol's defaults: a torch backend, not a baseline, run in the run's process,
    refusing nothing. Subclasses set ``name`` and ``compiles`` and write ``prepare``."""

    name: str
    compiles: bool
    framework: ClassVar[str] = "torch"
    baseline: ClassVar[bool] = False
    own_process: ClassVar[tuple[str, ...]] = ()
    refuses: ClassVar[dict[str, str]] = {}
    refuses_on: dict[str, str] = {}

    def info(self) -> BackendInfo:
        """The backend as ``meta.json`` describes it."""
        return BackendInfo(self.name, self.framework, self.compiles, self.baseline)

    def refuses_workload(self, workload: type[Workload], scenario: Scenario) -> str | None:
        """None: a backend takes every workload unless it says otherwise."""
        return None

    def check_refusal(self, scenario: Scenario, device: str) -> None:
        """Raise ``Unsupported`` with the reason when ``refuses`` names ``scenario`` or
        ``refuses_on`` names ``device``."""
        reason = backend_refusal(self, scenario, device)
        if reason is not None:
            raise Unsupported(reason)


def backend_refusal(backend: Backend, scenario: Scenario, device: str) -> str | None:
    """Why ``backend`` refuses ``scenario`` (by its name, else by its mode) or ``device``
    (``refuses_on``), or ``None``."""
    return (backend.refuses.get(scenario.name, backend.refuses.get(scenario.mode))
            or backend.refuses_on.get(device))


def refusal(backend: Backend, workload: type[Workload], scenario: Scenario,
            device: str) -> str | None:
    """Why ``backend`` cannot run ``scenario`` of ``workload`` on ``device`` ("cpu" or
    "cuda"), decided from their declarations alone (nothing is built); ``None`` when it may
    run. In this order: the workload refuses the scenario's mode (``Workload.refuses``), the
    backend refuses the scenario or the device (``Backend.refuses``, ``Backend.refuses_on``),
    the workload has no port to the backend's framework (``Workload.missing_port``), the
    backend refuses the workload (``Backend.refuses_workload``)."""
    return (workload.refuses.get(scenario.mode) or backend_refusal(backend, scenario, device)
            or workload.missing_port(backend.framework)
            or backend.refuses_workload(workload, scenario))
