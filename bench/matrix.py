"""Running the whole matrix: round by round (``bench.rounds``), each round in its own shuffled
order, every case-round's raw values appended to ``rounds.csv`` and the case's results row
rebuilt from its rounds after each one, so an interrupted run loses at most the case-round it
was in (``--resume`` measures it). A progress bar with an ETA from the cases' known cost."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from tqdm import tqdm

from bench.case import Case, RunConfig
from bench.results import ResultsWriter
from bench.rounds import RoundsLog, aggregate, round_order, round_records
from bench.runner import References, refusal_of, run_case
from bench.schema import KEY, SCENARIOS

Executor = Callable[[Case, RunConfig], tuple[dict[str, Any], list[str]]]


class _Interrupts:
    """SIGINT's handler while the matrix runs: it records the interrupt, then raises
    ``KeyboardInterrupt``. A ``KeyboardInterrupt`` swallowed on its way out (an exception
    ignored in a garbage-collector callback, as XLA's once did; a library's ``except
    BaseException``) still stops the run at the next ``check``."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raises ``KeyboardInterrupt`` if a SIGINT has come."""
        if self.seen:
            raise KeyboardInterrupt


@contextmanager
def _stop_on_interrupt() -> Iterator[_Interrupts]:
    """``_Interrupts`` installed as SIGINT's handler for the block (in the main thread, the
    only one that gets signals: elsewhere nothing is installed), the previous one restored
    after. A run started in the background with SIGINT ignored gets Ctrl-C back too."""
    flag = _Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, flag)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _key(case_or_row: Case | dict[str, Any]) -> tuple:
    if isinstance(case_or_row, Case):
        return tuple(getattr(case_or_row, k) for k in KEY)
    return tuple(case_or_row[k] for k in KEY)


def repeats(case: Case, row: dict[str, Any] | None = None) -> bool:
    """Whether ``case`` is measured in every round: a steady-state case that its declarations
    allow (and, once its first round is known, whose first round was ``ok``). A batch-size
    sequence is one pass whose first steps are the compiles: measured once."""
    if not SCENARIOS[case.scenario].steady or refusal_of(case) is not None:
        return False
    return row is None or row.get("status") == "ok"


LATER_ROUND_COST = 0.56  # a later round's cost over the first's (the quick run here: 377/669)


class Eta:
    """Seconds left, from the cost each case had in its first round (a case not measured yet
    costs the mean of those measured), a later round's scaled by how much cheaper later
    rounds have been so far (``LATER_ROUND_COST`` until one is seen): no jump when the
    expensive cases come, no overestimate from the cold first round."""

    def __init__(self) -> None:
        self.cost: dict[tuple, float] = {}
        self.later = [0.0, 0.0]  # seconds of later case-rounds, their cases' first-round cost

    def seen(self, case: Case, round_no: int, seconds: float) -> None:
        """Record a case-round's wall time (the first round's is the case's cost)."""
        if round_no == 1 or _key(case) not in self.cost:
            self.cost[_key(case)] = seconds
        else:
            self.later[0] += seconds
            self.later[1] += self.cost[_key(case)]

    def left(self, todo: list[tuple[int, Case]]) -> float:
        """Estimated seconds for the case-rounds in ``todo``."""
        mean = sum(self.cost.values()) / len(self.cost) if self.cost else 0.0
        ratio = self.later[0] / self.later[1] if self.later[1] > 0 else LATER_ROUND_COST
        return sum(self.cost.get(_key(c), mean) * (ratio if r > 1 else 1.0) for r, c in todo)


def _due(case: Case, round_no: int, rows: dict[tuple, dict], done: set[tuple]) -> bool:
    """Whether ``case`` is still to be measured in round ``round_no``: not done yet, and in
    round 1 without a row, in a later round when it ``repeats``."""
    if (round_no, *_key(case)) in done:
        return False
    if round_no == 1:
        return _key(case) not in rows
    return repeats(case, rows.get(_key(case)))


def _todo(cases: list[Case], rows: dict[tuple, dict], done: set[tuple], seed: int | None,
          round_no: int) -> list[Case]:
    """Round ``round_no``'s cases still due, in that round's order (shuffled with ``seed``;
    the given order when ``seed`` is None)."""
    todo = [c for c in cases if _due(c, round_no, rows, done)]
    return round_order(todo, seed, round_no) if seed is not None else todo


