"""``python -m bench``: list what can run, run the benchmark matrix, reproduce the notes.

Bad input ends with one line on stderr naming the problem and the valid choices, exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
from pathlib import Path

import torch

from bench.backends import BACKENDS
from bench.device import DEVICES, available_devices, check_device
from bench.errors import UsageError
from bench.profiles import PROFILES
from models import SCENARIOS, WORKLOADS, DataError, WorkloadConfig

ISOLATIONS = ("process", "in-process")


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line."""

    def error(self, message: str):
        raise UsageError(message)


def parse_names(text: str, valid, kind: str) -> list[str]:
    """A comma-separated list of names (or ``all``) checked against ``valid``.

    Raises ``UsageError`` naming the first unknown name and the valid choices.
    """
    if text == "all":
        return list(valid)
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in valid:
            raise UsageError(f"unknown {kind} {n!r}; valid: {', '.join(valid)}, all")
    if not names:
        raise UsageError(f"no {kind} given; valid: {', '.join(valid)}, all")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)
    sub.add_parser("list", help="workloads, scenarios, backends and devices available here")
    r = sub.add_parser("run", help="run the benchmark matrix and write a run folder")
    r.add_argument("--device", default="cpu", help=f"one of {', '.join(DEVICES)}")
    r.add_argument("--workloads", default="all", help="comma-separated names, or all")
    r.add_argument("--backends", default="eager", help="comma-separated names, or all")
    r.add_argument("--scenarios", default="train,infer",
                   help=f"comma-separated names of {', '.join(SCENARIOS)}, or all")
    r.add_argument("--profile", default="full", help=f"one of {', '.join(PROFILES)}")
    r.add_argument("--out", default=None, help="run folder (default: runs/<run_id>)")
    r.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    r.add_argument("--data-root", default=None, help="a torchvision MNIST root (no download)")
    r.add_argument("--tf32", action="store_true",
                   help="allow TF32 matmuls/convolutions for every backend (default: off)")
    r.add_argument("--resume", action="store_true", help="skip the cases already in --out")
    r.add_argument("--shard", default=None, help="I/N: run only shard I of N of the matrix")
    r.add_argument("--timeout", type=float, default=None,
                   help="seconds per case before it is killed (default: the profile's)")
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
    c = sub.add_parser("compare", help="compare two runs; exit 1 on a regression")
    c.add_argument("baseline", help="the baseline run folder")
    c.add_argument("current", help="the run folder to check")
    c.add_argument("--threshold", type=float, default=0.10,
                   help="smallest change that counts, as a fraction (default 0.10: 10%%)")
    c.add_argument("--absolute", action="store_true",
                   help="gate raw step times too (only when both runs used the same machine)")
    e = sub.add_parser("export", help="write a run's ok rows for a benchmark dashboard")
    e.add_argument("run_dir", help="a run folder")
    e.add_argument("--format", default="github-action-benchmark",
                   help="github-action-benchmark (tool: customSmallerIsBetter)")
    e.add_argument("--out", default=None, help="the JSON file (default: stdout)")
    m = sub.add_parser("merge", help="join shard folders into one run")
    m.add_argument("dirs", nargs="+", help="run folders written by --shard")
    m.add_argument("--out", required=True, help="the merged run folder")
    g = sub.add_parser("reproduce", help="train like the notes; print loss (and accuracy)")
    g.add_argument("--workload", default="all", help="a workload name, or all")
    g.add_argument("--epochs", type=int, default=None, help="default: the notes' (CNN: 2)")
    g.add_argument("--data-root", default=None, help="a torchvision MNIST root (no download)")
    g.add_argument("--seed", type=int, default=0, help="seeds weights, data and shuffling")
    g.add_argument("--preview", default=None, metavar="FILE.png",
                   help="after training mnist_cnn, save 4 random test images with their "
                        "predicted and real labels")
    return p


def cmd_list() -> int:
    print("workloads:")
    for name, cls in WORKLOADS.items():
        print(f"  {name:<16} notes: {cls.section}")
    print(f"scenarios: {', '.join(SCENARIOS)}")
    print(f"backends:  {', '.join(BACKENDS)}")
    print(f"devices:   {', '.join(available_devices())}")
    print(f"profiles:  {', '.join(PROFILES)}")
    return 0


