"""Sessions of eager-vs-compiled (``nox -l`` lists them). Dependencies come from pyproject.toml;
arguments after ``--`` are forwarded."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the fast CPU test suite (pytest; args forwarded)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(name="bench-cpu", python=PYTHON)
def bench_cpu(session: nox.Session) -> None:
    """Run the benchmark matrix on CPU (args go to `python -m bench run`)."""
    session.install("-e", ".")
    session.run("python", "-m", "bench", "run", "--device", "cpu", *session.posargs)
