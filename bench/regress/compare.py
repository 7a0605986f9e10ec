"""Regression check between two runs (``python -m bench compare BASELINE CURRENT``): cases are
matched by ``KEY`` and each is labelled ``regression``, ``improvement`` or ``no change``.

What is gated (a gated regression makes the exit status 1):

- time, against eager measured in the same process (eager timed interleaved with the case),
  so a faster or slower machine does not read as a change. People read it as the speedup
  (``eager_step_median_s / step_median_s``, printed like 3.89x, as in the report); the gate
  judges its inverse, the case's time relative to eager's, so a threshold of 10% is a
  speedup that fell by more than 9.1% (1 - 1/1.1) or rose by more than 11.1% (1/0.9 - 1).
  The interval of the time relative to eager is the step's order-statistic interval scaled
  by eager's median (``bench.regress.ratios.eager_ratio``): an approximation that treats
  eager's median as exact, so the interval is somewhat too narrow; the threshold covers the
  rest. ``eager`` rows (and rows without an interleaved eager time) have only their raw time,
  which is reported but gated only with ``--absolute`` (which gates every row's raw time as
  well).
- status, graph breaks and recompiles, exactly, like PyTorch's expected-results files: any
  change is reported; ``ok`` -> anything else and more breaks or recompiles are regressions.
- presence: a case of BASELINE missing from CURRENT is a regression; a new case is reported;
  so is a gated time BASELINE has and CURRENT lacks.

Both files are read by the one validating reader (``bench.schema.read_results_csv``): a file
cut mid-line or holding a value that is not one ends with a one-line error, exit 2, never a
pass; so do two runs that share no device.

The time rule is ``judge_time``: pure, on literal numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import UsageError
from bench.regress.ratios import Interval, eager_ratio, num, raw_time
from bench.results import case_name, duplicate_case, read_results
from bench.schema import RunFolderError, read_meta

REGRESSION, IMPROVEMENT, NO_CHANGE = "regression", "improvement", "no change"
DEFAULT_THRESHOLD = 0.10  # a 10% change, and outside the noise, to count


@dataclass(frozen=True)
class TimeChange:
    """``current / baseline - 1`` and the range the two intervals allow for it."""

    label: str
    change: float
    low: float  # current.low / baseline.high - 1: the smallest change the intervals allow
    high: float  # current.high / baseline.low - 1: the largest


def judge_time(base: Interval, cur: Interval, threshold: float = DEFAULT_THRESHOLD
               ) -> TimeChange:
    """A regression when the median grew by more than ``threshold`` (a fraction) AND the two
    intervals do not overlap (``cur.low > base.high``, i.e. the change's range excludes 0);
    an improvement, symmetrically; else no change.

    >>> judge_time(Interval(1.0, 0.98, 1.02), Interval(1.15, 1.13, 1.17)).label
    'regression'
    """
    change = cur.value / base.value - 1
    low, high = cur.low / base.high - 1, cur.high / base.low - 1
    if change > threshold and cur.low > base.high:
        return TimeChange(REGRESSION, change, low, high)
    if change < -threshold and cur.high < base.low:
        return TimeChange(IMPROVEMENT, change, low, high)
    return TimeChange(NO_CHANGE, change, low, high)


def judge_status(base: str, cur: str) -> tuple[str, str]:
    """``(label, note)``: leaving ``ok`` is a regression, reaching it an improvement; any
    other change (``failed`` -> ``unsupported``) is only noted."""
    if base == cur:
        return NO_CHANGE, ""
    note = f"status {base} -> {cur}"
    if base == "ok":
        return REGRESSION, note
    return (IMPROVEMENT if cur == "ok" else NO_CHANGE), note


def judge_count(name: str, base: float, cur: float) -> tuple[str, str]:
    """``(label, note)`` for a count such as ``graph_breaks``: exact; more is a regression
    (from 0 it is "new"), fewer an improvement. Unknown on either side (NaN): no change."""
    if not (math.isfinite(base) and math.isfinite(cur)) or base == cur:
        return NO_CHANGE, ""
    counts = f"({base:.0f} -> {cur:.0f})"
    if cur > base:
        what = f"new {name.rstrip('s').replace('_', ' ')}" if base == 0 else f"more {name}"
        return REGRESSION, f"{what} {counts}"
    return IMPROVEMENT, f"fewer {name} {counts}"


def _usable(iv: Interval | None) -> bool:
    return iv is not None and all(math.isfinite(v) and v > 0 for v in (iv.value, iv.low, iv.high))


def _judge_times(base: dict[str, Any], cur: dict[str, Any], threshold: float, absolute: bool,
                 line: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """The gated time findings of two ``ok`` rows and the notes, filling ``line``'s numbers. A
    time BASELINE has and CURRENT lacks (no usable interval) is a regression, never a pass."""
    gated, notes = [], []
    b, c = eager_ratio(base), eager_ratio(cur)
    if _usable(b) and _usable(c):
        r = judge_time(b, c, threshold)
        line.update(ratio_base=b.value, ratio_cur=c.value, ratio=r)
        gated.append((r.label, _speedup_note(b, c, r) if r.label != NO_CHANGE else ""))
    elif _usable(b):
        gated.append((REGRESSION, "no speedup against eager in CURRENT"))
    bt, ct = raw_time(base), raw_time(cur)
    if _usable(bt) and _usable(ct):
        t = judge_time(bt, ct, threshold)
        line.update(time_base_s=bt.value, time_cur_s=ct.value, time=t)
        if absolute:
            gated.append((t.label, f"time {_pct(t)}" if t.label != NO_CHANGE else ""))
        elif t.label != NO_CHANGE:
            notes.append(f"raw time: {t.label}, not gated (--absolute gates it)")
    elif _usable(bt) and absolute:
        gated.append((REGRESSION, "no step time interval in CURRENT"))
    return gated, notes


def judge_case(base: dict[str, Any] | None, cur: dict[str, Any] | None, threshold: float,
               absolute: bool = False) -> dict[str, Any]:
    """One line of the comparison: the gated findings give ``verdict`` (regression wins over
    improvement); ``why`` names them, and the raw time's change when it is only reported."""
    if base is None or cur is None:
        why = "missing in CURRENT" if cur is None else "new case (not in BASELINE)"
        return {"verdict": REGRESSION if cur is None else NO_CHANGE, "why": why, "reason": why}
    line: dict[str, Any] = {"status": base["status"] if base["status"] == cur["status"]
                            else f"{base['status']} -> {cur['status']}"}
    gated = [judge_status(base["status"], cur["status"])]
    gated += [judge_count(c, num(base, c), num(cur, c)) for c in ("graph_breaks", "recompiles")]
    notes: list[str] = []
    if base["status"] == cur["status"] == "ok":
        times, notes = _judge_times(base, cur, threshold, absolute, line)
        gated += times
    labels = [label for label, _ in gated]
    verdict = next((v for v in (REGRESSION, IMPROVEMENT) if v in labels), NO_CHANGE)
    reasons = [n for label, n in gated if n and label == verdict]
    line.update(verdict=verdict, reason="; ".join(reasons),
                why="; ".join([n for _, n in gated if n] + notes))
    return line


def _pct(t: TimeChange) -> str:
    return f"{t.change:+.1%} [{t.low:+.1%}, {t.high:+.1%}]"


def fmt_speedup(speedup: float) -> str:
    """A speedup as the report prints it: ``"3.89x"``; below 0.1 with two significant
    digits (``"0.0047x"``)."""
    return f"{speedup:.2f}x" if abs(speedup) >= 0.1 or speedup == 0 else f"{speedup:.2g}x"


def as_speedup(ratio_change: TimeChange) -> TimeChange:
    """The change of the speedup (eager's time over the case's) that a change of the case's
    time relative to eager's is: ``1 / (1 + change) - 1``, its range reversed."""
    def inv(c: float) -> float:
        """The speedup's change for the time-to-eager change ``c``."""
        return 1 / (1 + c) - 1

    r = ratio_change
    return TimeChange(r.label, inv(r.change), inv(r.high), inv(r.low))


def _speedup_note(base: Interval, cur: Interval, r: TimeChange) -> str:
    """``speedup 2.00x -> 1.00x, -50.0% [range]`` from the two ratios to eager and their
    judged change."""
    return (f"speedup {fmt_speedup(1 / base.value)} -> {fmt_speedup(1 / cur.value)}, "
            f"{_pct(as_speedup(r))}")


def _by_case(df: pd.DataFrame, folder: Path) -> dict[str, dict[str, Any]]:
    dup = duplicate_case(df)
    if dup is not None:
        raise UsageError(f"results file {folder}/results.csv has the case {dup} twice")
    return {case_name(r): r for r in df.to_dict("records")}


def compare_frames(base: pd.DataFrame, cur: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD,
                   absolute: bool = False, names: tuple[str, str] = ("BASELINE", "CURRENT")
                   ) -> pd.DataFrame:
    """One line per case of either run (BASELINE's order, then CURRENT's new cases)."""
    b, c = _by_case(base, Path(names[0])), _by_case(cur, Path(names[1]))
    cases = list(b) + [k for k in c if k not in b]
    lines = [{"case": k, **judge_case(b.get(k), c.get(k), threshold, absolute)} for k in cases]
    return pd.DataFrame(lines)


def _fmt(line: pd.Series, kind: str) -> tuple[str, str]:
    """A line's ``(values, change)`` for ``kind`` ``ratio`` (shown as the speedup) or
    ``time`` (ms); empty when it was not judged."""
    change = line.get(kind)
    if not isinstance(change, TimeChange):
        return "", ""
    if kind == "ratio":
        return (f"{fmt_speedup(1 / line['ratio_base'])} -> {fmt_speedup(1 / line['ratio_cur'])}",
                _pct(as_speedup(change)))
    return f"{line['time_base_s'] * 1e3:.3g} -> {line['time_cur_s'] * 1e3:.3g}", _pct(change)


def format_table(lines: pd.DataFrame) -> str:
    """The comparison in people's units: the speedup against eager (eager's time over the
    case's, as the report prints it), time in ms, changes in %."""
    out = pd.DataFrame({"case": lines["case"], "status": lines.get("status", "")})
    for kind, head in [("ratio", "speedup"), ("time", "time ms")]:
        if kind not in lines:
            lines[kind] = None
        pairs = [_fmt(line, kind) for _, line in lines.iterrows()]
        out[head] = [p[0] for p in pairs]
        out[f"{head.split()[0]} change [95% range]"] = [p[1] for p in pairs]
    out["verdict"], out["why"] = lines["verdict"], lines["why"]
    out = out.fillna("")
    left = {c: f"{{:<{out[c].str.len().max()}}}".format for c in ("case", "why")}
    return out.to_string(index=False, formatters=left, justify="left")


def _threshold_text(threshold: float) -> str:
    """The threshold as the speedup reads it: the gate's change of the case's time relative
    to eager's, ``threshold``, is a speedup falling by ``1 - 1/(1 + t)`` or rising by
    ``1/(1 - t) - 1``."""
    rise = (f"or rises by more than {1 / (1 - threshold) - 1:.1%}" if threshold < 1
            else "(no rise is that large)")
    return (f"threshold {threshold:.0%}: a speedup that falls by more than "
            f"{1 - 1 / (1 + threshold):.1%} {rise}")


def _meta_note(base_dir: Path, cur_dir: Path) -> str:
    """Which of threads, host CPU, torch version and profile differ between the runs' meta."""
    try:
        metas = [read_meta(d) for d in (base_dir, cur_dir)]
    except RunFolderError:
        return ""
    if any(m is None for m in metas):
        return ""
    diff = [f"{k} {metas[0].get(k)!r} vs {metas[1].get(k)!r}"
            for k in ("host_cpu", "threads", "torch", "profile")
            if metas[0].get(k) != metas[1].get(k)]
    return "note: runs differ in " + "; ".join(diff) if diff else ""


def _same_device(base: pd.DataFrame, cur: pd.DataFrame, base_dir: Path, cur_dir: Path) -> None:
    """Raises ``UsageError`` when the two runs share no device (a CPU run against a GPU one),
    rather than reporting every case "missing in CURRENT"."""
    devices = [sorted(set(df["device"])) for df in (base, cur)]
    if all(devices) and not set(devices[0]) & set(devices[1]):
        raise UsageError(f"cannot compare runs on different devices: {base_dir} ran on "
                         f"{', '.join(devices[0])}, {cur_dir} on {', '.join(devices[1])}; "
                         "compare runs of one device")


def compare_runs(base_dir: str | Path, cur_dir: str | Path,
                 threshold: float = DEFAULT_THRESHOLD, absolute: bool = False) -> int:
    """Print the comparison of two run folders; 1 on a gated regression, else 0. Raises
    ``UsageError`` (before printing anything) for a negative threshold, a folder that is not
    one, a missing or malformed results file (``bench.results.read_results`` checks every
    value) and runs that share no device."""
    if not threshold >= 0:
        raise UsageError(f"bad --threshold {threshold}: a fraction >= 0, e.g. 0.10 for 10%")
    base_dir, cur_dir = Path(base_dir), Path(cur_dir)
    base, cur = read_results(base_dir), read_results(cur_dir)
    _same_device(base, cur, base_dir, cur_dir)
    lines = compare_frames(base, cur, threshold, absolute, (str(base_dir), str(cur_dir)))
    gate = "speedup against eager" + (" and raw time" if absolute else "")
    print(f"compare {base_dir} -> {cur_dir} (gated: {gate}, status, graph breaks, recompiles; "
          f"{_threshold_text(threshold)}, and non-overlapping 95% intervals)")
    note = _meta_note(base_dir, cur_dir)
    if note:
        print(note)
    print(format_table(lines))
    counts = lines["verdict"].value_counts()
    print(", ".join(f"{counts.get(v, 0)} {v}" for v in (REGRESSION, IMPROVEMENT, NO_CHANGE)))
    bad = lines[lines["verdict"] == REGRESSION]
    for _, line in bad.iterrows():
        print(f"REGRESSION {line['case']}: {line['reason']}")
    return 1 if len(bad) else 0
