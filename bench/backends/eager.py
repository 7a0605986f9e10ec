"""``eager``: the notes' code as written, op by op (PyTorch's dynamic graph); the baseline."""

from __future__ import annotations

from bench.backends.base import Prepared, torch_params
from models import Workload


class Eager:
    """Runs ``Workload.step`` unchanged."""

    name = "eager"
    compiles = False

    def prepare(self, work: Workload, scenario: str) -> Prepared:
        fn, args = work.step(scenario)
        return Prepared(step=lambda: fn(*args), params=torch_params(work), call=fn)
