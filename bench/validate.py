"""``python -m bench run``'s checks, all made before anything is measured or written: every
name, number and path of its arguments, and the settings of a folder it resumes. Each bad
one is a ``UsageError`` (or ``DataError``) with a one-line message naming the valid choices.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import torch

from bench.backends import BACKENDS, refusal
from bench.case import ORDERS, Case, case_matrix, parse_names, parse_shard, shard
from bench.device import check_device
from bench.errors import UsageError
from bench.meta import resume_mismatch
from bench.profiles import PROFILES
from bench.runfolder import check_not_locked, check_writable, refuse_existing_run
from bench.schema import SCENARIOS, read_meta
from models import WORKLOADS
from models.data import mnist_datasets

ISOLATIONS = ("process", "in-process")
MAX_ROUNDS = 50  # more rounds than this is a typo, not a plan
MAX_TIMEOUT_S = 86_400.0  # --timeout's upper bound: one day for one case
# --workloads and --scenarios when not given (the parser's default is None, so that a list
# named on the command line can be told from the default)
DEFAULT_WORKLOADS, DEFAULT_SCENARIOS = "all", "train,infer"


def _check_choice(kind: str, value: str, valid) -> None:
    if value not in valid:
        raise UsageError(f"unknown {kind} {value!r}; valid: {', '.join(valid)}")


def resuming(args: argparse.Namespace) -> bool:
    """True for ``--resume`` or ``--resume-anyway`` (which implies it)."""
    return args.resume or args.resume_anyway


def _check_settings(args: argparse.Namespace) -> None:
    """The arguments of ``run`` that are checked on their own; raises ``UsageError``."""
    _check_choice("profile", args.profile, PROFILES)
    _check_choice("order", args.order, ORDERS)
    if args.isolation is not None:
        _check_choice("isolation", args.isolation, ISOLATIONS)
    if args.rounds is not None and not 1 <= args.rounds <= MAX_ROUNDS:
        raise UsageError(f"--rounds must be a whole number from 1 to {MAX_ROUNDS}, got "
                         f"{args.rounds}; omit it for the profile's "
                         f"({PROFILES[args.profile].rounds})")
    if args.cross_check is not None and args.cross_check < 0:
        raise UsageError(f"--cross-check must be 0 or more cells, got {args.cross_check}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {args.threads}; "
                         f"omit it for all {torch.get_num_threads()} threads")
    if args.timeout is not None and not 0 < args.timeout <= MAX_TIMEOUT_S:
        raise UsageError(f"--timeout must be over 0 and at most {MAX_TIMEOUT_S:g} seconds, "
                         f"got {args.timeout:g}; omit it for the profile's "
                         f"({PROFILES[args.profile].case_timeout_s:g} s)")
    if resuming(args) and args.overwrite:
        raise UsageError("--overwrite replaces the run in --out, --resume completes it: "
                         "give one of them")
    if resuming(args) and not args.out:
        raise UsageError("--resume needs --out: the run folder to complete")


def _check_paths(args: argparse.Namespace) -> None:
    """``--out`` and ``--history``: folders this process can write, and ``--out`` neither
    in use by another run nor holding a run unless ``--resume`` or ``--overwrite``. Raises
    ``UsageError``; writes nothing."""
    check_writable(Path(args.out or "runs"), "--out")
    if args.out:
        check_not_locked(Path(args.out))
        if not (resuming(args) or args.overwrite):
            refuse_existing_run(Path(args.out), "give --resume to complete it, or "
                                                "--overwrite to replace it")
    if args.history is not None:
        check_writable(Path(args.history), "--history")


def refused_pairs(workloads, scenarios, backends, device: str) -> dict[tuple[str, str], str]:
    """The ``(workload, scenario)`` pairs that every one of ``backends`` refuses on ``device`` by
    declaration (``bench.backends.refusal``: nothing is built), each with the first
    backend's reason."""
    refused = {}
    for w, s in itertools.product(workloads, scenarios):
        reasons = [refusal(BACKENDS[b], WORKLOADS[w], SCENARIOS[s], device) for b in backends]
        if all(reasons):
            refused[(w, s)] = reasons[0]
    return refused


def left_out_line(refused: dict[tuple[str, str], str]) -> str:
    """The one line that says which pairs a matrix left out and why (grouped by reason)."""
    by_reason: dict[str, list[str]] = {}
    for (w, s), why in refused.items():
        by_reason.setdefault(why, []).append(f"{w}/{s}")
    parts = "; ".join(f"{', '.join(pairs)} ({why})" for why, pairs in by_reason.items())
    w, s = next(iter(refused))
    return (f"left out, as every chosen backend refuses them: {parts}; to record them as "
            f"unsupported anyway, name both (e.g. --workloads {w} --scenarios {s})")


def run_matrix_of(args: argparse.Namespace, device: str) -> tuple[list[Case], dict]:
    """The cases of ``run``'s names (before sharding) and the pairs left out of them: unless
    both ``--workloads`` and ``--scenarios`` name their entries (not the default, not
    ``all``), a workload-scenario pair every chosen backend refuses (``refused_pairs``, such
    as ``tensor_ops/train``) is not in the matrix. Raises ``UsageError`` on a bad name, or
    when nothing is left."""
    workloads = parse_names(DEFAULT_WORKLOADS if args.workloads is None else args.workloads,
                            WORKLOADS, "workload")
    scenarios = parse_names(DEFAULT_SCENARIOS if args.scenarios is None else args.scenarios,
                            SCENARIOS, "scenario")
    backends = parse_names(args.backends, BACKENDS, "backend")
    named = all(a is not None and a.strip() != "all" for a in (args.workloads, args.scenarios))
    refused = {} if named else refused_pairs(workloads, scenarios, backends, device)
    cases = [c for c in case_matrix(workloads, scenarios, backends, device, args.order)
             if (c.workload, c.scenario) not in refused]
    if not cases:
        raise UsageError(f"nothing to run: {left_out_line(refused)}")
    return cases, refused


def validate_run(args: argparse.Namespace) -> tuple[str, list[Case]]:
    """The device and the cases of this shard, after checking every argument of ``run`` (the
    MNIST files of ``--data-root``, the ``--out`` and ``--history`` folders); prints the one
    line that says which pairs the matrix left out (``run_matrix_of``), if any. Raises
    ``UsageError`` (or ``DataError``) on the first bad one; nothing is measured or written
    before."""
    device = check_device(args.device)
    _check_settings(args)
    cases, refused = run_matrix_of(args, device)
    cases = shard(cases, *parse_shard(args.shard))
    if args.data_root is not None:
        mnist_datasets(args.data_root)  # a missing or truncated file fails here, before timing
    _check_paths(args)
    if refused:
        print(left_out_line(refused), flush=True)
    return device, cases


def previous_meta(out: Path, now: dict[str, Any], anyway: bool) -> dict[str, Any] | None:
    """The ``meta.json`` of the folder a ``--resume`` completes (None when it has none).
    Raises ``UsageError`` when it was measured on another device, or (unless ``anyway``)
    with other settings than ``now`` (``bench.meta.resume_mismatch``)."""
    old = read_meta(out)
    if old is not None and old.get("device") != now["device"]:
        raise UsageError(f"cannot resume {out}: it was measured on {old.get('device')}, "
                         f"not {now['device']}")
    mismatch = resume_mismatch(old, now) if old is not None else None
    if mismatch and not anyway:
        raise UsageError(f"cannot resume {out}: {mismatch}; give the same settings, or "
                         "--resume-anyway to mix them")
    if mismatch:
        print(f"python -m bench: note: resuming {out} although {mismatch}", file=sys.stderr)
    return old
