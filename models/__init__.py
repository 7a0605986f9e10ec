"""The notes' networks, written once: one literal registry of workloads by DESIGN.md name."""

from __future__ import annotations

from models.cnn import MnistCNN
from models.data import DataError
from models.mlp import AutogradMLP, ManualMLP, SequentialAdam, SequentialSGD
from models.tensor_ops import TensorOpsWorkload
from models.workload import (
    SCENARIOS,
    SHAPE_SCENARIOS,
    Workload,
    WorkloadConfig,
    batch_sequence,
)

WORKLOADS: dict[str, type[Workload]] = {
    "manual_mlp": ManualMLP,
    "autograd_mlp": AutogradMLP,
    "sequential_sgd": SequentialSGD,
    "sequential_adam": SequentialAdam,
    "mnist_cnn": MnistCNN,
    "tensor_ops": TensorOpsWorkload,
}

TRAINABLE = [name for name, cls in WORKLOADS.items() if cls.trainable]


def build_workload(name: str, cfg: WorkloadConfig | None = None) -> Workload:
    """Construct workload ``name`` from ``cfg`` (defaults: the notes' shapes, seed 0, CPU).

    Raises ``KeyError`` naming the valid workloads for an unknown name, and ``DataError`` when
    the MNIST files under ``cfg.data_root`` are missing or truncated.
    """
    if name not in WORKLOADS:
        raise KeyError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}")
    return WORKLOADS[name](cfg or WorkloadConfig())


__all__ = [
    "SCENARIOS", "SHAPE_SCENARIOS", "TRAINABLE", "WORKLOADS", "DataError", "Workload",
    "WorkloadConfig", "batch_sequence", "build_workload",
]
