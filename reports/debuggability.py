"""The debuggability facts the runs measured, as sentences: how many cases broke the graph,
what a print inside the step costs against the same step without it (``debug`` against
``train``) and what ``torch.compile(fullgraph=True)`` says of it, and how often a backend
recompiled over changing batch sizes (the shape scenarios). Generated from
``reports.metrics``' frames only."""

from __future__ import annotations

import pandas as pd

from bench.schema import shape_scenarios
from reports import metrics
from reports.metrics import EAGER
from reports.units import MISSING, counted, fmt_count, fmt_speedup, fmt_time


def _graph_break_sentences(df: pd.DataFrame, limit: int = 12) -> list[str]:
    """How many cases counted graph breaks, and which ones broke the graph (up to ``limit``)."""
    c = metrics.cases(df)
    seen = c[c["graph_breaks"].notna()]
    if seen.empty:
        return []
    broke = seen[seen["graph_breaks"] > 0]
    text = f"Graph breaks were counted in {len(seen)} cases; {len(broke)} broke the graph"
    listed = [f"{r['backend']} on {r['workload']}/{r['scenario']}/{r['device']}: "
              f"{fmt_count(r['graph_breaks'])}" for _, r in broke.head(limit).iterrows()]
    more = f" and {len(broke) - limit} more" if len(broke) > limit else ""
    return [text + (f" ({'; '.join(listed)}{more})." if listed else ".")]


def _against_train(r: pd.Series, col: str, word: str) -> str | None:
    if pd.isna(r[col]):
        return None
    train = "" if pd.isna(r[f"train_{col}"]) else f" (train: {fmt_count(r[f'train_{col}'])})"
    return counted(r[col], word) + train


def _debug_cost_sentences(df: pd.DataFrame) -> list[str]:
    """The ``debug`` scenario per backend: step time, graph breaks and recompiles against
    ``train``, and what ``fullgraph=True`` says of the step."""
    out = []
    for _, r in metrics.debug_costs(df).iterrows():
        head = (f"With a print of the loss inside the step, {r['backend']} on "
                f"{r['workload']}/{r['device']}")
        if pd.isna(r["debug_cost_ratio"]):
            train = MISSING if pd.isna(r["train_status"]) else r["train_status"]
            text = f"{head}: debug {r['status']}, train {train}"
        else:
            extra = r["debug_extra_s"]
            text = (f"{head} takes {fmt_speedup(r['debug_cost_ratio'])} its train step "
                    f"({fmt_time(abs(extra))} {'extra' if extra >= 0 else 'less'} per step)")
        counts = [c for c in (_against_train(r, "graph_breaks", "graph break"),
                              _against_train(r, "recompiles", "recompile")) if c]
        if counts and r["status"] == "ok":
            text += " with " + " and ".join(counts)
        if pd.notna(r["fullgraph_note"]):
            text += f"; fullgraph=True says: {r['fullgraph_note']}"
        out.append(text + ".")
    return out


def _shapes_part(r: pd.Series) -> str:
    sizes = ("" if pd.isna(r["distinct_batch_sizes"])
             else f" ({fmt_count(r['distinct_batch_sizes'])} distinct batch sizes)")
    if r["status"] != "ok":
        return f"{r['scenario']}{sizes} {r['status']}"
    rec = ("recompiles not recorded" if pd.isna(r["recompiles"])
           else counted(r["recompiles"], "recompile"))
    vs = ("" if r["backend"] == EAGER or pd.isna(r["sequence_speedup"])
          else f" ({fmt_speedup(r['sequence_speedup'])} eager's "
               f"{fmt_time(r['eager_sequence_s'])})")
    return f"{r['scenario']}{sizes} {rec}, the pass takes {fmt_time(r['sequence_s'])}{vs}"


def _shapes_sentences(df: pd.DataFrame) -> list[str]:
    """Recompiles and pass time of ``shapes`` and ``shapes8``, per workload and backend."""
    s = metrics.shapes_summary(df)
    s = s.assign(_sc=s["scenario"].map(shape_scenarios().index))
    out = []
    for (_, workload, device, backend), g in s.sort_values("_sc", kind="stable").groupby(
            ["run_id", "workload", "device", "backend"], sort=False):
        parts = "; ".join(_shapes_part(r) for _, r in g.iterrows())
        out.append(f"Changing batch sizes, {backend} on {workload}/{device}: {parts}.")
    return out


def debug_sentences(df: pd.DataFrame) -> list[str]:
    """Graph breaks counted, the debug scenario's cost, recompiles under changing shapes."""
    return _graph_break_sentences(df) + _debug_cost_sentences(df) + _shapes_sentences(df)
