"""Independent rounds: every steady-state case is measured ``Profile.rounds`` times, the whole
matrix round by round, each round in a freshly shuffled order (``round_order``), so that a slow
minute of the machine hits different cases in different rounds. Each round's raw values are
kept in the run folder's ``rounds.csv`` (``ROUND_COLUMNS``: one tidy row per case, round and
step function), and a case's speedup and its interval are computed from them
(``speedup_interval``), never from one timing window.

The speedup of a round is eager's median over the backend's median, both timed interleaved in
that round's window. The case's speedup is the geometric mean of its rounds' speedups and its
95% interval is Student's t interval of their logarithms (``R - 1`` degrees of freedom): it
holds the variance *between* rounds, which is what a rerun sees, not only the noise within one
window (Kalibera and Jones, "Rigorous Benchmarking in Reasonable Time", ISMM 2013: the variance
that matters is the one between executions). With one round there is no such variance to
measure: the interval is then the window's own (eager's median over the ends of the backend's
order-statistic interval) and says so by ``rounds`` = 1.

Torch-free: ``reports/`` and ``compare`` import it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bench.schema import KEY, atomic_write

# rounds.csv: column -> unit, in order. ``step``: "backend" (the case's own step) or "eager"
# (its interleaved eager twin; absent for the eager case itself). ``position``: the case's
# place in its round's shuffled order (1-based).
ROUND_COLUMNS: dict[str, str] = {
    "run_id": "", **{k: "" for k in KEY}, "round": "count", "position": "count", "step": "",
    "median_s": "s", "ci_low_s": "s", "ci_high_s": "s", "iqr_s": "s", "blocks": "blocks",
    "first_call_s": "s", "other_cpu_cores": "cores", "steal_fraction": "fraction",
    "disturbed": "flag", "case_wall_s": "s", "steady_wall_s": "s", "compile_warm_s": "s",
}  # fmt: skip
CONFIDENCE = 0.95


def round_order(cases: Sequence[Any], seed: int, round_no: int) -> list[Any]:
    """``cases`` in round ``round_no``'s order: a shuffle seeded by ``(seed, round_no)``, so a
    resumed run takes each round in the order it started with. Round numbers start at 1."""
    order = list(cases)
    random.Random(f"{seed}/{round_no}").shuffle(order)
    return order


def round_records(row: dict[str, Any], round_no: int, position: int) -> list[dict[str, Any]]:
    """The ``rounds.csv`` rows of one measured steady-state row (a results row with its
    ``step_*`` and ``eager_step_median_s``, plus ``_eager_stats``: the twin's
    ``(median, ci_low, ci_high, iqr, blocks)`` in seconds, where there is a twin)."""
    base = {"run_id": row["run_id"], **{k: row[k] for k in KEY}, "round": round_no,
            "position": position, "other_cpu_cores": row.get("other_cpu_cores"),
            "steal_fraction": row.get("steal_fraction"), "disturbed": row.get("disturbed"),
            "case_wall_s": row.get("case_wall_s"), "steady_wall_s": row.get("steady_wall_s")}
    out = [{**base, "step": "backend", "median_s": row.get("step_median_s"),
            "compile_warm_s": row.get("compile_warm_s"), "ci_low_s": row.get("step_ci_low_s"),
            "ci_high_s": row.get("step_ci_high_s"), "iqr_s": row.get("step_iqr_s"),
            "blocks": row.get("repeats"), "first_call_s": row.get("first_call_s")}]
    twin = row.get("_eager_stats")
    if twin is not None:
        med, low, high, iqr, blocks = twin
        out.append({**base, "step": "eager", "median_s": med, "ci_low_s": low,
                    "ci_high_s": high, "iqr_s": iqr, "blocks": blocks, "first_call_s": None})
    return out


def t_interval_of_logs(ratios: Sequence[float],
                       confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(geometric mean, low, high)`` of positive ``ratios``: Student's t interval on their
    logarithms, exponentiated. One ratio gives ``(r, nan, nan)``. Raises ``ValueError`` on an
    empty, non-positive or non-finite input.

    >>> [round(v, 3) for v in t_interval_of_logs([1.0, 1.1, 1.2])]
    [1.097, 0.875, 1.376]
    """
    x = np.asarray(ratios, dtype=float)
    if x.size == 0 or not np.all(np.isfinite(x) & (x > 0)):
        raise ValueError(f"ratios must be finite and positive, got {list(ratios)}")
    logs = np.log(x)
    mean = float(logs.mean())
    if x.size == 1:
        return math.exp(mean), math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 1) * logs.std(ddof=1) / math.sqrt(x.size)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def round_speedups(rounds: pd.DataFrame) -> pd.Series:
    """Per round, eager's median over the backend's, from one case's ``rounds.csv`` rows."""
    wide = rounds.pivot_table(index="round", columns="step", values="median_s", aggfunc="first")
    if "eager" not in wide or "backend" not in wide:
        return pd.Series(dtype=float)
    return (wide["eager"] / wide["backend"]).dropna()