def _planned(cases: list[Case], rounds: int, rows: dict[tuple, dict],
             done: set[tuple]) -> list[tuple[int, Case]]:
    """Every case-round still to measure as far as is known now (order aside)."""
    return [(r, c) for r in range(1, rounds + 1) for c in cases if _due(c, r, rows, done)]


def _record(writer: ResultsWriter, log: RoundsLog, rows: dict[tuple, dict],
            row: dict[str, Any], round_no: int, position: int) -> list[str]:
    """Keep one case-round: its raw values in ``rounds.csv`` (an ok steady-state row), then
    the case's row rebuilt from its first round and every round so far. A later round that
    was not ``ok`` leaves the row as its ok rounds made it; returns a warning saying so."""
    key = _key(row)
    timed = row.get("step_median_s") is not None and row["step_median_s"] == row["step_median_s"]
    steady_ok = row["status"] == "ok" and SCENARIOS[row["scenario"]].steady and timed
    if steady_ok:
        try:
            log.add(round_records(row, round_no, position))
        except OSError as exc:  # a full disk: one line, the files keep their last state
            raise writer.failure(exc) from None
    base = row if round_no == 1 else rows[key]
    if round_no > 1 and not steady_ok:
        return [f"{row['backend']}: round {round_no} of {'/'.join(key)} was {row['status']}, "
                f"left out of its speedup: {row.get('error')}"]
    rows[key] = aggregate(base, log.of(key)) if steady_ok else base
    writer.put(rows[key])
    return []


def run_matrix(cases: list[Case], cfg: RunConfig, writer: ResultsWriter,
               meta: dict[str, Any], execute: Executor | None = None) -> list[dict[str, Any]]:
    """Run ``cases`` for ``cfg.profile.rounds`` rounds, round by round, each round shuffled
    with ``meta["round_seed"]`` (kept in the given order when it is None), skipping what
    ``writer.rows`` and ``rounds.csv`` already hold (a resumed run measures each case-round
    once). ``execute`` runs one case-round (default: in this process); warnings go to
    ``meta["warnings"]`` once each.

    Raises ``KeyboardInterrupt`` on Ctrl-C (SIGINT), even one that a case swallowed: what
    was written stays; the case-round it came during is not written."""
    refs = References()
    execute = execute or (lambda case, c: run_case(case, c, refs))
    log = RoundsLog(writer.dir, keep=bool(writer.rows))
    rows = {_key(r): r for r in writer.rows}
    done = log.done() | {(1, *k) for k in rows}
    eta, rounds, seed = Eta(), cfg.profile.rounds, meta.get("round_seed")
    fmt = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}{postfix}]"
    with _stop_on_interrupt() as interrupts, tqdm(total=0, unit="case", dynamic_ncols=True,
                                                  bar_format=fmt) as bar:
        bar.total = len(_planned(cases, rounds, rows, done))
        for r in range(1, rounds + 1):
            for position, case in enumerate(_todo(cases, rows, done, seed, r), 1):
                interrupts.check()
                bar.set_description(f"round {r}/{rounds} {case.label}")
                start = time.perf_counter()
                row, warns = execute(case, replace(cfg, round=r))
                interrupts.check()
                row["case_wall_s"] = time.perf_counter() - start
                eta.seen(case, r, row["case_wall_s"])
                warns += _record(writer, log, rows, row, r, position)
                done.add((r, *_key(case)))
                _warn(writer, meta, warns)
                left = _planned(cases, rounds, rows, done)
                bar.total = bar.n + 1 + len(left)
                bar.set_postfix_str(f"eta {_clock(eta.left(left))}", refresh=False)
                bar.update(1)
        interrupts.check()
    writer.reorder([_key(c) for c in cases])  # the matrix's order, not the rounds' shuffles
    return writer.rows


def _warn(writer: ResultsWriter, meta: dict[str, Any], warns: list[str]) -> None:
    """Add the warnings not yet in ``meta["warnings"]`` and rewrite ``meta.json``."""
    new = [w for w in warns if w not in meta["warnings"]]
    if new:
        meta["warnings"].extend(new)
        writer.write_meta(meta)


def _clock(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``."""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

