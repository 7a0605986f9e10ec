"""Sessions of eager-vs-compiled (``nox -l`` lists them; ``bench-gpu`` is not run by default).

One environment, ``.nox/shared`` (Python 3.11, the project with its ``test`` extra), serves
every session: it is built on first use and re-installed only when pyproject.toml changes,
so ``nox -s report`` after ``nox -s tests`` installs nothing. ``--no-venv`` runs a session in
the interpreter running nox instead (a machine that cannot install). Arguments after ``--``
are forwarded.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox
import nox.virtualenv

nox.options.sessions = ["tests", "lint"]
# The sessions build no environment of nox's (they share ``.nox/shared``, below), so the
# backend only matters to nox itself. Before creating any session's environment, even a
# "none" one, nox asks whether uv is installed, and logs "uv binary not found." on every
# session where it is not (nox.virtualenv.find_uv, via the optional backends' table). Nox
# reads the answer from these module attributes when they are set: set them here, without
# running uv, where there is no uv on PATH.
nox.options.default_venv_backend = "none"
if shutil.which(os.environ.get("UV", "uv")) is None:
    from packaging.version import Version  # nox's own dependency

    nox.virtualenv.HAS_UV, nox.virtualenv.UV, nox.virtualenv.UV_VERSION = False, "uv", Version(
        "0")

PYTHON = "3.11"
ROOT = Path(__file__).resolve().parent
INSTALL = ("-e", ".[test]")
STAMP = "installed-from.sha256"  # in the environment: what it was built from


def _current_interpreter(session: nox.Session) -> bool:
    """Whether ``--no-venv`` (``--force-venv-backend none``) was given. Every session here
    is a "none" one, so only nox's run configuration tells; it has no public accessor."""
    config = getattr(getattr(session, "_runner", None), "global_config", None)
    return getattr(config, "force_venv_backend", None) == "none"


def _base_python(session: nox.Session) -> str:
    """A Python ``PYTHON`` to build the shared environment with."""
    if sys.version_info[:2] == tuple(map(int, PYTHON.split("."))):
        return sys.executable
    found = shutil.which(f"python{PYTHON}")
    if found is None:
        session.error(f"no python{PYTHON} on PATH to build the shared environment with")
    return found


def _wanted() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + repr(INSTALL).encode()
                          ).hexdigest()


def shared(session: nox.Session) -> str:
    """The shared environment's python (``shared`` beside the sessions' folders: .nox/shared
    unless ``--envdir``), building or updating it first when it is missing or pyproject.toml
    changed; the interpreter running nox under ``--no-venv``."""
    if _current_interpreter(session):
        session.log(f"--no-venv: using {sys.executable}")
        return sys.executable
    env = Path(session.env_dir).resolve().parent / "shared"
    python, stamp = env / "bin" / "python", env / STAMP
    if not python.exists() or subprocess.run([python, "-c", ""]).returncode != 0:
        shutil.rmtree(env, ignore_errors=True)
        session.run(_base_python(session), "-m", "venv", str(env), external=True)
    if not stamp.exists() or stamp.read_text() != _wanted():
        session.run(str(python), "-m", "pip", "install", *INSTALL, external=True)
        stamp.write_text(_wanted())
    else:
        session.log(f"{env} is up to date with pyproject.toml: nothing to install")
    return str(python)


def run(session: nox.Session, python: str, *args: str) -> None:
    """``python ARGS`` with ``python``'s environment first on PATH (for its subprocesses)."""
    env = {"PATH": os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")])}
    if python != sys.executable:
        env["VIRTUAL_ENV"] = str(Path(python).parent.parent)
    session.run(python, *args, env=env, external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the fast CPU test suite (pytest; args forwarded)."""
    run(session, shared(session), "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check the code with ruff."""
    run(session, shared(session), "-m", "ruff", "check", ".")


@nox.session(name="bench-cpu")
def bench_cpu(session: nox.Session) -> None:
    """Run the main benchmark on CPU: every backend, quick profile, 3 rounds.

    Arguments go to ``python -m bench run``, whose defaults these are (e.g. ``-- --backends
    eager --profile full``)."""
    run(session, shared(session), "-m", "bench", "run", "--device", "cpu", *session.posargs)


@nox.session(name="bench-gpu")
def bench_gpu(session: nox.Session) -> None:
    """Run the main benchmark on CUDA: every backend, quick profile, 3 rounds.

    Arguments go to ``python -m bench run``, whose defaults these are.

    Exits 2 without a GPU. On a machine that cannot install, add ``--no-venv`` (the current
    environment); on a short lease add ``-- --order backend`` (a run cut short keeps whole
    backends; the quick profile already runs in-process).
    """
    if shutil.which("nvidia-smi") is None or subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True).returncode != 0:
        print("nox -s bench-gpu: error: no CUDA GPU here (nvidia-smi finds none); "
              "use nox -s bench-cpu", file=sys.stderr)
        raise SystemExit(2)
    run(session, shared(session), "-m", "bench", "run", "--device", "cuda", *session.posargs)


@nox.session
def regress(session: nox.Session) -> None:
    """Compare two run folders; fails on a regression.

    Usage: ``nox -s regress -- BASELINE CURRENT [--threshold 0.10] [--absolute]``.
    """
    if len(session.posargs) < 2:
        session.error("usage: nox -s regress -- BASELINE CURRENT [--threshold 0.10] [--absolute]")
    run(session, shared(session), "-m", "bench", "compare", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Build the HTML/Markdown report from the newest run (or the run folders given)."""
    runs = session.posargs or sorted(glob.glob(os.path.join("runs", "*")),
                                     key=os.path.getmtime)[-1:]
    if not runs:
        session.error("no run folder under runs/: run `nox -s bench-cpu` first")
    run(session, shared(session), "-m", "reports", "build", *runs)


@nox.session
def ci(session: nox.Session) -> None:
    """Run one step of the CI workflow: scripts/ci.py (args forwarded)."""
    run(session, shared(session), "scripts/ci.py", *session.posargs)