def speedup_interval(rounds: pd.DataFrame, window: dict[str, Any] | None = None,
                     confidence: float = CONFIDENCE) -> dict[str, float]:
    """``speedup``, ``speedup_ci_low``, ``speedup_ci_high`` and ``rounds`` of one case from
    its ``rounds.csv`` rows (see the module docstring). With one round, ``window`` (the row
    with ``step_ci_*`` and ``eager_step_median_s``) gives the window's own interval."""
    ratios = round_speedups(rounds)
    if ratios.empty:
        return {}
    point, low, high = t_interval_of_logs(ratios.to_list(), confidence)
    if len(ratios) == 1 and window is not None:
        eager = window["eager_step_median_s"]
        low, high = eager / window["step_ci_high_s"], eager / window["step_ci_low_s"]
    return {"speedup": point, "speedup_ci_low": low, "speedup_ci_high": high,
            "rounds": len(ratios)}


def _geo(values: pd.Series) -> float:
    """Geometric mean of positive seconds."""
    return float(np.exp(np.log(values.astype(float)).mean()))


def aggregate(base: dict[str, Any], rounds: pd.DataFrame) -> dict[str, Any]:
    """The case's results row from its first round's row ``base`` (parity, cold compile,
    memory, graph counters: measured once) and all its ``rounds.csv`` rows: the step time is
    the geometric mean of the rounds' medians with the t interval of their logarithms
    (``step_ci_*``; one round keeps the window's own), eager's likewise, throughputs from it,
    ``compile_warm_s`` the median over the rounds that had warm caches, the disturbance the
    worst round's, ``case_wall_s`` the sum, and the speedup from ``speedup_interval``."""
    own = rounds[rounds["step"] == "backend"]
    if own.empty:
        return base
    row = dict(base)
    if len(own) > 1:
        _, low, high = t_interval_of_logs(own["median_s"].to_list())
        row.update(step_median_s=_geo(own["median_s"]), step_ci_low_s=low, step_ci_high_s=high,
                   step_iqr_s=float(own["iqr_s"].median()), repeats=int(own["blocks"].sum()))
        twin = rounds[rounds["step"] == "eager"]  # none for eager itself: its own time
        row["eager_step_median_s"] = _geo(twin["median_s"]) if len(twin) else row[
            "step_median_s"]
    step = row["step_median_s"]
    for out, per_step in (("samples_per_s", "batch_size"), ("achieved_flops_per_s",
                          "flops_per_step"), ("achieved_bytes_per_s", "bytes_per_step")):
        if _known(row.get(per_step)):
            row[out] = row[per_step] / step
    warm = own["compile_warm_s"].dropna()
    row.update(compile_warm_s=float(warm.median()) if len(warm) else row.get("compile_warm_s"),
               case_wall_s=float(own["case_wall_s"].sum()),
               steady_wall_s=float(own["steady_wall_s"].sum()),
               other_cpu_cores=own["other_cpu_cores"].max(),
               steal_fraction=own["steal_fraction"].max(), disturbed=own["disturbed"].max(),
               rounds=len(own))
    row.update(speedup_interval(rounds, base))
    return row


def _known(value: Any) -> bool:
    """A number that is there (not None, not NaN)."""
    return value is not None and value == value


class RoundsLog:
    """``rounds.csv`` of a run folder: read on start (a resumed run keeps its rounds), one
    case-round appended at a time, the file rewritten atomically after each."""

    def __init__(self, folder, keep: bool) -> None:
        self.path = folder / "rounds.csv"
        self.frame = (pd.read_csv(self.path) if keep and self.path.exists()
                      else pd.DataFrame(columns=list(ROUND_COLUMNS)))

    def done(self) -> set[tuple]:
        """``(round, *KEY)`` of every case-round already measured."""
        return {(int(r["round"]), *(r[k] for k in KEY)) for r in self.frame.to_dict("records")}

    def add(self, records: list[dict[str, Any]]) -> None:
        """Append ``records`` (``round_records``) and rewrite the file."""
        new = pd.DataFrame(records, columns=list(ROUND_COLUMNS))
        self.frame = new if self.frame.empty else pd.concat([self.frame, new], ignore_index=True)
        atomic_write(self.path, lambda p: self.frame.to_csv(p, index=False))

    def of(self, case_key: tuple) -> pd.DataFrame:
        """The rows of one case (``KEY`` values in order)."""
        mask = np.ones(len(self.frame), dtype=bool)
        for k, v in zip(KEY, case_key, strict=True):
            mask &= (self.frame[k] == v).to_numpy()
        return self.frame[mask]
