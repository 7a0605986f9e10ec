"""``eager``: the notes' code as written, op by op (PyTorch's dynamic graph); the baseline."""

from __future__ import annotations

from bench.backends.base import BackendBase, Prepared, torch_params
from bench.schema import Scenario
from models import Workload


class Eager(BackendBase):
    """Runs ``Workload.step`` unchanged."""

    name = "eager"
    compiles = False
    baseline = True

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        fn, args = work.step(scenario.mode, scenario.prints)
        return Prepared(step=lambda: fn(*args), params=torch_params(work), call=fn)