def _start_meta(out: Path | None, resume: bool, device: str, threads: int, profile: str) -> dict:
    """A new run's meta, or on ``--resume`` one that keeps the folder's run id and warnings,
    after checking that the folder was measured on the same device."""
    from bench.meta import collect_meta

    meta_path = out / "meta.json" if out else None
    old = json.loads(meta_path.read_text()) if resume and meta_path.exists() else None
    if old is not None and old.get("device") != device:
        raise UsageError(f"cannot resume {out}: it was measured on {old.get('device')}, "
                         f"not {device}")
    run_id = (old or {}).get("run_id") or (
        dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{device}")
    meta = collect_meta(run_id, device, threads, profile)
    if old is not None:
        meta["warnings"] = old.get("warnings", [])
        meta["resumed_from"] = old.get("utc_time")
        meta["invocations"] = old.get("invocations") or [_invocation(old)]
    return meta


def _invocation(meta: dict) -> dict:
    """What one ``run`` call of a (possibly resumed) run folder was: when, how, how isolated."""
    return {k: meta.get(k) for k in ("utc_time", "git_commit", "command", "isolation")}


def cmd_run(args: argparse.Namespace) -> int:
    from bench.case import ORDERS, RunConfig, case_matrix, parse_shard, shard
    from bench.isolate import run_in_process, run_isolated
    from bench.precision import apply_precision
    from bench.results import ResultsWriter, rows_frame
    from bench.roofline import measure_roofline
    from bench.runner import run_matrix
    from bench.table import summary_table
    from models.data import mnist_datasets

    device = check_device(args.device)
    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r}; valid: {', '.join(PROFILES)}")
    if args.order not in ORDERS:
        raise UsageError(f"unknown order {args.order!r}; valid: {', '.join(ORDERS)}")
    if args.isolation not in (None, *ISOLATIONS):
        raise UsageError(f"unknown isolation {args.isolation!r}; valid: {', '.join(ISOLATIONS)}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {args.threads}; "
                         f"omit it for all {torch.get_num_threads()} threads")
    if args.resume and not args.out:
        raise UsageError("--resume needs --out: the run folder to complete")
    cases = case_matrix(parse_names(args.workloads, WORKLOADS, "workload"),
                        parse_names(args.scenarios, SCENARIOS, "scenario"),
                        parse_names(args.backends, BACKENDS, "backend"), device,
                        args.order)
    cases = shard(cases, *parse_shard(args.shard))
    if args.data_root is not None:
        mnist_datasets(args.data_root)  # a missing or truncated file fails here, before timing
    threads = args.threads or torch.get_num_threads()
    # a run started in the background (``nohup ... &``) inherits SIGINT ignored: restore
    # Python's handler so that Ctrl-C or ``kill -INT`` still stops it with results kept
    signal.signal(signal.SIGINT, signal.default_int_handler)
    profile = PROFILES[args.profile]
    timeout_s = args.timeout or profile.case_timeout_s
    out = Path(args.out) if args.out else None
    apply_precision(args.tf32)
    meta = _start_meta(out, args.resume, device, threads, args.profile)
    meta["roofline"] = measure_roofline(device, threads)
    out = out or Path("runs") / meta["run_id"]
    writer = ResultsWriter(out, resume=args.resume)
    meta["shard"] = args.shard or "1/1"
    isolation = args.isolation or ("in-process" if profile.in_process else "process")
    in_process = isolation == "in-process"
    meta["isolation"] = "in-process" if in_process else "process per case"
    meta["invocations"] = [*meta.get("invocations", []), _invocation(meta)]
    writer.write_meta(meta)
    cfg = RunConfig(meta["run_id"], device, profile, threads,
                    WorkloadConfig(data_root=args.data_root), args.tf32)
    refs = out / ".references"
    refs.mkdir(exist_ok=True)
    if in_process:
        torch.set_num_threads(threads)

    def run_one(case, c):
        own = not in_process or case.scenario in getattr(BACKENDS[case.backend],
                                                         "own_process", ())
        return (run_isolated if own else run_in_process)(case, c, refs, timeout_s)

    try:
        rows = run_matrix(cases, cfg, writer, meta, execute=run_one)
    except KeyboardInterrupt:
        print(f"interrupted: {len(writer.rows)} cases kept in {out} (--resume to finish)",
              file=sys.stderr)
        return 130
    print(summary_table(rows_frame(rows)))
    print(f"results: {out}/results.csv, results.parquet, meta.json")
    if args.history:
        from bench.history import append_history

        print(f"history: {append_history(out, Path(args.history))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "compare":
            from bench.compare import compare_runs

            return compare_runs(args.baseline, args.current, args.threshold, args.absolute)
        if args.command == "export":
            from bench.export import export

            return export(Path(args.run_dir), args.format, args.out)
        if args.command == "merge":
            from bench.merge import merge

            return merge([Path(d) for d in args.dirs], Path(args.out))
        from bench.reproduce import reproduce

        return reproduce(args.workload, args.epochs, args.data_root, args.seed, args.preview)
    except (UsageError, DataError, KeyError) as exc:
        msg = exc.args[0] if exc.args else str(exc)
        print(f"python -m bench: error: {msg}", file=sys.stderr)
        return 2
