"""People's units: turning SI numbers (seconds, bytes, FLOP/s) into short strings for tables.
Storage stays SI; only these functions convert. A missing value (None/NaN) prints as ``-``."""

from __future__ import annotations

import math

MISSING = "-"
MIB = 2**20  # bytes


def _missing(value: float | None) -> bool:
    """True for None, NaN, pandas' NA and anything that is not a number."""
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def fmt_time(seconds: float | None) -> str:
    """``seconds`` as ``"812 us"``, ``"10.0 ms"`` or ``"2.50 s"`` (unit chosen per value,
    3 significant digits)."""
    if _missing(seconds):
        return MISSING
    s = float(f"{float(seconds):.3g}")  # round first: 999.96 us prints as 1.00 ms
    if math.isinf(s):
        return "inf"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(s) >= scale:
            return f"{_sig3(s / scale)} {unit}"
    return f"{_sig3(s / 1e-9)} ns" if s else "0 s"


def _sig3(x: float) -> str:
    """``x`` with 3 significant digits, no exponent for 0.001 <= |x| < 1e6."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}"


def fmt_speedup(ratio: float | None) -> str:
    """A speedup (eager time / backend time, dimensionless) as ``"2.00x"``; below 0.1 with two
    significant digits (``"0.0047x"``) so that a large slowdown does not print as 0.00x."""
    if _missing(ratio):
        return MISSING
    return f"{ratio:.2f}x" if abs(ratio) >= 0.1 or ratio == 0 else f"{ratio:.2g}x"


def fmt_speedup_ci(ratio: float | None, low: float | None, high: float | None) -> str:
    """A speedup with its interval: ``"1.23x (1.10-1.38)"``; the speedup alone where the
    interval is missing."""
    if _missing(ratio) or _missing(low) or _missing(high):
        return fmt_speedup(ratio)
    return f"{fmt_speedup(ratio)} ({fmt_speedup(low)[:-1]}-{fmt_speedup(high)[:-1]})"


def fmt_geomean(ratio: float | None, low: float | None, high: float | None, n: int) -> str:
    """A geometric-mean speedup with its interval and case count: ``"1.23x (1.10-1.38x,
    n=9)"``; ``"1.23x (n=9)"`` where the interval is missing."""
    if _missing(low) or _missing(high):
        return f"{fmt_speedup(ratio)} (n={n})"
    return f"{fmt_speedup(ratio)} ({fmt_speedup(low)[:-1]}-{fmt_speedup(high)}, n={n})"


def fmt_ratio(ratio: float | None) -> str:
    """A dimensionless ratio (e.g. memory vs eager) as ``"0.50"``."""
    return MISSING if _missing(ratio) else f"{ratio:.2f}"


def fmt_steps(steps: float | None) -> str:
    """Break-even steps: ``"never"`` for inf, else the first whole step at which the compiled
    backend has caught up (ceil), with thousands separators."""
    if _missing(steps):
        return MISSING
    if math.isinf(steps):
        return "never"
    return f"{math.ceil(steps - 1e-9):,}"


def fmt_rate(per_s: float | None, unit: str = "samples/s") -> str:
    """A rate per second with 3 significant digits and thousands separators."""
    return MISSING if _missing(per_s) else f"{_sig3(float(per_s))} {unit}"


def fmt_gflops(flops_per_s: float | None) -> str:
    """Achieved FLOP/s as ``"12.3 GFLOP/s"``."""
    return MISSING if _missing(flops_per_s) else f"{_sig3(flops_per_s / 1e9)} GFLOP/s"


def fmt_mib(n_bytes: float | None) -> str:
    """Bytes as ``"100.0 MiB"`` (2**20 bytes)."""
    return MISSING if _missing(n_bytes) else f"{n_bytes / MIB:,.1f} MiB"


def fmt_count(n: float | None) -> str:
    """A count (graph breaks, recompiles) as an integer."""
    return MISSING if _missing(n) else f"{int(n):,}"


def fmt_percent(fraction: float | None) -> str:
    """A dimensionless fraction as a whole percentage: 0.5 -> ``"50%"``."""
    return MISSING if _missing(fraction) else f"{fraction * 100:.0f}%"


def fmt_gbps(bytes_per_s: float | None) -> str:
    """Bytes per second as ``"12.3 GB/s"`` (GB = 1e9 bytes)."""
    return MISSING if _missing(bytes_per_s) else fmt_rate(bytes_per_s / 1e9, "GB/s")


def fmt_text(value: object) -> str:
    """A text cell (a note, a name): ``value`` as a string, ``-`` when missing (None, NaN)."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return MISSING if missing else str(value)


def counted(n: float, word: str) -> str:
    """3, "recompile" -> ``"3 recompiles"``; 1 -> ``"1 recompile"``."""
    return f"{fmt_count(n)} {word}{'' if n == 1 else 's'}"


def and_list(items: list[str]) -> str:
    """["a", "b", "c"] -> ``"a, b and c"``."""
    return " and ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))
