"""The notes' networks, written once: one literal registry of workloads by DESIGN.md name."""

from __future__ import annotations

from models.cnn import MnistCNN
from models.data import DataError
from models.mlp import AutogradMLP, ManualMLP, SequentialAdam, SequentialSGD
from models.tensor_ops import TensorOpsWorkload
from models.workload import MODES, Workload, WorkloadConfig

WORKLOADS: dict[str, type[Workload]] = {
    "manual_mlp": ManualMLP,
    "autograd_mlp": AutogradMLP,
    "sequential_sgd": SequentialSGD,
    "sequential_adam": SequentialAdam,
    "mnist_cnn": MnistCNN,
    "tensor_ops": TensorOpsWorkload,
}


def trainable_workloads() -> list[str]:
    """Names of the registered workloads that run a train step (``refuses`` no ``"train"``),
    in registry order."""
    return [name for name, cls in WORKLOADS.items() if "train" not in cls.refuses]


def build_workload(name: str, cfg: WorkloadConfig | None = None) -> Workload:
    """Construct workload ``name`` from ``cfg`` (defaults: the notes' shapes, seed 0, CPU).

    Raises ``KeyError`` naming the valid workloads for an unknown name, and ``DataError`` when
    the MNIST files under ``cfg.data_root`` are missing or truncated.
    """
    if name not in WORKLOADS:
        raise KeyError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}")
    return WORKLOADS[name](cfg or WorkloadConfig())


__all__ = [
    "MODES", "WORKLOADS", "DataError", "Workload", "WorkloadConfig", "build_workload",
    "trainable_workloads",
]
