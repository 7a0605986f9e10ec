"""The CI workflow's steps, one subcommand each.

The workflow (.github/workflows/bench.yml), `.ci/run-gate` and tests/test_workflow.py run
this same code:

    python scripts/ci.py plan --event pull_request   # suite=pr, shards=[1, 2] for $GITHUB_OUTPUT
    python scripts/ci.py shard 1/2 --suite pr --out shard-1   # one shard: python -m bench run
    python scripts/ci.py merge shards/* --out merged           # python -m bench merge, all shards?
    python scripts/ci.py report merged --out report            # python -m reports build
    python scripts/ci.py compare merged --suite pr --log compare.txt   # against the baseline
    python scripts/ci.py summary report/report.md --compare compare.txt --out "$GITHUB_STEP_SUMMARY"
    python scripts/ci.py export merged --out bench.json         # for github-action-benchmark
    python scripts/ci.py baseline RUN                           # refresh baselines/cpu-quick/

The workflow calls them as `nox -s ci -- SUBCOMMAND ...` (the project's one shared environment);
every `bench`/`reports` command runs under the interpreter that runs this script. Standard
library only, so `plan` runs before anything is installed.

The baseline is the committed `baselines/cpu-quick/` (the `pr` suite measured on purpose with
`.ci/run-gate --refresh`), restricted to the cases the suite asks for, gated at 15% (set from
the noise of unchanged reruns: see .ci/run-gate); a suspected regression is re-measured once and
fails the gate only when seen again. Nightly runs are also kept, run after
run, by github-action-benchmark on the gh-pages branch (the default branch's history).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "baselines" / "cpu-quick"
THRESHOLD = 0.15  # see .ci/run-gate for the noise it absorbs
REGRESSED = re.compile(r"^REGRESSION (\S+):", re.MULTILINE)  # compare's closing lines
SUMMARY_LIMIT = 1_000_000  # bytes: GitHub keeps at most 1 MiB of a step's summary
# Every suite: one thread and the quick profile, as the committed baseline was measured, so the
# ratios to eager are comparable with it (and between runner types).
COMMON = ("--device", "cpu", "--profile", "quick", "--threads", "1")


@dataclass(frozen=True)
class Suite:
    """A named selection of the matrix and the number of shards (jobs) it is split into."""

    shards: int
    workloads: str
    backends: str
    scenarios: str

    def run_args(self) -> list[str]:
        """The `python -m bench run` arguments that select this suite."""
        return [*COMMON, "--workloads", self.workloads, "--backends", self.backends,
                "--scenarios", self.scenarios]


SUITES = {
    # pull requests: exactly the cases of baselines/cpu-quick (the gated subset)
    "pr": Suite(2, "manual_mlp,sequential_adam", "eager,compile", "train,infer"),
    # the nightly schedule: the full matrix
    "nightly": Suite(4, "all", "all", "all"),
    # the test of the workflow's steps (tests/test_workflow.py): one case per shard
    "tiny": Suite(2, "manual_mlp", "eager,compile", "infer"),
}
EVENT_SUITES = {"pull_request": "pr", "schedule": "nightly", "workflow_dispatch": "nightly"}


def _run(*args: str) -> int:
    """Run ``python ARGS`` under this interpreter, echoing the command; its exit status."""
    cmd = [sys.executable, *args]
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=False).returncode


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the suite and the shard list as ``key=value`` lines for ``$GITHUB_OUTPUT``."""
    name = args.suite or EVENT_SUITES.get(args.event, "pr")
    suite = SUITES[name]
    print(f"suite={name}")
    print(f"count={suite.shards}")
    print(f"shards={json.dumps(list(range(1, suite.shards + 1)))}")
    return 0


def cmd_shard(args: argparse.Namespace) -> int:
    """Run shard I/N of the suite into ``--out``."""
    return _run("-m", "bench", "run", *SUITES[args.suite].run_args(), "--shard", args.shard,
                "--out", args.out)


