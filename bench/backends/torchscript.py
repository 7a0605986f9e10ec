"""``jit_trace`` and ``jit_script``: TorchScript, the static graph of PyTorch 1.x (deprecated in
torch 2.14, benchmarked anyway; the runner records its FutureWarning in meta.json).

``infer`` runs the traced/scripted module, frozen (``torch.jit.freeze``) in eval mode.
``train`` of ``manual_mlp`` runs the hand-derived update (``models.mlp.manual_sgd_step``)
itself as TorchScript. The other workloads train through autograd and ``torch.optim``, which
TorchScript cannot express: their forward runs as TorchScript (sharing the eager parameters)
and ``loss.backward()`` and the optimizer step stay eager, the way TorchScript models were
trained. A module traced in train mode keeps ``dropout(train=True)`` as a random op.
"""

from __future__ import annotations

import torch

from bench.backends.base import Prepared, torch_params
from models import Workload
from models.mlp import ManualMLP, manual_sgd_step


class _TorchScript:
    compiles = True
    name: str

    def convert(self, module: torch.nn.Module, example: tuple):
        """The module as TorchScript."""
        raise NotImplementedError

    def convert_update(self, lr: float, example: tuple):
        """``manual_sgd_step`` at rate ``lr`` as TorchScript: ``(x, y, w1, w2) -> loss``."""
        raise NotImplementedError

    def prepare(self, work: Workload, scenario: str) -> Prepared:
        params = torch_params(work)
        _, args = work.step(scenario)  # sets train/eval mode
        return Prepared(step=self._build(work, scenario, args), params=params)

    def _build(self, work: Workload, scenario: str, args: tuple):
        if scenario == "infer":
            with torch.no_grad():
                graph = torch.jit.freeze(self.convert(work.module, args).eval())

            def infer():
                with torch.no_grad():
                    return graph(*args)

            return infer
        if work.name == ManualMLP.name:
            w1, w2 = work.module.w1, work.module.w2
            # Tracing runs the update once: trace on copies so the real weights stay put.
            update = self.convert_update(work.lr, (*args, w1.detach().clone(),
                                                   w2.detach().clone()))

            def manual():
                with torch.no_grad():
                    return update(*args, w1, w2)

            return manual
        work.module = self.convert(work.module, args[:1])  # shares the eager parameters
        return lambda: work.train_step(*args)


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
        return lambda x, y, w1, w2: scripted(x, y, w1, w2, lr)
