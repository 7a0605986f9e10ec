"""Sessions of eager-vs-compiled (``nox -l`` lists them). Dependencies come from pyproject.toml;
arguments after ``--`` are forwarded. ``bench-gpu`` is not run by default."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the fast CPU test suite (pytest; args forwarded)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check the code with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(name="bench-cpu", python=PYTHON)
def bench_cpu(session: nox.Session) -> None:
    """Run the benchmark matrix on CPU (args go to `python -m bench run`)."""
    session.install("-e", ".")
    session.run("python", "-m", "bench", "run", "--device", "cpu", *session.posargs)


@nox.session(name="bench-gpu", python=PYTHON)
def bench_gpu(session: nox.Session) -> None:
    """Run the benchmark matrix on CUDA (args go to `python -m bench run`; exits 2 without
    a GPU). On a machine that cannot install, run it as `nox -s bench-gpu --no-venv` (the
    current environment); on a short lease add `-- --profile quick --isolation in-process`."""
    if shutil.which("nvidia-smi") is None or subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True).returncode != 0:
        print("nox -s bench-gpu: error: no CUDA GPU here (nvidia-smi finds none); "
              "use nox -s bench-cpu", file=sys.stderr)
        raise SystemExit(2)
    if not isinstance(session.virtualenv, nox.virtualenv.PassthroughEnv):
        session.install("-e", ".")
    session.run("python", "-m", "bench", "run", "--device", "cuda", "--backends", "all",
                *session.posargs)


@nox.session(python=PYTHON)
def regress(session: nox.Session) -> None:
    """Compare two run folders (-- BASELINE CURRENT [--threshold 0.10]); fails on a regression."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s regress -- BASELINE CURRENT [--threshold 0.10] [--absolute]")
    if not isinstance(session.virtualenv, nox.virtualenv.PassthroughEnv):  # --no-venv
        session.install("-e", ".")
    session.run("python", "-m", "bench", "compare", *session.posargs)


@nox.session(python=PYTHON)
def report(session: nox.Session) -> None:
    """Build the HTML/Markdown report from the newest run (or the run folders given)."""
    session.install("-e", ".")
    runs = session.posargs or sorted(glob.glob(os.path.join("runs", "*")),
                                     key=os.path.getmtime)[-1:]
    if not runs:
        session.error("no run folder under runs/: run `nox -s bench-cpu` first")
    session.run("python", "-m", "reports", "build", *runs)
