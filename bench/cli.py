"""``python -m bench``: list what can run, run the benchmark matrix, reproduce the notes.

Bad input ends with one line on stderr naming the problem and the valid choices, exit 2.
``run`` goes validate (``bench.validate``) -> plan -> execute: every check on the arguments
comes before anything is measured or written; the plan holds the cases, the settings and the
run's ``meta.json``, built once; executing it writes the run folder (``--out``: a folder that
holds a run is refused unless ``--resume`` or ``--overwrite``; one writer at a time).
"""

from __future__ import annotations

import argparse
import functools
import random
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from bench.backends import BACKENDS
from bench.case import Case, RunConfig
from bench.cli_args import RUN_DESCRIPTION, Parser, add_reproduce_arguments, add_run_arguments
from bench.crosscheck import cross_check, disagreement_lines
from bench.device import available_devices
from bench.errors import UsageError
from bench.inprocess import run_in_process
from bench.isolate import run_isolated
from bench.matrix import run_matrix
from bench.meta import collect_meta, run_settings
from bench.notes.reproduce import reproduce
from bench.precision import apply_precision
from bench.profiles import PROFILES
from bench.regress.compare import compare_runs
from bench.regress.export import export
from bench.regress.history import append_history
from bench.regress.merge import merge
from bench.results import ResultsWriter, rows_frame
from bench.roofline import measure_roofline
from bench.schema import SCENARIOS, RunFolderError
from bench.table import disturbance_warning, summary_table
from bench.validate import previous_meta, resuming, validate_run
from models import WORKLOADS, DataError, WorkloadConfig


# --- the parser: one function per subcommand ---------------------------------------------
def _add_list(sub) -> None:
    p = sub.add_parser("list", help="workloads, scenarios, backends and devices available here")
    p.set_defaults(func=lambda args: cmd_list())


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="run the benchmark matrix and write a run folder",
                       description=RUN_DESCRIPTION)
    r.set_defaults(func=cmd_run)
    add_run_arguments(r)


def _add_compare(sub) -> None:
    c = sub.add_parser("compare", help="compare two runs; exit 1 on a regression")
    c.set_defaults(func=lambda args: compare_runs(args.baseline, args.current, args.threshold,
                                                  args.absolute))
    c.add_argument("baseline", help="the baseline run folder")
    c.add_argument("current", help="the run folder to check")
    c.add_argument("--threshold", type=float, default=0.10,
                   help="smallest change that counts, as a fraction (default: 0.10, i.e. 10%%)")
    c.add_argument("--absolute", action="store_true",
                   help="gate raw step times too (only when both runs used the same machine)")


def _add_export(sub) -> None:
    e = sub.add_parser("export", help="write a run's ok rows for a benchmark dashboard")
    e.set_defaults(func=lambda args: export(Path(args.run_dir), args.format, args.out))
    e.add_argument("run_dir", help="a run folder")
    e.add_argument("--format", default="github-action-benchmark",
                   help="the dashboard's format, only github-action-benchmark for now "
                        "(tool: customSmallerIsBetter)")
    e.add_argument("--out", default=None, help="the JSON file (default: stdout)")


def _add_merge(sub) -> None:
    m = sub.add_parser("merge", help="join shard folders into one run")
    m.set_defaults(func=lambda args: merge([Path(d) for d in args.dirs], Path(args.out),
                                           args.overwrite))
    m.add_argument("dirs", nargs="+", help="run folders written by --shard")
    m.add_argument("--out", required=True,
                   help="the merged run folder; one that already holds a run is refused "
                        "unless --overwrite")
    m.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out")


def _add_reproduce(sub) -> None:
    g = sub.add_parser("reproduce", help="train like the notes; print loss (and accuracy)")
    g.set_defaults(func=lambda args: reproduce(args.workload, args.epochs, args.data_root,
                                               args.seed, args.preview, args.seeds))
    add_reproduce_arguments(g)