def missing_shards(folders: list[Path]) -> str:
    """'' when the folders' ``meta.json`` hold shards 1..N of N exactly once, else what is
    wrong (a shard job that died leaves a hole that merging alone would not notice)."""
    shards = []
    for folder in folders:
        try:
            shards.append(json.loads((folder / "meta.json").read_text())["shard"])
        except (OSError, ValueError, KeyError) as err:
            return f"{folder}: no shard in meta.json ({err})"
    counts = {s.split("/")[-1] for s in shards}
    if len(counts) != 1:
        return f"shards of different counts: {', '.join(sorted(shards))}"
    want = [f"{i}/{n}" for n in map(int, counts) for i in range(1, n + 1)]
    if sorted(shards) != sorted(want):
        return f"expected shards {', '.join(want)}; got {', '.join(sorted(shards))}"
    return ""


def cmd_merge(args: argparse.Namespace) -> int:
    """Check that every shard is there, then ``python -m bench merge``."""
    problem = missing_shards([Path(d) for d in args.dirs])
    if problem:
        print(f"ci merge: {problem}", file=sys.stderr)
        return 2
    return _run("-m", "bench", "merge", *args.dirs, "--out", args.out)


def cmd_report(args: argparse.Namespace) -> int:
    """``python -m reports build RUN --out DIR``."""
    return _run("-m", "reports", "build", args.run, "--out", args.out)


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def restrict(src: Path, dest: Path, suite: Suite) -> int:
    """Copy the run folder ``src`` to ``dest`` keeping only the rows of ``suite``'s selection
    (``all`` keeps every name); the number of rows kept. A baseline case the suite did not ask
    for is not missing from the suite's run; one it asked for still is."""
    wanted = {"workload": suite.workloads, "backend": suite.backends,
              "scenario": suite.scenarios}
    with open(src / "results.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if all(names == "all" or r[col] in names.split(",")
                                         for col, names in wanted.items())]
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "meta.json", dest / "meta.json")
    with open(dest / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def _compare(base: Path, run: str, threshold: float, shown: str) -> tuple[int, str, set[str]]:
    """``python -m bench compare BASE RUN``: its exit status, output and regressed cases."""
    cmd = [sys.executable, "-m", "bench", "compare", str(base), run, "--threshold",
           str(threshold)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    out = done.stdout.replace(str(base), shown) + done.stderr
    return done.returncode, out, set(REGRESSED.findall(done.stdout))


def confirm(regressed: set[str], suite: Suite, base: Path, threshold: float, shown: str,
            tmp: Path) -> tuple[set[str], str]:
    """Re-measure the suite once (a fresh run, as TorchBench re-runs a suspected regression)
    and compare again: the regressions seen both times, and the second comparison's output."""
    again = tmp / "again"
    _run("-m", "bench", "run", *suite.run_args(), "--out", str(again))
    _, out, second = _compare(base, str(again), threshold, shown)
    return regressed & second, out


def cmd_compare(args: argparse.Namespace) -> int:
    """``python -m bench compare`` against the baseline restricted to the suite; a case
    that looks regressed is measured again (``confirm``) and the gate fails only on a
    regression seen twice. The output is also written to ``--log``. Exit 1 on a confirmed
    regression."""
    shown, suite = _shown(Path(args.baseline)), SUITES[args.suite]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        kept = restrict(Path(args.baseline), base, suite)
        print(f"baseline: the {kept} cases of {shown} in suite {args.suite}", flush=True)
        status, out, regressed = _compare(base, args.run, args.threshold, shown)
        print(out, end="", flush=True)
        if status == 1 and regressed and not args.no_confirm:
            confirmed, again = confirm(regressed, suite, base, args.threshold, shown, Path(tmp))
            out += f"\nre-measured: {again}confirmed: {', '.join(sorted(confirmed)) or 'none'}\n"
            print(f"re-measured:\n{again}confirmed: {', '.join(sorted(confirmed)) or 'none'}")
            status = 1 if confirmed else 0
    if args.log:
        Path(args.log).write_text(out + f"exit status {status}\n")
    return status


def summary_text(report_md: str, compare_log: str | None) -> str:
    """The job summary: the report's title and first section (its verdict; images dropped, as
    their paths do not resolve there), then the comparison with the baseline, verbatim."""
    lines, sections = [], 0
    for line in report_md.splitlines():
        sections += line.startswith("## ")
        if sections > 1:
            break
        if not line.lstrip().startswith("!["):
            lines.append(line)
    text = "\n".join(lines).rstrip() + "\n"
    if compare_log is not None:
        text += f"\n## Comparison with the baseline\n\n```text\n{compare_log.rstrip()}\n```\n"
    text += "\nThe whole report (report.html, plots, tables) is the `report` artifact.\n"
    if len(text.encode()) > SUMMARY_LIMIT:
        text = text.encode()[:SUMMARY_LIMIT - 100].decode(errors="ignore") + "\n\n(cut)\n"
    return text


def cmd_summary(args: argparse.Namespace) -> int:
    """Append the summary to ``--out`` (``$GITHUB_STEP_SUMMARY``), or print it."""
    log = Path(args.compare) if args.compare else None
    compare_log = log.read_text() if log and log.exists() else None
    report = Path(args.report_md)
    text = summary_text(report.read_text() if report.exists() else
                        f"# No report\n\n{report} was not built: see the job's log.\n",
                        compare_log)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text)
    else:
        print(text, end="")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``python -m bench export RUN --out FILE`` (github-action-benchmark's JSON)."""
    return _run("-m", "bench", "export", args.run, "--out", args.out)


def cmd_baseline(args: argparse.Namespace) -> int:
    """Make the run folder ``RUN`` (a `pr` suite run) the committed baseline; review, commit."""
    run, dest = Path(args.run), Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "meta.json"):
        shutil.copy(run / name, dest / name)
    print(f"ci baseline: {run} -> {dest}/; review the diff and commit it")
    return 0


SUITE = {"choices": sorted(SUITES), "required": True}
OUT = {"required": True}
ARGS: dict[str, tuple[str, list[tuple[str, dict]]]] = {
    "plan": ("the suite and shards for an event", [
        ("--event", {"default": "pull_request"}),
        ("--suite", {"default": "", "help": "overrides the event's suite when given"})]),
    "shard": ("run shard I/N of a suite", [
        ("shard", {"help": "I/N"}), ("--suite", SUITE), ("--out", OUT)]),
    "merge": ("check that every shard is there, merge them", [
        ("dirs", {"nargs": "+"}), ("--out", OUT)]),
    "report": ("build the report", [("run", {}), ("--out", OUT)]),
    "compare": ("compare with the baseline; exit 1 on a regression", [
        ("run", {}), ("--suite", SUITE), ("--baseline", {"default": str(BASELINE)}),
        ("--threshold", {"type": float, "default": THRESHOLD}),
        ("--no-confirm", {"action": "store_true",
                          "help": "fail on the first comparison (no re-measure)"}),
        ("--log", {"default": None, "help": "also write the output here"})]),
    "summary": ("the job summary, in Markdown", [
        ("report_md", {}), ("--compare", {"default": None, "help": "compare's --log"}),
        ("--out", {"default": None, "help": "append here (default: print)"})]),
    "export": ("github-action-benchmark JSON", [("run", {}), ("--out", OUT)]),
    "baseline": ("refresh the committed baseline from a run", [
        ("run", {}), ("--dest", {"default": str(BASELINE)})]),
}


def parser() -> argparse.ArgumentParser:
    """The command line: one subparser per step, from ``ARGS``."""
    p = argparse.ArgumentParser(prog="scripts/ci.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help_text, arguments) in ARGS.items():
        s = sub.add_parser(name, help=help_text)
        for flag, kwargs in arguments:
            s.add_argument(flag, **kwargs)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; the step's exit status."""
    args = parser().parse_args(argv)
    return globals()[f"cmd_{args.command}"](args)


if __name__ == "__main__":
    sys.exit(main())
