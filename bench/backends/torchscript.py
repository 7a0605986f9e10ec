"""``jit_trace`` and ``jit_script``: TorchScript, the static graph of PyTorch 1.x (deprecated in
torch 2.14, benchmarked anyway; the runner records its FutureWarning in meta.json).

``infer`` runs the traced/scripted module, frozen (``torch.jit.freeze``) in eval mode.
Training (every scenario whose mode is ``train``) of ``manual_mlp`` runs the hand-derived
update (``models.mlp.manual_sgd_step``) itself as TorchScript. The other workloads train
through autograd and ``torch.optim``, which TorchScript cannot express: their forward runs as
TorchScript (sharing the eager parameters) and ``loss.backward()`` and the optimizer step stay
eager, the way TorchScript models were trained. A module traced in train mode keeps
``dropout(train=True)`` as a random op.
"""

from __future__ import annotations

import torch

from bench.backends.base import BackendBase, Prepared, torch_params, whole_graph
from bench.schema import Scenario
from models import Workload
from models.mlp import ManualMLP, manual_sgd_step


class _TorchScript(BackendBase):
    compiles = True

    def convert(self, module: torch.nn.Module, example: tuple):
        """The module as TorchScript."""
        raise NotImplementedError

    def convert_update(self, lr: float, example: tuple):
        """``manual_sgd_step`` at rate ``lr`` as TorchScript: ``(x, y, w1, w2) -> loss``."""
        raise NotImplementedError

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        params = torch_params(work)
        fn, args = work.step(scenario.mode, scenario.prints)  # sets train/eval mode
        if not scenario.trains:
            with torch.no_grad():
                graph = torch.jit.freeze(self.convert(work.module, args).eval())

            def infer(x):
                with torch.no_grad():
                    return graph(x)

            return Prepared(step=lambda: infer(*args), params=params, call=infer,
                            counters=lambda: whole_graph("the module's forward"))
        if work.name == ManualMLP.name:
            # Tracing runs the update once: trace on copies so the real weights stay put.
            w1, w2 = (w.detach().clone() for w in (work.module.w1, work.module.w2))
            work.update = self.convert_update(work.lr, (*args, w1, w2))
            what = "the hand-written update"
        else:
            work.module = self.convert(work.module, args[:1])  # shares the eager parameters
            what = "the module's forward (loss, backward() and update run eager around it)"
        return Prepared(step=lambda: fn(*args), params=params, call=fn,
                        counters=lambda: whole_graph(what))


class JitTrace(_TorchScript):
    """``torch.jit.trace``: records the ops one example call runs (shapes and branches fixed)."""

    name = "jit_trace"

    def convert(self, module, example):
        return torch.jit.trace(module, example)

    def convert_update(self, lr, example):
        return torch.jit.trace(lambda x, y, w1, w2: manual_sgd_step(x, y, w1, w2, lr), example)


class JitScript(_TorchScript):
    """``torch.jit.script``: compiles the Python source to TorchScript."""

    name = "jit_script"

    def convert(self, module, example):
        return torch.jit.script(module)

    def convert_update(self, lr, example):
        scripted = torch.jit.script(manual_sgd_step)
        return lambda x, y, w1, w2: scripted(x, y, w1, w2, lr)  # noqa: E731
