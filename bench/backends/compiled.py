"""``compile*``: ``torch.compile`` (TorchDynamo + Inductor) of the whole step: for a training
scenario the workload's ``train_step`` (forward, loss, ``backward()`` and the optimizer
update); for ``infer`` the no-grad forward. Graph breaks, recompiles, graphs and the breaks'
reasons are read from Dynamo's counters (``torch._dynamo.utils.counters``) and recorded per
case; a case where a frame passed Dynamo's recompile limit (and so ran eager from then on,
silently) is recorded as ``eager_fallback``, with the limit in force in its ``error``.

Modes (https://pytorch.org/docs/stable/generated/torch.compile.html): ``compile`` default,
``compile_reduce_overhead`` (CUDA graphs on a GPU), ``compile_max_autotune``
(``max-autotune-no-cudagraphs`` on the CPU), ``compile_dynamic`` (``dynamic=True``) and
``compile_static`` (``dynamic=False``; ``compile`` leaves it unset: automatic dynamic shapes).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def break_reasons() -> str:
    """Dynamo's graph breaks since the last reset by reason: each reason on one line
    (``counters["graph_break"]``'s keys, ``break_line``), equal lines merged, most frequent
    first, as ``"2x: Unsupported Tensor.item() call ...; 1x: ..."``; ``"none"`` when it
    counted none. Breaks are counted while tracing, so a frame traced again (a recompile)
    counts again."""
    lines: Counter[str] = Counter()
    for reason, n in counters["graph_break"].items():
        lines[break_line(reason)] += n
    return "; ".join(f"{n}x: {line}" for line, n in lines.most_common()) or "none"


def break_line(reason: str) -> str:
    """A graph break's reason on one line: its first line, and the function Dynamo names in
    its explanation where the first line does not (``"Attempted to inline function marked
    as skipped (Optimizer.zero_grad)"``)."""
    first = one_line(reason)
    named = re.search(r"function `([^`]+)`", reason)
    return f"{first} ({named[1]})" if named and named[1] not in first else first


# The gb_type of the Unsupported Dynamo raises, and counts in counters["unimplemented"], when
# a frame would compile past torch._dynamo.config.recompile_limit (default 8 per frame) or
# accumulated_recompile_limit (256): the frame then runs eager, silently (torch 2.14,
# torch/_dynamo/convert_frame.py; the page its message cites: https://docs.pytorch.org/docs/
# main/user_guide/torch_compiler/compile/programming_model.recompilation.html).
LIMIT_HIT = "Dynamo recompile limit exceeded"


class _LimitWarnings(logging.Handler):
    """Keeps the function named by each "torch._dynamo hit config.<limit>" warning Dynamo
    logs as a frame passes its limit (its third argument, ``'name' (file:line)``), as
    ``name at file.py:line``; ``reset_dynamo`` empties it. Silent logging only loses names."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.functions: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if str(record.msg).startswith("torch._dynamo hit config.") and len(args) > 2:
            where = re.fullmatch(r"'(\w+)' \((.*):(\d+)\)", str(args[2]))
            self.functions.append(f"{where[1]} at {Path(where[2]).name}:{where[3]}" if where
                                  else str(args[2]))


LIMIT_WARNINGS = _LimitWarnings()
logging.getLogger("torch._dynamo.convert_frame").addHandler(LIMIT_WARNINGS)


def recompile_limit_hits() -> list[str]:
    """One ``"recompile_limit=8"`` (or ``"accumulated_recompile_limit=256"``: the limit's
    name and the value in force, from Dynamo's message) per frame that passed its recompile
    limit since the last reset and so runs eager from then on; empty when none did."""
    hits = []
    for reason, n in counters["unimplemented"].items():
        if reason.startswith(LIMIT_HIT):
            kind = re.search(r"Limit type: (\w+)", reason)
            name = kind.group(1) if kind else "recompile_limit"
            value = re.search(r"currently set to (\d+)", reason)
            limit = value.group(1) if value else getattr(torch._dynamo.config, name)
            hits += [f"{name}={limit}"] * n
    return hits


def case_counts(first: tuple[int, int]) -> dict[str, object]:
    """A case's graph columns from Dynamo's counters since the case's reset (``first``:
    ``dynamo_counts()`` after its first call): ``graph_breaks`` met tracing the first call,
    ``recompiles`` (graphs made after it), ``graphs`` and ``break_reasons`` over every step,
    ``compile_phases``; and where a frame passed its recompile limit, status
    ``eager_fallback`` with the limit (and the frame's function, where Dynamo logged it) in
    ``error``."""
    graphs = counters["stats"]["unique_graphs"]
    found: dict[str, object] = {"graph_breaks": first[0], "recompiles": graphs - first[1],
                                "graphs": graphs, "break_reasons": break_reasons(),
                                "compile_phases": compile_phases()}
    if hits := recompile_limit_hits():
        again = graphs - first[1]
        functions = list(dict.fromkeys(LIMIT_WARNINGS.functions))
        named = f" ({', '.join(functions)})" if functions else ""
        what = (f"{', '.join(dict.fromkeys(hits))} hit by {len(hits)} frame"
                f"{'s' * (len(hits) > 1)}{named} after {again} recompile{'s' * (again != 1)}")
        if functions and len(functions) == len(hits) and all(map(_print_frame, functions)):
            found["error"] = f"{what}: the print frame runs eager, the step's graphs stay compiled"
        else:
            found.update(status="eager_fallback",
                         error=f"eager_fallback: {what}; the rest ran eager")
    return found


# The frame Dynamo resumes into after the notes' debug step breaks at ``loss.item()``
# (``Workload.debug_step``): it prints the float and returns the loss, no tensor work, and is
# compiled again for each new loss value (the float is specialized) until the limit, after
# which it runs eager - what a user compiling the notes' loop gets. Such a hit is recorded in
# ``error``; the row stays ``ok``. A frame Dynamo did not name is taken as work that fell back.
PRINT_FRAME = "torch_dynamo_resume_in_debug_step_at_"


def _print_frame(function: str) -> bool:
    """Whether ``function`` (``"name at file.py:line"``) is the debug step's print frame."""
    return function.startswith(PRINT_FRAME)


def reset_dynamo() -> None:
    """Forget every compiled frame and counter: each case starts from a cold Dynamo."""
    torch._dynamo.reset()
    counters.clear()
    LIMIT_WARNINGS.functions.clear()


class Compile(BackendBase):
    """``torch.compile(step, mode=..., dynamic=...)`` registered under ``name``."""

    compiles = True

    def __init__(self, name: str, mode: str | None = None, dynamic: bool | None = None,
                 refuses_on: dict[str, str] | None = None) -> None:
        self.name, self.mode, self.dynamic = name, mode, dynamic
        self.refuses_on = refuses_on or {}

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        fn, args = work.step(scenario.mode, scenario.prints)
        cudagraphs = work.cfg.device == "cuda" and self.mode in ("reduce-overhead",
                                                                  "max-autotune")
        counted = Counted(torch.compile(fn, mode=self.mode, dynamic=self.dynamic), cudagraphs)

        def case_counters() -> dict[str, object]:
            found = counted.counters()
            if scenario.prints:  # after the counts: this resets Dynamo
                add_note(found, fullgraph_error(type(work)(work.cfg), scenario, self.mode,
                                                self.dynamic))
            return found

        return Prepared(step=lambda: counted(*args), params=torch_params(work),
                        counters=case_counters, call=counted)


class Counted:
    """A compiled callable that notes Dynamo's counts after its first call, so that
    ``counters()`` (``case_counts``) tells the first call's breaks from later recompiles.
    ``cudagraphs``: mark a new CUDA-graph iteration before each call (outputs of the last
    one may be reused)."""

    def __init__(self, compiled: Callable[..., Any], cudagraphs: bool = False) -> None:
        self.compiled, self.cudagraphs = compiled, cudagraphs
        self.after_first: tuple[int, int] | None = None

    def __call__(self, *batch: Any) -> Any:
        if self.cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
        out = self.compiled(*batch)
        if self.after_first is None:
            self.after_first = dynamo_counts()
        return out

    def counters(self) -> dict[str, object]:
        """The case's graph columns (``case_counts``), read once the case has run."""
        return case_counts(self.after_first or dynamo_counts())


def add_note(found: dict[str, object], note: str) -> None:
    """Append ``note`` to ``found["error"]`` (``"; "``-separated), or set it."""
    found["error"] = f"{found['error']}; {note}" if "error" in found else note


def fullgraph_error(work: Workload, scenario: Scenario, mode: str | None = None,
                    dynamic: bool | None = None, **config: Any) -> str:
    """What ``torch.compile(..., fullgraph=True)`` says of ``scenario``'s step on ``work``
    (with Dynamo's ``config`` patched, e.g. ``compiled_autograd=True``): the first line of
    its error, or that it compiled. Resets Dynamo first and leaves its counters to this."""
    fn, args = work.step(scenario.mode, scenario.prints)
    reset_dynamo()  # else a frame past its recompile limit would quietly run eager
    try:
        with contextlib.redirect_stdout(io.StringIO()), torch._dynamo.config.patch(**config):
            torch.compile(fn, mode=mode, dynamic=dynamic, fullgraph=True)(*args)
    except Exception as exc:  # Dynamo's Unsupported and friends
        return f"fullgraph=True: {type(exc).__name__}: {break_line(str(exc))}"
    return "fullgraph=True: compiled without a graph break"


# torch._inductor.list_mode_options("reduce-overhead") is {"triton.cudagraphs": True} (torch
# 2.14): CUDA graphs and nothing else. Timed on the CPU (11 cells, two quick runs) its speedup
# was 0.96x-1.09x compile's, inside compile's interval in 21 of 22 cells, at 105 s of a
# 24 min run.
SAME_ON_CPU = ("mode='reduce-overhead' adds only CUDA graphs to compile's default mode "
               "(triton.cudagraphs); on the CPU it is compile under a second name, so it is "
               "not timed twice")

AUTOTUNE_SAME_ON_CPU = (
    "mode='max-autotune' on the CPU (max_autotune and coordinate_descent_tuning, no CUDA graphs) "
    "generated the same kernels and wrapper as compile's default mode for every workload of "
    "the notes here (torch 2.14.1; tests/test_backends.py checks it), so it is not timed twice")

COMPILE_BACKENDS = [
    Compile("compile"),
    Compile("compile_reduce_overhead", mode="reduce-overhead", refuses_on={"cpu": SAME_ON_CPU}),
    Compile("compile_max_autotune", mode="max-autotune", refuses_on={"cpu": AUTOTUNE_SAME_ON_CPU}),
    Compile("compile_dynamic", dynamic=True),
    # Not in DESIGN.md's list: dynamic=False, so the shapes scenarios show all three settings.
    Compile("compile_static", dynamic=False),
]
