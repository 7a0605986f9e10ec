"""``export_aoti``: the truly ahead-of-time static graph. ``torch.export`` captures the eval-mode
forward, AOTInductor compiles it into a package (a shared library plus weights), and the
package is loaded back and run (https://pytorch.org/docs/stable/torch.compiler_aot_inductor.html).
Training is not exported: ``train`` is unsupported."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from bench.backends.base import BackendBase, Prepared, torch_params
from bench.schema import Scenario
from models import Workload


class ExportAOTI(BackendBase):
    """torch.export + AOTInductor, inference only."""

    name = "export_aoti"
    compiles = True
    # Scenarios measured in a process of their own even in an in-process run: loading the
    # package crashed a shared process (SIGSEGV) on an H200 with torch 2.11. Only ``infer``
    # builds a package; the others are refused from ``refuses``, at no cost, in-process.
    own_process = ("infer",)
    refuses = {"train": "torch.export + AOTInductor packages an inference graph; a training "
                        "step (backward + optimizer update) is not exportable"}

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        self.check_refusal(scenario, work.cfg.device)
        _, args = work.step(scenario.mode)  # eval mode
        state: dict = {}

        def step():
            if "runner" not in state:  # the first call pays for export, build and load
                state["runner"] = self._build(work, args)
            with torch.no_grad():
                return state["runner"](*args)

        return Prepared(step=step, params=torch_params(work))

    @staticmethod
    def _build(work: Workload, args: tuple):
        with torch.no_grad():
            exported = torch.export.export(work.module, args)
        folder = Path(tempfile.mkdtemp(prefix="aoti-"))
        package = torch._inductor.aoti_compile_and_package(
            exported, package_path=str(folder / f"{work.name}.pt2"))
        return torch._inductor.aoti_load_package(package)
