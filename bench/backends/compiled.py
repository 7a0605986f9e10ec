"""``compile*``: ``torch.compile`` (TorchDynamo + Inductor) of the whole step: for a training
scenario the workload's ``train_step`` (forward, loss, ``backward()`` and the optimizer
update); for ``infer`` the no-grad forward. Graph breaks and recompiles are read from Dynamo's
counters (``torch._dynamo.utils.counters``) and recorded per case.

Modes (https://pytorch.org/docs/stable/generated/torch.compile.html): ``compile`` default,
``compile_reduce_overhead`` (CUDA graphs on a GPU), ``compile_max_autotune``
(``max-autotune-no-cudagraphs`` on the CPU), ``compile_dynamic`` (``dynamic=True``) and
``compile_static`` (``dynamic=False``; ``compile`` leaves it unset: automatic dynamic shapes).
"""

from __future__ import annotations

import contextlib
import io

import torch
from torch._dynamo.utils import calculate_time_spent, counters

from bench.backends.base import BackendBase, Prepared, torch_params
from bench.errors import one_line
from bench.schema import Scenario
from models import Workload


def dynamo_counts() -> tuple[int, int]:
    """``(graph breaks, unique graphs)`` Dynamo has counted since the last reset."""
    return sum(counters["graph_break"].values()), counters["stats"]["unique_graphs"]


def compile_phases() -> str:
    """Where Dynamo says compile time went since the last reset (``calculate_time_spent``):
    Dynamo's own tracing (frame compile minus backend), the backend (AOT autograd plus
    Inductor, forward and the lazily compiled backward), e.g. ``"dynamo=1.20s backend=3.41s"``.
    """
    spent = calculate_time_spent()
    backend = spent.get("backend_compile", 0.0)
    dynamo = spent.get("entire_frame_compile", 0.0) - backend
    backend += spent.get("entire_backward_compile", 0.0)
    return f"dynamo={dynamo:.2f}s backend={backend:.2f}s"


def reset_dynamo() -> None:
    """Forget every compiled frame and counter: each case starts from a cold Dynamo."""
    torch._dynamo.reset()
    counters.clear()


class Compile(BackendBase):
    """``torch.compile(step, mode=..., dynamic=...)`` registered under ``name``."""

    compiles = True

    def __init__(self, name: str, mode: str | None = None, dynamic: bool | None = None,
                 cpu_mode: str | None = None, refuses_on: dict[str, str] | None = None) -> None:
        self.name, self.mode, self.dynamic, self.cpu_mode = name, mode, dynamic, cpu_mode
        self.refuses_on = refuses_on or {}

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        fn, args = work.step(scenario.mode, scenario.prints)
        mode = self.cpu_mode if work.cfg.device == "cpu" and self.cpu_mode else self.mode
        compiled = torch.compile(fn, mode=mode, dynamic=self.dynamic)
        after_first: list[tuple[int, int]] = []
        graphs = work.cfg.device == "cuda" and mode in ("reduce-overhead", "max-autotune")

        def call(*batch):
            if graphs:  # a new iteration: CUDA graph outputs of the last one may be reused
                torch.compiler.cudagraph_mark_step_begin()
            out = compiled(*batch)
            if not after_first:
                after_first.append(dynamo_counts())
            return out

        def case_counters() -> dict[str, object]:
            breaks, graphs = after_first[0]
            found: dict[str, object] = {"graph_breaks": breaks,
                                        "recompiles": dynamo_counts()[1] - graphs,
                                        "compile_phases": compile_phases()}
            if scenario.prints:
                found["error"] = fullgraph_error(type(work)(work.cfg), scenario, mode,
                                                 self.dynamic)
            return found

        return Prepared(step=lambda: call(*args), params=torch_params(work),
                        counters=case_counters, call=call)


def fullgraph_error(work: Workload, scenario: Scenario, mode: str | None,
                    dynamic: bool | None) -> str:
    """What ``torch.compile(..., fullgraph=True)`` says of ``scenario``'s step (the notes'
    debug step prints ``loss.item()``): the first line of its error, or that it compiled."""
    fn, args = work.step(scenario.mode, scenario.prints)
    reset_dynamo()  # else a frame past its recompile limit would quietly run eager
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            torch.compile(fn, mode=mode, dynamic=dynamic, fullgraph=True)(*args)
    except Exception as exc:  # Dynamo's Unsupported and friends
        return f"fullgraph=True: {type(exc).__name__}: {one_line(str(exc))}"
    return "fullgraph=True: compiled without a graph break"


# torch._inductor.list_mode_options("reduce-overhead") is {"triton.cudagraphs": True} (torch
# 2.14): CUDA graphs and nothing else. Timed on the CPU (11 cells, two quick runs) its speedup
# was 0.96x-1.09x compile's, inside compile's interval in 21 of 22 cells, at 105 s of a
# 24 min run.
SAME_ON_CPU = ("mode='reduce-overhead' adds only CUDA graphs to compile's default mode "
               "(triton.cudagraphs); on the CPU it is compile under a second name, so it is "
               "not timed twice")

COMPILE_BACKENDS = [
    Compile("compile"),
    Compile("compile_reduce_overhead", mode="reduce-overhead", refuses_on={"cpu": SAME_ON_CPU}),
    Compile("compile_max_autotune", mode="max-autotune",
            cpu_mode="max-autotune-no-cudagraphs"),
    Compile("compile_dynamic", dynamic=True),
    # Not in DESIGN.md's list: dynamic=False, so the shapes scenarios show all three settings.
    Compile("compile_static", dynamic=False),
]
