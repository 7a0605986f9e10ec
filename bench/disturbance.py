"""What else the machine did while a timing window ran: this process's CPU time against the
system's busy time and the hypervisor's steal time, so that a window measured beside another
program is flagged (and re-measured) instead of reported as a confident number.

Linux's ``/proc/stat`` (proc(5)): the first line's fields are cumulative times in clock ticks
(``SC_CLK_TCK``, usually 100 per second) of all CPUs: user, nice, system, idle, iowait, irq,
softirq, steal. Busy = user + nice + system + irq + softirq. This process's own CPU time
(every thread: the backend's step and its eager twin) is ``time.process_time()``; what is
left of the busy time is other processes'. Where ``/proc/stat`` does not exist (macOS), the
system fields read as ``None`` and no window is ever flagged.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

# A window is disturbed when other processes kept this much of a core busy on average, or the
# hypervisor stole this fraction of the window's CPU time. 0.2 core: the suite's own helper
# threads (tqdm's monitor, a compile worker's heartbeat) stay below 0.05 core here.
OTHER_CORES_LIMIT = 0.2
STEAL_FRACTION_LIMIT = 0.05
_BUSY_FIELDS = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq
_STEAL_FIELD = 7


@dataclass(frozen=True)
class CpuSample:
    """One reading: wall clock, this process's CPU time, and the system's busy and steal time
    over all CPUs (seconds; ``None`` where ``/proc/stat`` is missing)."""

    wall_s: float
    own_cpu_s: float
    busy_s: float | None
    steal_s: float | None


def read_proc_stat(text: str, ticks_per_s: float) -> tuple[float, float]:
    """``(busy_s, steal_s)`` of all CPUs from the text of ``/proc/stat``. Raises
    ``ValueError`` when its first line is not the aggregate ``cpu`` line."""
    first = text.splitlines()[0].split()
    if not first or first[0] != "cpu":
        raise ValueError(f"not a /proc/stat aggregate line: {' '.join(first[:3])!r}")
    ticks = [int(v) for v in first[1:]]
    steal = ticks[_STEAL_FIELD] if len(ticks) > _STEAL_FIELD else 0
    return sum(ticks[i] for i in _BUSY_FIELDS) / ticks_per_s, steal / ticks_per_s


def sample() -> CpuSample:
    """Read the clocks now."""
    wall, own = time.perf_counter(), time.process_time()
    try:
        with open("/proc/stat") as f:
            busy, steal = read_proc_stat(f.read(), os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError):
        busy = steal = None
    return CpuSample(wall, own, busy, steal)


@dataclass(frozen=True)
class Window:
    """What happened between two samples: wall seconds, this process's CPU seconds, other
    processes' CPU seconds (system busy minus own; ``None`` unknown) and stolen seconds."""

    wall_s: float
    own_cpu_s: float
    other_cpu_s: float | None
    steal_s: float | None

    @classmethod
    def between(cls, start: CpuSample, end: CpuSample) -> Window:
        """The window from ``start`` to ``end``."""
        wall, own = end.wall_s - start.wall_s, end.own_cpu_s - start.own_cpu_s
        if start.busy_s is None or end.busy_s is None:
            return cls(wall, own, None, None)
        other = max(end.busy_s - start.busy_s - own, 0.0)
        return cls(wall, own, other, max(end.steal_s - start.steal_s, 0.0))

    @property
    def other_cores(self) -> float | None:
        """Other processes' average use over the window, in cores (1.0: one core all along)."""
        if self.other_cpu_s is None or self.wall_s <= 0:
            return None
        return self.other_cpu_s / self.wall_s

    @property
    def steal_fraction(self) -> float | None:
        """Stolen time as a fraction of the window's CPU time (own + other + stolen)."""
        if self.steal_s is None:
            return None
        spent = self.own_cpu_s + (self.other_cpu_s or 0.0) + self.steal_s
        return self.steal_s / spent if spent > 0 else 0.0

    def disturbed(self) -> bool:
        """True when other processes or the hypervisor took a share of the machine that moves
        step times (``OTHER_CORES_LIMIT``, ``STEAL_FRACTION_LIMIT``)."""
        cores, steal = self.other_cores, self.steal_fraction
        return bool((cores is not None and cores > OTHER_CORES_LIMIT)
                    or (steal is not None and steal > STEAL_FRACTION_LIMIT))

    def describe(self) -> str:
        """One line for a row's notes, e.g. ``"other processes 0.93 cores, steal 1.2%"``."""
        cores, steal = self.other_cores, self.steal_fraction
        if cores is None:
            return "no /proc/stat: disturbance unknown"
        return f"other processes {cores:.2f} cores, steal {100 * (steal or 0.0):.1f}%"
