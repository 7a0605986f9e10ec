"""What one measurement is (``Case``), the settings a run shares (``RunConfig``), and the case
matrix (from names checked against a registry) with its deterministic sharding."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bench.errors import UsageError
from bench.profiles import PROFILES, Profile
from models import WorkloadConfig


@dataclass(frozen=True)
class Case:
    """One cell of the matrix: workload x scenario x backend x device."""

    workload: str
    scenario: str
    backend: str
    device: str

    @property
    def label(self) -> str:
        """``workload/scenario/backend/device``: the case's name in messages and progress."""
        return f"{self.workload}/{self.scenario}/{self.backend}/{self.device}"


@dataclass(frozen=True)
class RunConfig:
    """Settings shared by every case of a run (every backend gets the same); each case names
    its own device."""

    run_id: str
    profile: Profile
    threads: int  # torch intra-op threads, the same for every backend
    workload: WorkloadConfig = WorkloadConfig()  # shapes, seed, data root (device set per case)
    tf32: bool = False  # the run's precision policy (bench.precision)
    round: int = 1  # which of the run's independent rounds (bench.rounds) a case belongs to

    def to_json(self) -> dict:
        """The run settings a case worker process needs (the notes' shapes are implied)."""
        return {"run_id": self.run_id, "profile": self.profile.name, "threads": self.threads,
                "data_root": self.workload.data_root, "seed": self.workload.seed,
                "tf32": self.tf32, "round": self.round}

    @classmethod
    def from_json(cls, d: dict) -> RunConfig:
        """The settings ``to_json`` wrote (``tf32`` off when absent)."""
        wcfg = WorkloadConfig(data_root=d["data_root"], seed=d["seed"])
        return cls(d["run_id"], PROFILES[d["profile"]], d["threads"], wcfg, d.get("tf32", False),
                   d.get("round", 1))


ORDERS = ("shuffled", "workload", "backend")  # shuffled: bench.rounds.round_order
NAMES_HELP = "or all alone (every one); a name given twice is refused"


def parse_names(text: str, valid, kind: str) -> list[str]:
    """A comma-separated list of names, each once, checked against ``valid``; or ``all``
    alone, for every valid name in order.

    Raises ``UsageError`` naming the first unknown or repeated name (or an ``all`` among
    other names) and the valid choices.
    """
    if text.strip() == "all":
        return list(valid)
    names = [n.strip() for n in text.split(",") if n.strip()]
    choices = f"valid: {', '.join(valid)}, or all alone"
    for i, n in enumerate(names):
        if n == "all":
            raise UsageError(f"all stands alone: it already names every {kind}; give all, or "
                             f"a list of names ({choices})")
        if n not in valid:
            raise UsageError(f"unknown {kind} {n!r}; {choices}")
        if n in names[:i]:
            raise UsageError(f"{kind} {n!r} given twice: name each once ({choices})")
    if not names:
        raise UsageError(f"no {kind} given; {choices}")
    return names


def case_matrix(workloads, scenarios, backends, device: str,
                order: str = "workload") -> list[Case]:
    """Every combination, in a fixed order: workload-major (a workload's backends side by
    side), or backend-major (each backend over every workload before the next backend, in
    the order given: a run cut short by a deadline keeps whole backends)."""
    if order == "backend":
        return [Case(w, s, b, device)
                for b, w, s in itertools.product(backends, workloads, scenarios)]
    return [Case(w, s, b, device) for w, s, b in itertools.product(workloads, scenarios, backends)]


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``1 <= I <= N``; ``None`` -> ``(1, 1)``.

    Raises ``UsageError`` on anything else.
    """
    if text is None:
        return 1, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise UsageError(f"bad --shard {text!r}; expected I/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise UsageError(f"bad --shard {text!r}; need 1 <= I <= N")
    return i, n


def shard(cases: list[Case], index: int, count: int) -> list[Case]:
    """The cases of shard ``index`` of ``count`` (1-based): every ``count``-th case, so each
    shard gets a mix of cheap and expensive ones; the union of all shards is ``cases``."""
    return cases[index - 1 :: count]