SUBCOMMANDS = (_add_list, _add_run, _add_compare, _add_export, _add_merge, _add_reproduce)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bench`` parser; each subcommand's ``func(args)`` returns the exit
    status. Its errors raise ``UsageError`` (one line) instead of exiting."""
    p = Parser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=Parser, required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return p


# --- list ----------------------------------------------------------------------------------
def cmd_list() -> int:
    """Print the registered workloads (with the notes' section), scenarios, backends, the
    devices present here and the profiles; exit status 0."""
    print("workloads:")
    for name, cls in WORKLOADS.items():
        print(f"  {name:<16} notes: {cls.section}")
    print(f"scenarios: {', '.join(SCENARIOS)}")
    print(f"backends:  {', '.join(BACKENDS)}")
    print(f"devices:   {', '.join(available_devices())}")
    print(f"profiles:  {', '.join(PROFILES)}")
    return 0


# --- run: validate -> plan -> execute --------------------------------------------------------
@dataclass(frozen=True)
class RunPlan:
    """What a ``run`` will do, decided before any case is measured: the ``cases`` in order,
    the settings they share, the run folder ``out``, its ``meta.json`` (complete), the
    per-case timeout in seconds, whether cases run in this process, and what becomes of a run
    already in ``out`` (``resume``d, or deleted first: ``overwrite``)."""

    cases: list[Case]
    cfg: RunConfig
    out: Path
    meta: dict[str, Any]
    timeout_s: float
    in_process: bool
    resume: bool = False
    history: str | None = None
    overwrite: bool = False
    cross_check: int = 0


def plan_run(args: argparse.Namespace, device: str, cases: list[Case]) -> RunPlan:
    """The plan of a validated ``run``: applies the precision policy, checks a resumed
    folder's settings, measures the roofline and builds the run's meta (keeping a resumed
    folder's run id, warnings, invocations). Raises ``UsageError`` as ``previous_meta``."""
    profile = replace(PROFILES[args.profile], rounds=args.rounds or PROFILES[args.profile].rounds)
    threads = args.threads or torch.get_num_threads()
    out = Path(args.out) if args.out else None
    apply_precision(args.tf32)  # before the meta records the policy in force
    now = run_settings(device, threads, args.profile, profile.rounds)
    previous = previous_meta(out, now, args.resume_anyway) if resuming(args) else None
    in_process = (args.isolation or ("in-process" if profile.in_process else "process")
                  ) == "in-process"
    meta = collect_meta(device, threads, args.profile, profile.rounds,
                        roofline=measure_roofline(device, threads),
                        shard=args.shard or "1/1",
                        isolation="in-process" if in_process else "process per case",
                        previous=previous)
    meta["round_seed"] = _round_seed(args, previous)
    cfg = RunConfig(meta["run_id"], profile, threads, WorkloadConfig(data_root=args.data_root),
                    args.tf32)
    timeout_s = profile.case_timeout_s if args.timeout is None else args.timeout
    return RunPlan(cases, cfg, out or Path("runs") / meta["run_id"], meta, timeout_s,
                   in_process, resuming(args), args.history, args.overwrite,
                   profile.cross_check if args.cross_check is None else args.cross_check)


def _round_seed(args: argparse.Namespace, previous: dict[str, Any] | None) -> int | None:
    """The seed of the rounds' shuffled orders (``bench.rounds.round_order``): a resumed run's
    own, else a fresh one; ``None`` (every round in the matrix's order) for ``--order
    workload`` or ``backend``."""
    if args.order != "shuffled":
        return None
    if previous is not None and previous.get("round_seed") is not None:
        return previous["round_seed"]
    return random.SystemRandom().randrange(2**31)


def run_one(case: Case, cfg: RunConfig, *, refs: Path, timeout_s: float,
            in_process: bool) -> tuple[dict[str, Any], list[str]]:
    """One case's row and warnings: in a process of its own unless the run is in-process and
    the backend does not ask for one for this scenario (``Backend.own_process``)."""
    own = not in_process or case.scenario in BACKENDS[case.backend].own_process
    return (run_isolated if own else run_in_process)(case, cfg, refs, timeout_s)


def _cross_check(plan: RunPlan, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The run's cross-check (``bench.crosscheck``) of ``--cross-check`` cells, if any."""
    n = plan.cross_check
    if n <= 0:
        return pd.DataFrame()
    print(f"cross-check: timing {n} sampled cells with torch.utils.benchmark", flush=True)
    return cross_check(rows, plan.cfg, n, plan.meta.get("round_seed"), plan.out)


def execute_run(plan: RunPlan) -> int:
    """Run the plan's cases, writing the run folder after each while holding its lock
    (``bench.results.ResultsWriter``); print the summary table. Exit status 0, or 130 on
    Ctrl-C (the cases done are kept; ``--resume`` finishes). Raises ``UsageError`` when the
    folder is refused (a run in it, another writer) or a write fails (disk full: the files
    keep the last complete state)."""
    print(f"run folder: {plan.out} ({len(plan.cases)} cases)", flush=True)
    start = time.perf_counter()
    with ResultsWriter(plan.out, resume=plan.resume, overwrite=plan.overwrite) as writer:
        writer.write_meta(plan.meta)
        refs = plan.out / ".references"
        refs.mkdir(exist_ok=True)
        if plan.in_process:
            torch.set_num_threads(plan.cfg.threads)
        execute = functools.partial(run_one, refs=refs, timeout_s=plan.timeout_s,
                                    in_process=plan.in_process)
        try:
            rows = run_matrix(plan.cases, plan.cfg, writer, plan.meta, execute=execute)
        except KeyboardInterrupt:
            print(f"interrupted: {len(writer.rows)} cases kept in {plan.out} "
                  "(--resume to finish)", file=sys.stderr)
            return 130
        checked = _cross_check(plan, rows)
        wall_s = time.perf_counter() - start  # this invocation's, kept beside its record
        plan.meta["invocations"][-1]["wall_s"] = plan.meta["wall_s"] = round(wall_s, 1)
        writer.write_meta(plan.meta)
    frame = rows_frame(rows)
    print(summary_table(frame))
    if (warning := disturbance_warning(frame)) is not None:
        print(warning, file=sys.stderr)
    for line in disagreement_lines(checked):
        print(line, file=sys.stderr)
    print(f"results: {plan.out}/results.csv, results.parquet, meta.json "
          f"(wall time {int(wall_s // 60)} min {wall_s % 60:.0f} s)")
    if plan.history:
        print(f"history: {append_history(plan.out, Path(plan.history))}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``python -m bench run``: validate, plan, execute; the exit status."""
    device, cases = validate_run(args)
    # a run started in the background (``nohup ... &``) inherits SIGINT ignored: restore
    # Python's handler so that Ctrl-C or ``kill -INT`` still stops it with results kept
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return execute_run(plan_run(args, device, cases))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the exit status. Bad input and any
    ``OSError`` no check foresaw end with one line on stderr and status 2."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (UsageError, DataError, KeyError, RunFolderError) as exc:
        msg = exc.args[0] if exc.args else str(exc)
    except OSError as exc:  # a read or write no check foresaw (disk full, permissions)
        msg = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    except KeyboardInterrupt:  # before the matrix started: nothing measured yet
        print("python -m bench: interrupted", file=sys.stderr)
        return 130
    print(f"python -m bench: error: {msg}", file=sys.stderr)
    return 2
