"""The PyTorch training recipes beside ``compile`` (the whole step under ``torch.compile``):
what most users write first, PyTorch's most static training step, the compiled optimizer,
and the dynamic side at its best. Each is a backend of its own, parity-checked like the
others; graph columns come from Dynamo's counters (``bench.backends.compiled``).

- ``compile_module``: ``model.compile()`` only (https://pytorch.org/docs/stable/generated/
  torch.nn.Module.html#torch.nn.Module.compile): the forward compiled in place; loss,
  ``backward()`` and the optimizer step left eager (AOT autograd still compiles the
  forward's backward graph, which ``backward()`` then runs).
- ``compile_optimizer``: ``compile_module`` plus the optimizer step compiled on its own, its
  learning rate a tensor so that a schedule does not recompile (the recipes "Compiling the
  optimizer" and "(beta) Running the compiled optimizer with an LR scheduler",
  https://pytorch.org/tutorials/recipes/compiling_optimizer.html).
- ``compile_autograd``: the whole step under ``torch.compile`` with compiled autograd
  (``torch._dynamo.config.compiled_autograd``, PyTorch 2.4+; ``--compiled-autograd`` in
  PyTorch's benchmarks/dynamo harness; https://pytorch.org/tutorials/intermediate/
  compiled_autograd_tutorial.html): ``backward()`` still breaks Dynamo's graph, but runs as
  a captured, compiled graph rather than the autograd engine's node by node. Whether
  ``fullgraph=True`` holds is recorded in ``error`` with its first break.
- ``eager_fused``: the notes' eager step with ``torch.optim.Adam(fused=True)``, the fastest
  eager Adam on this CPU (sequential_adam 1.39 ms against 2.45 for-loop and 2.15 foreach;
  mnist_cnn 510 ms against 779 and 685; torch.utils.benchmark, 2026-12-03).
"""

from __future__ import annotations

from typing import Any

import torch

from bench.backends.base import BackendBase, Prepared, torch_params
from bench.backends.compiled import Counted, add_note, fullgraph_error
from bench.schema import Scenario
from models import Workload

HAND_WRITTEN = ("{name} derives its gradients by hand on raw weights: its train step calls "
                "neither the module's forward nor backward(), so {what}")
NO_OPTIMIZER = "{name} updates its parameters by hand (no torch.optim optimizer to {what})"
INFER_IS = "an inference step has no {what}: it is {same}'s step under another name"


class CompileModule(BackendBase):
    """``work.module.compile()``, then the workload's own step (eager around the compiled
    forward)."""

    name = "compile_module"
    compiles = True

    def refuses_workload(self, workload: type[Workload], scenario: Scenario) -> str | None:
        if scenario.trains and workload.hand_gradients:
            return HAND_WRITTEN.format(name=workload.name, what="model.compile() compiles "
                                       "nothing of it")
        return None

    def compile_parts(self, work: Workload) -> None:
        """Compile what this recipe compiles, in place on ``work``, before its first step."""
        work.module.compile()

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        self.compile_parts(work)
        fn, args = work.step(scenario.mode, scenario.prints)
        counted = Counted(fn)  # counts Dynamo's graphs after the first call; compiles nothing
        return Prepared(step=lambda: counted(*args), params=torch_params(work),
                        counters=counted.counters, call=counted)


class CompileOptimizer(CompileModule):
    """``compile_module`` with ``optimizer.step`` compiled too, the learning rate a tensor."""

    name = "compile_optimizer"
    refuses = {"infer": INFER_IS.format(what="optimizer step", same="compile_module")}

    def refuses_workload(self, workload: type[Workload], scenario: Scenario) -> str | None:
        if workload.optimizer_class is None:
            return NO_OPTIMIZER.format(name=workload.name, what="compile")
        return super().refuses_workload(workload, scenario)

    def compile_parts(self, work: Workload) -> None:
        super().compile_parts(work)
        work.setup_optimizer(lr=torch.tensor(work.lr, device=work.cfg.device))
        eager_step = work.optimizer.step  # bound before the attribute below shadows it

        @torch.compile(fullgraph=False)
        def optimizer_step() -> None:
            eager_step()

        work.optimizer.step = optimizer_step  # what train_step's optimizer.step() now calls


class CompileAutograd(BackendBase):
    """``torch.compile`` of the whole step, built with ``compiled_autograd=True`` (the flag
    is read when ``torch.compile`` wraps the step, so eager's twin is untouched)."""

    name = "compile_autograd"
    compiles = True
    refuses = {"infer": INFER_IS.format(what="backward()", same="compile")}

    def refuses_workload(self, workload: type[Workload], scenario: Scenario) -> str | None:
        if workload.hand_gradients:
            return HAND_WRITTEN.format(name=workload.name, what="compiled autograd changes "
                                       "nothing of compile's step")
        return None

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        fn, args = work.step(scenario.mode, scenario.prints)
        with torch._dynamo.config.patch(compiled_autograd=True):
            counted = Counted(torch.compile(fn))

        def case_counters() -> dict[str, Any]:
            found = counted.counters()
            captures = torch._dynamo.utils.counters["compiled_autograd"]["captures"]
            add_note(found, f"compiled autograd captured {captures} backward graph"
                            f"{'s' * (captures != 1)}")
            # after the counts: this resets Dynamo
            add_note(found, fullgraph_error(type(work)(work.cfg), scenario,
                                            compiled_autograd=True))
            return found

        return Prepared(step=lambda: counted(*args), params=torch_params(work),
                        counters=case_counters, call=counted)


class EagerFused(BackendBase):
    """The eager step with the workload's optimizer rebuilt ``fused=True``."""

    name = "eager_fused"
    compiles = False
    refuses = {"infer": INFER_IS.format(what="optimizer", same="eager")}

    def refuses_workload(self, workload: type[Workload], scenario: Scenario) -> str | None:
        if workload.optimizer_class is None:
            return NO_OPTIMIZER.format(name=workload.name, what="fuse")
        return None

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        work.setup_optimizer(fused=True)
        fn, args = work.step(scenario.mode, scenario.prints)
        return Prepared(step=lambda: fn(*args), params=torch_params(work), call=fn)
