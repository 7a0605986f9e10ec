"""The house rules the design document promises, checked on the code itself: files under 300
lines, functions under 40, one place for the results vocabulary, no framework guessed from a
backend's name, and a results schema that still matches the committed example run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from bench import schema

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "models", "reports")
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 40


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _long_functions(path: Path, root: Path = ROOT) -> list[str]:
    """``name (lines)`` of every function in ``path`` longer than the limit, def to end."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = node.end_lineno - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(root)}:{node.name} ({length})")
    return found


def test_the_checks_see_the_code():
    assert len(_sources()) > 30  # a wrong ROOT would make every check below pass vacuously


def test_files_are_short():
    long = [f"{p.relative_to(ROOT)} ({n})" for p in _sources()
            if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert long == []


def test_functions_are_short():
    assert [f for p in _sources() for f in _long_functions(p)] == []


def test_function_check_catches_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def too_long():\n{body}\n")
    found = _long_functions(tmp_path / "m.py", tmp_path)
    assert found == [f"m.py:too_long ({MAX_FUNCTION_LINES + 1})"]


@pytest.mark.parametrize("pattern", [
    r"startswith\(\s*['\"]jax",  # a framework guessed from a backend's name
    r"getattr\([^)]*own_process",  # a protocol attribute read around the protocol
    r"==\s*['\"](train|infer|shapes8?|debug)['\"]",  # a scenario compared by name
    r"['\"](train|infer|shapes8?|debug)['\"]\s*==",
])
def test_no_name_sniffing(pattern):
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in _sources() if p.name != "schema.py"
            for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(pattern, line)]
    assert hits == []


def _column_lists(path: Path) -> int:
    """How many literal lists, tuples or constant dicts (declarations, not a row being
    filled) in ``path`` name ten or more result columns."""
    found = 0
    for node in ast.walk(ast.parse(path.read_text())):
        declared = isinstance(node, ast.Dict) and all(
            isinstance(v, ast.Constant) for v in node.values)
        items = node.keys if declared else getattr(node, "elts", None)
        if isinstance(node, ast.List | ast.Tuple | ast.Dict) and items:
            names = {i.value for i in items if isinstance(i, ast.Constant)}
            found += len(names & set(schema.COLUMNS)) >= 10
    return found


def test_one_declaration_of_the_columns():
    """No module but the schema spells out the column list."""
    owners = [p.relative_to(ROOT).as_posix() for p in _sources() if _column_lists(p)]
    assert owners == ["bench/schema.py"]


def test_schema_matches_the_committed_example_run():
    """The quick run's results file keeps the schema's columns, in order, and statuses."""
    run = ROOT / "reports/examples/cpu-quick/run/results.csv"
    df = pd.read_csv(run)
    assert list(df.columns) == [c for c in schema.COLUMNS if c in df.columns]  # same order
    assert set(schema.COLUMNS) - set(df.columns) <= set(schema.LATER_COLUMNS)
    assert set(df["status"]) <= set(schema.STATUSES)
    assert {"ok", "unsupported"} <= set(df["status"])
    assert set(df["scenario"]) <= set(schema.SCENARIOS)
    assert set(df["dtype"]) == {schema.DTYPE}


def test_epoch_sequence_is_what_a_dataloader_yields():
    from torch.utils.data import DataLoader

    sizes = tuple(len(b) for b in DataLoader(range(4000), batch_size=64))
    assert schema.epoch_batch_sizes(4000, 64) == sizes == schema.SCENARIOS["shapes"].batch_sizes
