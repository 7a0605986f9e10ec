"""Correct before fast: every backend's numbers are checked against eager before it is timed.

The rule follows PyTorch's own compile benchmark (``torch._dynamo.utils.same`` with a float64
reference, benchmarks/dynamo/common.py): run the eager code in float64 as the reference, run
float32 eager twice to learn eager's own error, and pass a backend when
``err(backend) <= 2 * err(eager) + tol``, ``tol`` the scenario's ``Scenario.tolerance``. The two
float32 runs must agree within ``EAGER_RERUN_TOL`` (PyTorch's ``eager_two_runs_differ``):
when they do not, eager's error is no yardstick and the case cannot be judged
(``Reference.rerun_problem``).
``infer`` compares the output of one forward; a training scenario compares the losses of
``PARITY_STEPS`` steps and how far they moved every parameter. The error of a list of arrays
is the largest relative L2 error among them. Dropout is switched off (``p = 0``) in every
parity run, since no two frameworks draw the same masks; inference runs in eval mode, where
dropout is the identity anyway.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bench.backends.base import Prepared, Unsupported
from bench.backends.eager import Eager
from bench.schema import Scenario, atomic_write
from models import Workload, WorkloadConfig, build_workload

PARITY_STEPS = 3
# Largest relative L2 difference (``rel_err``) allowed between two float32 eager runs. Measured
# on CPU: 0.0 (bit-identical) for every workload and scenario at the notes' shapes; the bound
# leaves room for a GPU's reordered float32 reductions (~1e-7) and stays 100x under the
# tightest parity tolerance (1e-4, ``infer``). PyTorch's harness allows 1e-4 (``same``).
EAGER_RERUN_TOL = 1e-6


def to_numpy(x: Any) -> np.ndarray:
    """A torch tensor (any device) or JAX array as a float64 numpy array."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def rel_err(pieces: list[np.ndarray], ref: list[np.ndarray]) -> float:
    """Largest ``||a - r|| / ||r||`` over matching arrays (``inf`` on a shape mismatch or NaN)."""
    worst = 0.0
    for a, r in zip(pieces, ref, strict=True):
        if a.shape != r.shape:
            return float("inf")
        err = float(np.linalg.norm(a - r) / max(np.linalg.norm(r), np.finfo(float).tiny))
        worst = max(worst, err if np.isfinite(err) else float("inf"))
    return worst


def disable_dropout(work: Workload) -> Workload:
    """Set ``p = 0`` on every ``nn.Dropout`` of ``work.module``; returns ``work``."""
    for m in work.module.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return work


def run_pieces(prepared: Prepared, scenario: Scenario, work: Workload) -> list[np.ndarray]:
    """What parity compares: ``[output]`` of one inference step; for training scenarios
    ``[losses, *change of each parameter]`` over ``PARITY_STEPS`` steps on the fixed batch
    (steady scenarios: ``train``, ``debug``) or one step on each distinct batch size of the
    sequence, in order (``shapes``, ``shapes8``: a new batch size must give the right numbers
    too). The change, not the parameter: at the notes' learning rates (1e-6) the weights
    move by 1e-6 of themselves per step, so a wrong update (a doubled gradient, say) would
    hide under any tolerance on the weights. Raises ``Unsupported`` for a sequence under a
    backend that takes only its fixed batch."""
    if not scenario.trains:
        return [to_numpy(prepared.step())]
    if not scenario.steady:
        if prepared.call is None:
            raise Unsupported("the backend runs only the batch it was built for")
        sizes = list(dict.fromkeys(scenario.batch_sizes))
        steps = [functools.partial(prepared.call, *work.make_batch(n)) for n in sizes]
    else:
        steps = [prepared.step] * PARITY_STEPS
    before = prepared.params()
    with contextlib.redirect_stdout(io.StringIO()):  # the debug step prints its loss
        losses = np.array([float(to_numpy(step())) for step in steps])
    after = prepared.params()
    return [losses, *[a - b for a, b in zip(after, before, strict=True)]]


