"""``eager``: the notes' code as written, op by op (PyTorch's dynamic graph); the baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models import Workload


class Eager:
    """Runs ``Workload.step`` unchanged."""

    name = "eager"
    compiles = False

    def prepare(self, work: Workload, scenario: str) -> Callable[[], Any]:
        fn, args = work.step(scenario)
        return lambda: fn(*args)
