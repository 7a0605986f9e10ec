"""``export_aoti``: the truly ahead-of-time static graph. ``torch.export`` captures the eval-mode
forward, AOTInductor compiles it into a package (a shared library plus weights), and the
package is loaded back and run (https://pytorch.org/docs/stable/torch.compiler_aot_inductor.html).
Training is not exported: ``train`` is unsupported. A case's later rounds load the package its
first round built (same workload, same seed, same weights), as a deployment would: their first
call is the package's load, reported as ``compile_warm_s``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from bench.backends.base import CASE_FOLDER_ENV, BackendBase, Prepared, torch_params, whole_graph
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

        return Prepared(step=step, params=torch_params(work),
                        counters=lambda: whole_graph("the exported forward"))

    @staticmethod
    def _build(work: Workload, args: tuple):
        """Export, compile and load ``work``'s package; in a case's later rounds (its folder,
        ``CASE_FOLDER_ENV``, holds the first round's package) only load it."""
        kept = os.environ.get(CASE_FOLDER_ENV)
        folder = Path(kept) / "aoti" if kept else Path(tempfile.mkdtemp(prefix="aoti-"))
        package = folder / f"{work.name}.pt2"
        if not package.exists():
            with torch.no_grad():
                exported = torch.export.export(work.module, args)
            folder.mkdir(parents=True, exist_ok=True)
            built = torch._inductor.aoti_compile_and_package(
                exported, package_path=str(package.with_suffix(".part.pt2")))
            os.replace(built, package)  # a package is whole, or not there
        return torch._inductor.aoti_load_package(str(package))