@dataclass(frozen=True)
class Reference:
    """Float64 eager pieces of one workload and scenario, and float32 eager's error to them."""

    pieces: list[np.ndarray]
    eager_err: float
    deterministic: bool  # two float32 eager runs gave bit-identical pieces
    rerun_err: float = 0.0  # rel_err between the two float32 eager runs

    def save(self, path: Path) -> None:
        """Write the reference to ``path`` (``.npz``), atomically: the case processes of a
        run share the file."""
        arrays = {f"piece{i}": a for i, a in enumerate(self.pieces)}

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file, so numpy adds no ".npz" to the temporary name
                np.savez(f, eager_err=self.eager_err, deterministic=self.deterministic,
                         rerun_err=self.rerun_err, **arrays)

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> Reference:
        """Read a reference written by ``save``; ``KeyError`` for a file without
        ``rerun_err`` (written before it was kept: the caller builds it again)."""
        with np.load(path) as z:
            n = sum(name.startswith("piece") for name in z.files)
            pieces = [z[f"piece{i}"] for i in range(n)]
            return cls(pieces, float(z["eager_err"]), bool(z["deterministic"]),
                       float(z["rerun_err"]))

    def rerun_problem(self) -> str | None:
        """Why this case cannot be judged, or ``None``: the two float32 eager runs differ by
        more than ``EAGER_RERUN_TOL`` (relative L2, NaN counted as a difference). The text
        starts ``eager_two_runs_differ:`` and gives the measured difference."""
        if self.rerun_err <= EAGER_RERUN_TOL:
            return None
        return (f"eager_two_runs_differ: two float32 eager runs differ by {self.rerun_err:.3g} "
                f"(relative L2) > {EAGER_RERUN_TOL:g}; eager is not deterministic here, so "
                "no backend can be judged against it")

    def judge(self, pieces: list[np.ndarray], scenario: Scenario) -> tuple[bool, float]:
        """``(passed, error)`` of a backend's pieces against this reference, at
        ``scenario.tolerance``."""
        err = rel_err(pieces, self.pieces)
        return bool(np.isfinite(err) and err <= self.bound(scenario)), err

    def bound(self, scenario: Scenario) -> float:
        """The largest error that passes: twice eager's own error plus the tolerance."""
        return 2 * self.eager_err + scenario.tolerance


def parity_workload(name: str, cfg: WorkloadConfig) -> Workload:
    """A fresh workload for a parity run: same seed, weights and batch, dropout off."""
    return disable_dropout(build_workload(name, cfg))


def build_reference(name: str, scenario: Scenario, cfg: WorkloadConfig) -> Reference:
    """Run eager in float64 once and in float32 twice on ``cfg``'s weights and batch; the
    reference keeps how far the two float32 runs are apart (``rerun_err``)."""
    def eager_pieces(c: WorkloadConfig) -> list[np.ndarray]:
        work = parity_workload(name, c)
        return run_pieces(Eager().prepare(work, scenario), scenario, work)

    ref = eager_pieces(replace(cfg, dtype=torch.float64))
    first, second = eager_pieces(cfg), eager_pieces(cfg)
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, second, strict=True))
    return Reference(ref, rel_err(first, ref), same, 0.0 if same else rel_err(second, first))


def check(prepare: Callable[[Workload], Prepared], name: str, scenario: Scenario,
          cfg: WorkloadConfig, reference: Reference) -> tuple[bool, float]:
    """Prepare a backend on a fresh parity workload, run it, judge it against ``reference``."""
    work = parity_workload(name, cfg)
    pieces = run_pieces(prepare(work), scenario, work)
    return reference.judge(pieces, scenario)


def checks_in_place(work: Workload, scenario: Scenario) -> bool:
    """Whether the parity run can be the first steps of the timed workload itself (one
    compile per case, and the check made before any timing): true for ``infer`` (eval mode,
    no state changes), and for steady training (``train``, ``debug``) of a network with no
    active dropout (the weights the reference starts from are the fresh workload's). The
    batch-size sequences never: their measured pass must meet each new size for the first
    time."""
    if not scenario.steady:
        return False
    if not scenario.trains:
        return True
    return not any(isinstance(m, nn.Dropout) and m.p > 0 for m in work.module.modules())
