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
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.backends import BACKENDS
from bench.case import NAMES_HELP, Case, RunConfig
from bench.device import DEVICES, available_devices
from bench.errors import UsageError
from bench.isolate import run_in_process, run_isolated
from bench.meta import MUST_AGREE, collect_meta, run_settings
from bench.notes.reproduce import reproduce
from bench.precision import apply_precision
from bench.profiles import PROFILES
from bench.regress.compare import compare_runs
from bench.regress.export import export
from bench.regress.history import append_history
from bench.regress.merge import merge
from bench.results import ResultsWriter, rows_frame
from bench.roofline import measure_roofline
from bench.runner import run_matrix
from bench.schema import SCENARIOS, RunFolderError
from bench.table import disturbance_warning, summary_table
from bench.validate import MAX_TIMEOUT_S, previous_meta, resuming, validate_run
from models import WORKLOADS, DataError, WorkloadConfig


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line."""

    def error(self, message: str):
        raise UsageError(message)


# --- the parser: one function per subcommand ---------------------------------------------
def _add_list(sub) -> None:
    p = sub.add_parser("list", help="workloads, scenarios, backends and devices available here")
    p.set_defaults(func=lambda args: cmd_list())


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="run the benchmark matrix and write a run folder")
    r.set_defaults(func=cmd_run)
    r.add_argument("--device", default="cpu", help=f"one of {', '.join(DEVICES)}")
    r.add_argument("--workloads", default="all", help=f"comma-separated names, {NAMES_HELP}")
    r.add_argument("--backends", default="eager", help=f"comma-separated names, {NAMES_HELP}")
    r.add_argument("--scenarios", default="train,infer",
                   help=f"comma-separated names of {', '.join(SCENARIOS)}, {NAMES_HELP}")
    r.add_argument("--profile", default="full", help=f"one of {', '.join(PROFILES)}")
    r.add_argument("--out", default=None,
                   help="run folder (default: runs/<run_id>); one that already holds a run "
                        "is refused unless --resume or --overwrite")
    r.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out: its results, meta.json and "
                        "references are deleted first")
    r.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    r.add_argument("--data-root", default=None, help="a torchvision MNIST root (no download)")
    r.add_argument("--tf32", action="store_true",
                   help="allow TF32 matmuls/convolutions for every backend (default: off)")
    r.add_argument("--resume", action="store_true",
                   help="skip the cases already in --out; refused when --out was measured "
                        f"with other {', '.join(MUST_AGREE)}")
    r.add_argument("--resume-anyway", action="store_true",
                   help="--resume even with other settings: meta.json then holds this run's, "
                        "and each of its invocations records the settings it ran with")
    r.add_argument("--shard", default=None, help="I/N: run only shard I of N of the matrix")
    r.add_argument("--timeout", type=float, default=None,
                   help=f"seconds per case before it is killed, over 0 and at most "
                        f"{MAX_TIMEOUT_S:g} (default: the profile's)")
    r.add_argument("--order", default="workload",
                   help="case order: workload (a workload's backends together) or backend "
                        "(each backend over all workloads, in --backends order)")
    r.add_argument("--isolation", default=None,
                   help="process (each case in a fresh process: cold caches, own memory "
                        "peak, hard timeout) or in-process (fresh compile caches per case, "
                        "no process start); default: the profile's (quick: in-process, "
                        "full: process)")
    r.add_argument("--history", default=None, metavar="DIR",
                   help="after the run, copy results.csv and meta.json to "
                        "DIR/<utc date>_<git commit>/")


def _add_compare(sub) -> None:
    c = sub.add_parser("compare", help="compare two runs; exit 1 on a regression")
    c.set_defaults(func=lambda args: compare_runs(args.baseline, args.current, args.threshold,
                                                  args.absolute))
    c.add_argument("baseline", help="the baseline run folder")
    c.add_argument("current", help="the run folder to check")
    c.add_argument("--threshold", type=float, default=0.10,
                   help="smallest change that counts, as a fraction (default 0.10: 10%%)")
    c.add_argument("--absolute", action="store_true",
                   help="gate raw step times too (only when both runs used the same machine)")


def _add_export(sub) -> None:
    e = sub.add_parser("export", help="write a run's ok rows for a benchmark dashboard")
    e.set_defaults(func=lambda args: export(Path(args.run_dir), args.format, args.out))
    e.add_argument("run_dir", help="a run folder")
    e.add_argument("--format", default="github-action-benchmark",
                   help="github-action-benchmark (tool: customSmallerIsBetter)")
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
                                               args.seed, args.preview))
    g.add_argument("--workload", default="all", help="a workload name, or all")
    g.add_argument("--epochs", type=int, default=None, help="default: the notes' (CNN: 2)")
    g.add_argument("--data-root", default=None, help="a torchvision MNIST root (no download)")
    g.add_argument("--seed", type=int, default=0, help="seeds weights, data and shuffling")
    g.add_argument("--preview", default=None, metavar="FILE.png",
                   help="after training mnist_cnn, save 4 random test images with their "
                        "predicted and real labels")


SUBCOMMANDS = (_add_list, _add_run, _add_compare, _add_export, _add_merge, _add_reproduce)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bench`` parser; each subcommand's ``func(args)`` returns the exit
    status. Its errors raise ``UsageError`` (one line) instead of exiting."""
    p = _Parser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)
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


def plan_run(args: argparse.Namespace, device: str, cases: list[Case]) -> RunPlan:
    """The plan of a validated ``run``: applies the precision policy, checks a resumed
    folder's settings, measures the roofline and builds the run's meta (keeping a resumed
    folder's run id, warnings, invocations). Raises ``UsageError`` as ``previous_meta``."""
    profile = PROFILES[args.profile]
    threads = args.threads or torch.get_num_threads()
    out = Path(args.out) if args.out else None
    apply_precision(args.tf32)  # before the meta records the policy in force
    now = run_settings(device, threads, args.profile)
    previous = previous_meta(out, now, args.resume_anyway) if resuming(args) else None
    in_process = (args.isolation or ("in-process" if profile.in_process else "process")
                  ) == "in-process"
    meta = collect_meta(device, threads, args.profile,
                        roofline=measure_roofline(device, threads),
                        shard=args.shard or "1/1",
                        isolation="in-process" if in_process else "process per case",
                        previous=previous)
    cfg = RunConfig(meta["run_id"], profile, threads, WorkloadConfig(data_root=args.data_root),
                    args.tf32)
    timeout_s = profile.case_timeout_s if args.timeout is None else args.timeout
    return RunPlan(cases, cfg, out or Path("runs") / meta["run_id"], meta, timeout_s,
                   in_process, resuming(args), args.history, args.overwrite)


def run_one(case: Case, cfg: RunConfig, *, refs: Path, timeout_s: float,
            in_process: bool) -> tuple[dict[str, Any], list[str]]:
    """One case's row and warnings: in a process of its own unless the run is in-process and
    the backend does not ask for one for this scenario (``Backend.own_process``)."""
    own = not in_process or case.scenario in BACKENDS[case.backend].own_process
    return (run_isolated if own else run_in_process)(case, cfg, refs, timeout_s)


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
        wall_s = time.perf_counter() - start  # this invocation's, kept beside its record
        plan.meta["invocations"][-1]["wall_s"] = plan.meta["wall_s"] = round(wall_s, 1)
        writer.write_meta(plan.meta)
    frame = rows_frame(rows)
    print(summary_table(frame))
    if (warning := disturbance_warning(frame)) is not None:
        print(warning, file=sys.stderr)
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
