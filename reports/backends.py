"""Which backend is which, as the runs' ``meta.json`` describe them (``bench.schema.BackendInfo``
records, in the backend registry's order): the report's backend order, each backend's colour,
its framework and whether it is its framework's baseline. Nothing here guesses from a name: a
backend no ``meta.json`` describes comes after the described ones, in order of first
appearance, with no framework (so it is never counted as a PyTorch static graph)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.schema import BackendInfo, backend_infos

# A fixed qualitative palette, indexed by a backend's position in the report's order: the
# registry's first backend (eager, the baseline every speedup divides by) is black, then
# matplotlib's tab10 (C1..C9, C0) and tab20's light tints, 21 distinct colours in all.
PALETTE = (
    "black",
    "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#1f77b4",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
    "#dbdb8d", "#9edae5",
)  # fmt: skip
# Columns ``describe`` adds to the results: the row's backend, as its run described it.
RANK, FRAMEWORK, BASELINE, COMPILES = "backend_rank", "framework", "baseline", "compiles"


def described(metas: list[dict[str, Any]]) -> list[BackendInfo]:
    """The backends the runs' ``meta.json`` describe, each once (its first description), in
    registry order; a backend only a later run knows is put right after the one it follows
    there. Raises ``TypeError`` for a ``"backends"`` entry that is not a ``BackendInfo``."""
    found: dict[str, BackendInfo] = {}
    names: list[str] = []
    for meta in metas:
        at = 0  # where the next new name of this run goes
        for info in backend_infos(meta):
            if info.name not in found:
                found[info.name] = info
                names.insert(at, info.name)
            at = names.index(info.name) + 1
    return [found[name] for name in names]


def describe(df: pd.DataFrame, infos: list[BackendInfo]) -> pd.DataFrame:
    """``df`` (one row per case) with four columns per row's backend: ``backend_rank`` (int,
    0-based position in the report's order: ``infos`` first, then undescribed backends in
    order of first appearance), ``framework`` (``"torch"``, ``"jax"``; NaN when undescribed)
    ``baseline`` (bool: its framework's eager reference) and ``compiles`` (bool: its first call
    builds a graph); both False when undescribed."""
    by_name = {info.name: info for info in infos}
    names = [*by_name, *(b for b in dict.fromkeys(df["backend"]) if b not in by_name)]
    rank = {name: i for i, name in enumerate(names)}
    return df.assign(**{
        RANK: df["backend"].map(rank).astype(int),
        FRAMEWORK: df["backend"].map(lambda b: by_name[b].framework if b in by_name else None),
        BASELINE: df["backend"].map(lambda b: b in by_name and by_name[b].baseline).astype(bool),
        COMPILES: df["backend"].map(lambda b: b in by_name and by_name[b].compiles).astype(bool),
    })  # fmt: skip


def order(frame: pd.DataFrame, among: pd.Series | list[str] | None = None) -> list[str]:
    """The backends of ``frame`` (rows from ``reports.load.load_runs``, which carry
    ``backend_rank``) each once, in the report's order; only those in ``among`` if given."""
    ranked = frame[["backend", RANK]].drop_duplicates("backend").sort_values(RANK, kind="stable")
    names = list(ranked["backend"])
    return names if among is None else [b for b in names if b in set(among)]


def ranks(frame: pd.DataFrame) -> dict[str, int]:
    """Backend name -> its position in the report's order, for the backends of ``frame``."""
    return dict(zip(frame["backend"], frame[RANK], strict=True))


def color(rank: int) -> str:
    """The colour of the backend at position ``rank`` of the report's order (black first)."""
    return PALETTE[int(rank) % len(PALETTE)]


def colors(frame: pd.DataFrame) -> dict[str, str]:
    """Backend name -> its colour, for the backends of ``frame``: the same in every plot of
    one report, distinct for the first ``len(PALETTE)`` backends."""
    return {name: color(rank) for name, rank in ranks(frame).items()}


def static(frame: pd.DataFrame) -> pd.Series:
    """Per row of ``frame``: True for a PyTorch static-graph backend, as its run described it
    (framework ``torch``, builds a graph, not the baseline: anything but eager, an eager
    variant and JAX); False for an undescribed backend."""
    return ((frame[FRAMEWORK] == "torch") & frame[COMPILES].astype(bool)
            & ~frame[BASELINE].astype(bool))
