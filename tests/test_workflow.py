"""The CI workflow (.github/workflows/bench.yml), checked where no GitHub runner exists: it
passes actionlint and GitHub's workflow JSON schema (offline), and its jobs' `run:` steps are
executed here as written - plan, two shards of a tiny suite, merge, report, compare, summary,
export - with `nox -s ci -- ...` standing for scripts/ci.py in this interpreter, and the
artifact actions emulated by copying folders. Also: scripts/ci.py's pieces, the `pr` suite
equal to the committed baseline, and the nox sessions' listing and --no-venv."""

from __future__ import annotations

import csv
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "bench.yml"
ACTION = ROOT / ".github" / "actions" / "setup" / "action.yml"
sys.path.insert(0, str(ROOT / "scripts"))
import ci  # noqa: E402  (scripts/ci.py)

# Any attempt to reach the network through HTTP(S) fails at once: the checks must be offline.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def _tool(name: str) -> str:
    """A console script of this environment (beside the interpreter), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, f"{name} not installed: pip install -e .[test]"
    return found


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, **OFFLINE, **kwargs.pop("env", {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kwargs)


def _workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())


# -- lint -----------------------------------------------------------------------------------

def test_actionlint_passes():
    done = _run([_tool("actionlint"), "-no-color"], cwd=ROOT)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_catches_a_wrong_input(tmp_path):
    """Not vacuous: a misspelt input of the local setup action is an error."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    bad = tmp_path / ".github" / "workflows" / "bench.yml"
    bad.write_text(bad.read_text().replace("flavor: cuda", "flavour: cuda"))
    done = _run([_tool("actionlint"), "-no-color"], cwd=tmp_path)
    assert done.returncode == 1
    assert 'input "flavour" is not defined in action "setup"' in done.stdout


@pytest.mark.parametrize("schema, path", [("vendor.github-workflows", WORKFLOW),
                                          ("vendor.github-actions", ACTION)])
def test_schema_passes_offline(schema, path):
    done = _run([_tool("check-jsonschema"), "--builtin-schema", schema, str(path)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_schema_catches_a_wrong_key(tmp_path):
    bad = tmp_path / "bench.yml"
    bad.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "run-on: ubuntu-latest"))
    done = _run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 str(bad)])
    assert done.returncode == 1 and "'runs-on' is a required property" in done.stdout


# -- the workflow's shape -------------------------------------------------------------------

def test_triggers_and_jobs():
    wf = _workflow()
    assert set(wf["on"]) == {"pull_request", "schedule", "workflow_dispatch"}
    assert set(wf["jobs"]) == {"plan", "shard", "report", "dashboard", "gpu"}
    gpu = wf["jobs"]["gpu"]
    assert gpu["runs-on"] == ["self-hosted", "gpu"]
    assert "vars.BENCH_GPU == 'true'" in gpu["if"] and "pull_request" in gpu["if"]
    bench = next(s for s in wf["jobs"]["dashboard"]["steps"]
                 if s.get("uses", "").startswith("benchmark-action/github-action-benchmark@"))
    assert bench["with"]["tool"] == "customSmallerIsBetter"


