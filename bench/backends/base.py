"""What a backend is: a named way to execute a workload's step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from models import Workload


class Unsupported(Exception):
    """The backend cannot express this case; the message says why (recorded, never dropped)."""


class Backend(Protocol):
    """Turns a workload's eager step into this backend's step.

    ``prepare(work, scenario)`` returns a zero-argument callable that runs one step of
    ``scenario`` on the workload's fixed batch and returns the step's output: the loss (0-dim)
    for ``train``, the network output ``(B, n_out)`` for ``infer``. It raises ``Unsupported``
    when the backend cannot express the case. ``compiles`` says whether the first call builds
    a graph (then ``compile_s`` is reported).
    """

    name: str
    compiles: bool

    def prepare(self, work: Workload, scenario: str) -> Callable[[], Any]: ...
