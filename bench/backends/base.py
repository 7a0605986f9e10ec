"""What a backend is: a named way to execute a workload's step, and what it hands the runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

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
    (0-dim) for ``train``, the network output ``(B, n_out)`` for ``infer``, as a torch tensor
    or a JAX array. ``params()`` returns the current parameters as numpy arrays, in
    ``work.module.parameters()`` order. ``counters()`` is read once the case has run:
    ``graph_breaks``, ``recompiles`` where the backend knows them (and ``error``, a note
    such as the message ``fullgraph=True`` gives). ``call(*batch)``, where the backend can
    take a batch of another size, runs one step on it (the ``shapes`` scenarios need it).
    """

    step: Callable[[], Any]
    params: Callable[[], list[np.ndarray]]
    counters: Callable[[], dict[str, Any]] = lambda: {}
    call: Callable[..., Any] | None = None


class Backend(Protocol):
    """Turns a workload's eager step into this backend's step.

    ``prepare(work, scenario)`` builds the backend's step for ``scenario`` ("train" or
    "infer") around ``work`` (graph capture may happen here or on the first ``step()`` call)
    and raises ``Unsupported`` when the backend cannot express the case. ``compiles`` says
    whether the first call builds a graph (``compile_s`` is then reported).
    """

    name: str
    compiles: bool

    def prepare(self, work: Workload, scenario: str) -> Prepared: ...