def test_cache_keyed_on_pyproject():
    action = YAML(typ="safe").load(ACTION.read_text())
    cache = next(s for s in action["runs"]["steps"]
                 if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".nox"
    assert "hashFiles('pyproject.toml')" in cache["with"]["key"]


def test_plan_per_event():
    assert [ci.EVENT_SUITES[e] for e in ("pull_request", "schedule")] == ["pr", "nightly"]
    done = _run([sys.executable, str(ROOT / "scripts" / "ci.py"), "plan", "--event",
                 "schedule"])
    assert done.stdout.splitlines() == ["suite=nightly", "count=4", "shards=[1, 2, 3, 4]"]


def test_pr_suite_is_the_committed_baseline():
    """The gated suite asks for exactly the baseline's cases, measured as the baseline was."""
    with open(ci.BASELINE / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pr = ci.SUITES["pr"]
    for column, names in [("workload", pr.workloads), ("backend", pr.backends),
                          ("scenario", pr.scenarios)]:
        assert sorted({r[column] for r in rows}) == sorted(names.split(","))
    meta = json.loads((ci.BASELINE / "meta.json").read_text())
    args = pr.run_args()
    assert (meta["threads"], meta["profile"]) == (int(args[args.index("--threads") + 1]),
                                                  args[args.index("--profile") + 1])


# -- scripts/ci.py's pieces -----------------------------------------------------------------

def _shards(tmp_path: Path, *names: str) -> list[Path]:
    folders = []
    for i, shard in enumerate(names):
        folder = tmp_path / f"s{i}"
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps({"shard": shard}))
        folders.append(folder)
    return folders


def test_missing_shards(tmp_path):
    assert ci.missing_shards(_shards(tmp_path / "a", "2/3", "1/3", "3/3")) == ""
    assert ci.missing_shards(_shards(tmp_path / "b", "1/3", "3/3")) == (
        "expected shards 1/3, 2/3, 3/3; got 1/3, 3/3")
    assert ci.missing_shards(_shards(tmp_path / "c", "1/2", "1/3")).startswith(
        "shards of different counts")


@pytest.mark.parametrize("suite, kept", [("tiny", 2), ("pr", 8), ("nightly", 8)])
def test_restrict_baseline_to_suite(tmp_path, suite, kept):
    assert ci.restrict(ci.BASELINE, tmp_path, ci.SUITES[suite]) == kept
    with open(tmp_path / "results.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == kept


@pytest.mark.parametrize("second, status, confirmed", [
    ({"manual_mlp/train/compile/cpu"}, 1, "manual_mlp/train/compile/cpu"),
    (set(), 0, "none"),  # not seen again: noise, the gate passes
])
def test_a_suspected_regression_is_measured_again(tmp_path, monkeypatch, second, status,
                                                  confirmed):
    out = "REGRESSION manual_mlp/train/compile/cpu: speedup 1.20x -> 0.90x\n"
    assert ci.REGRESSED.findall(out) == ["manual_mlp/train/compile/cpu"]
    answers = iter([(1, out, set(ci.REGRESSED.findall(out))), (1 if second else 0, "", second)])
    monkeypatch.setattr(ci, "_compare", lambda *a: next(answers))
    reruns = []
    monkeypatch.setattr(ci, "_run", lambda *a: reruns.append(a) or 0)
    log = tmp_path / "log.txt"
    assert ci.main(["compare", "run", "--suite", "pr", "--log", str(log)]) == status
    assert reruns[0][:3] == ("-m", "bench", "run")  # the suite measured once more
    assert f"confirmed: {confirmed}" in log.read_text()


def test_summary_keeps_the_first_section():
    md = "# Title\n\nRuns: x\n\n## Verdict\n\n| a |\n\n![plot](p.png)\n\n## Plots\n\nmore\n"
    text = ci.summary_text(md, "compare a -> b\nexit status 0\n")
    assert text.startswith("# Title\n\nRuns: x\n\n## Verdict\n\n| a |\n")
    assert "## Plots" not in text and "p.png" not in text
    assert "```text\ncompare a -> b\nexit status 0\n```" in text


# -- nox: one shared environment, whole sentences, no uv line ------------------------------

def _nox(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # PIP_NO_INDEX with no config: an install that should not happen fails at once
    env = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", **(env or {})}
    return _run([sys.executable, "-m", "nox", *args], cwd=ROOT, env=env)


def test_nox_lists_whole_sentences():
    lines = [line for line in _nox("-l").stdout.splitlines() if line[:2] in ("* ", "- ")]
    assert [line.split()[1] for line in lines] == [
        "tests", "lint", "bench-cpu", "bench-gpu", "regress", "report", "ci"]
    assert all(line.endswith(".") for line in lines), lines


def _stamp() -> tuple[str, str]:
    """(file name, content) of the noxfile's record of what the environment was built from,
    read in a process of its own (loading a noxfile registers its sessions)."""
    code = ("import runpy; m = runpy.run_path('noxfile.py'); "
            "print(m['STAMP']); print(m['_wanted']())")
    name, wanted = _run([sys.executable, "-c", code], cwd=ROOT).stdout.split()
    return name, wanted


def test_nox_reuses_the_shared_environment(tmp_path):
    """An environment built from this pyproject.toml is used as it is: nothing installed."""
    env = tmp_path / "envs" / "shared"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").symlink_to(sys.executable)
    name, wanted = _stamp()
    (env / name).write_text(wanted)
    done = _nox("--envdir", str(tmp_path / "envs"), "-s", "ci", "--", "plan")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["suite=pr", "count=2", "shards=[1, 2]"]
    assert "is up to date with pyproject.toml: nothing to install" in done.stderr
    assert f"{env}/bin/python scripts/ci.py plan" in done.stderr
    assert "-m pip" not in done.stderr and "uv binary not found" not in done.stderr


def test_nox_no_venv_uses_this_interpreter(tmp_path):
    done = _nox("--no-venv", "--envdir", str(tmp_path / "envs"), "-s", "ci", "--", "plan",
                "--event", "schedule")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "suite=nightly"
    assert f"--no-venv: using {sys.executable}" in done.stderr
    assert "uv binary not found" not in done.stderr
    assert not (tmp_path / "envs" / "shared").exists()


# -- the workflow's steps, run here ---------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
FAKE_NOX = """#!/bin/sh
# `nox -s ci -- ARGS` as the ci session runs it: scripts/ci.py in the shared environment (here:
# the interpreter running the tests). Any other nox call is not emulated.
if [ "$1" != "-s" ] || [ "$2" != "ci" ] || [ "$3" != "--" ]; then
  echo "fake nox: only 'nox -s ci -- ...' is emulated, got: nox $*" >&2; exit 97
fi
shift 3
exec "{python}" scripts/ci.py "$@"
"""
NO_OPS = ("actions/checkout@", "actions/setup-python@", "./.github/actions/setup")


class Jobs:
    """Runs a workflow's jobs as a runner would: each job in a fresh checkout (links to this
    repository), `run:` through `bash -eo pipefail`, ``${{ }}`` from ``context``; the
    artifact actions copy folders; setting up Python and nox is this interpreter."""

    def __init__(self, tmp: Path, context: dict[str, str]):
        self.tmp, self.context, self.logs = tmp, context, []
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for name, text in [("nox", FAKE_NOX), ("python", '#!/bin/sh\nexec "{python}" "$@"\n')]:
            (self.bin / name).write_text(text.format(python=sys.executable))
            (self.bin / name).chmod(0o755)

    def expand(self, value) -> str:
        return EXPR.sub(lambda m: self.context[m.group(1)], str(value))

    def run_job(self, name: str, job: dict, env: dict) -> Path:
        """Run ``job``'s steps in ``tmp/name``; the workspace."""
        ws = self.tmp / name
        ws.mkdir()
        for item in ROOT.iterdir():
            if item.name not in {".git", ".nox", ".venv", ".venv-ci", "runs"}:
                (ws / item.name).symlink_to(item)
        files = {k: self.tmp / f"{name}.{k.lower()}" for k in
                 ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV")}
        env = {k: self.expand(v) for k, v in {**env, **job.get("env", {})}.items()}
        for step in job["steps"]:
            cond = str(step.get("if", ""))
            if re.fullmatch(r"\$\{\{ steps\.\w+\.outcome == 'failure' \}\}", cond):
                continue  # every step before it succeeded (asserted)
            assert cond in ("", "${{ !cancelled() }}"), f"condition not emulated: {cond}"
            if "run" in step:
                self.shell(step, ws, {**env, **{k: str(v) for k, v in files.items()}})
            else:
                self.action(step, ws)
        return ws

    def shell(self, step: dict, ws: Path, env: dict) -> None:
        step_env = {k: self.expand(v) for k, v in step.get("env", {}).items()}
        full = {**os.environ, **env, **step_env,
                "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               self.expand(step["run"])], cwd=ws, env=full,
                              capture_output=True, text=True)
        self.logs.append(f"$ {step['run']}\n{done.stdout}{done.stderr}")
        assert done.returncode == 0, self.logs[-1]

    def action(self, step: dict, ws: Path) -> None:
        uses, given = step["uses"], {k: self.expand(v) for k, v in step.get("with", {}).items()}
        store = self.tmp / "artifacts"
        if uses.startswith(NO_OPS):
            return
        if uses.startswith("actions/upload-artifact@"):
            src = ws / given["path"]
            assert src.is_dir() and any(src.iterdir()), f"nothing to upload at {src}"
            shutil.copytree(src, store / given["name"],
                            ignore=shutil.ignore_patterns(".*"))  # hidden files stay
        elif uses.startswith("actions/download-artifact@"):
            dest = ws / given.get("path", ".")
            if "name" in given:
                shutil.copytree(store / given["name"], dest, dirs_exist_ok=True)
            for art in sorted(store.iterdir()) if "pattern" in given else []:
                if fnmatch.fnmatch(art.name, given["pattern"]):
                    shutil.copytree(art, dest / art.name)
        elif uses.startswith("benchmark-action/github-action-benchmark@"):
            self.context["dashboard"] = (ws / given["output-file-path"]).read_text()
        else:
            raise AssertionError(f"action not emulated: {uses}")


def _results(run: Path) -> list[dict]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_the_workflow_steps_run(tmp_path):
    """plan -> 2 shards of the tiny suite -> merge, report, compare, summary, export ->
    the dashboard's input: every `run:` of these jobs, as written in bench.yml."""
    wf = _workflow()
    jobs = Jobs(tmp_path, {"github.event_name": "workflow_dispatch", "inputs.suite": "tiny",
                           "secrets.GITHUB_TOKEN": "token"})
    jobs.run_job("plan", wf["jobs"]["plan"], wf["env"])
    outputs = dict(line.split("=", 1) for line in
                   (tmp_path / "plan.github_output").read_text().splitlines())
    jobs.context.update({f"steps.plan.outputs.{k}": v for k, v in outputs.items()})
    for key, value in wf["jobs"]["plan"]["outputs"].items():
        jobs.context[f"needs.plan.outputs.{key}"] = jobs.expand(value)
    shard = wf["jobs"]["shard"]
    assert shard["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    for i in json.loads(jobs.context["needs.plan.outputs.shards"]):
        jobs.context["matrix.shard"] = str(i)
        jobs.run_job(f"shard{i}", shard, wf["env"])
    ws = jobs.run_job("report", wf["jobs"]["report"], wf["env"])
    jobs.run_job("dashboard", wf["jobs"]["dashboard"], wf["env"])

    rows = _results(ws / "merged")
    cases = sorted((r["workload"], r["scenario"], r["backend"], r["device"]) for r in rows)
    assert cases == [("manual_mlp", "infer", "compile", "cpu"),
                     ("manual_mlp", "infer", "eager", "cpu")]  # each case once
    assert (ws / "report" / "report.html").stat().st_size > 1000
    assert (ws / "compare.txt").read_text().endswith("exit status 0\n")
    summary = (tmp_path / "report.github_step_summary").read_text()
    assert summary.startswith("# ") and "## Comparison with the baseline" in summary
    names = {e["name"] for e in json.loads(jobs.context["dashboard"])}
    assert {"manual_mlp/infer/eager/cpu", "manual_mlp/infer/compile/cpu"} <= names
