"""``python -m bench export RUN_DIR``: a run's ``ok`` rows as the JSON list that the
github-action-benchmark action reads with ``tool: customSmallerIsBetter``
(https://github.com/benchmark-action/github-action-benchmark): objects with ``name`` (str),
``unit`` (str), ``value`` (number) and optional ``range`` and ``extra`` (str)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import UsageError
from bench.results import KEY, read_results

FORMATS = ("github-action-benchmark",)


def _entry(name: str, unit: str, value: float, low: float, high: float, extra: str
           ) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "unit": unit, "value": float(value)}
    if math.isfinite(low) and math.isfinite(high):
        entry["range"] = f"{low:.6g} .. {high:.6g} (95% CI of the median)"
    entry["extra"] = extra
    return entry


def github_action_benchmark(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per ``ok`` row: ``<workload>/<scenario>/<backend>/<device>`` with the step's median in
    ``s``, and for a non-eager row with an interleaved eager time, ``... vs eager`` with the
    ratio ``step_median_s / eager_step_median_s`` (its range: the step's interval over eager's
    median, as ``bench.compare`` computes it). Smaller is better for both."""
    out = []
    for row in df[df["status"] == "ok"].to_dict("records"):
        name = "/".join(str(row[k]) for k in KEY)
        lo, med, hi = (float(row[c]) for c in ("step_ci_low_s", "step_median_s",
                                                 "step_ci_high_s"))
        extra = f"run {row['run_id']}; {row['repeats']:.0f} repeats; batch {row['batch_size']:.0f}"
        out.append(_entry(name, "s", med, lo, hi, extra))
        eager = float(row["eager_step_median_s"])
        if row["backend"] != "eager" and math.isfinite(eager) and eager > 0:
            out.append(_entry(f"{name} vs eager", "ratio", med / eager, lo / eager, hi / eager,
                              f"{extra}; eager median {eager:.6g} s, same process"))
    return out


def export(run_dir: Path, fmt: str, out: str | None) -> int:
    """Write ``run_dir``'s export to ``out`` (stdout when None). Raises ``UsageError`` on an
    unknown format or a missing/broken results file."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    text = json.dumps(github_action_benchmark(read_results(run_dir)), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        Path(out).write_text(text)
        print(f"export: {out}", file=sys.stderr)
    return 0
