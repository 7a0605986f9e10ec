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
from bench.regress.ratios import Interval, eager_ratio, num, raw_time
from bench.results import case_name, read_results
from bench.schema import atomic_write

FORMATS = ("github-action-benchmark",)


def _entry(name: str, unit: str, iv: Interval, extra: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "unit": unit, "value": float(iv.value)}
    if math.isfinite(iv.low) and math.isfinite(iv.high):
        entry["range"] = f"{iv.low:.6g} .. {iv.high:.6g} (95% CI of the median)"
    entry["extra"] = extra
    return entry


def github_action_benchmark(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per ``ok`` row: ``<workload>/<scenario>/<backend>/<device>`` with the step's median in
    ``s``, and for a non-eager row with an interleaved eager time, ``... vs eager`` with the
    ratio ``step_median_s / eager_step_median_s`` (its range: the step's interval over eager's
    median, ``bench.regress.ratios.eager_ratio``, as compare gates it). Smaller is better."""
    out = []
    for row in df[df["status"] == "ok"].to_dict("records"):
        name = case_name(row)
        extra = f"run {row['run_id']}; {row['repeats']:.0f} repeats; batch {row['batch_size']:.0f}"
        out.append(_entry(name, "s", raw_time(row), extra))
        ratio = eager_ratio(row)
        if ratio is not None:
            eager = num(row, "eager_step_median_s")
            out.append(_entry(f"{name} vs eager", "ratio", ratio,
                              f"{extra}; eager median {eager:.6g} s, same process"))
    return out


def export(run_dir: Path, fmt: str, out: str | None) -> int:
    """Write ``run_dir``'s export to ``out`` (stdout when None), as strict JSON (never NaN),
    replacing ``out`` atomically. Raises ``UsageError`` before writing anything on an unknown
    format, an ``out`` that is a folder or cannot be written, and anything
    ``bench.results.read_results`` refuses (a folder that is not one, a missing or malformed
    results file)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    if out is not None and Path(out).is_dir():
        raise UsageError(f"--out {out} is a folder; give a file, e.g. {Path(out) / 'bench.json'}")
    entries = github_action_benchmark(read_results(run_dir))
    try:
        text = json.dumps(entries, indent=2, allow_nan=False) + "\n"
    except ValueError:  # read_results lets no such value through: a bug, said on one line
        raise UsageError(f"export of {run_dir}: a value is not a finite number") from None
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        atomic_write(out, lambda tmp: Path(tmp).write_text(text))
    except OSError as exc:
        raise UsageError(f"cannot write --out {out}: {exc.strerror or exc}") from None
    print(f"export: {out}", file=sys.stderr)
    return 0
