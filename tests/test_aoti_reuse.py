"""``export_aoti`` builds its package once per case: a later round, in the same case folder,
loads it; a process outside a case folder always builds its own (no stale package is ever
picked up). Export and AOTInductor are replaced by counting fakes: no compiler runs."""

from __future__ import annotations

import torch

from bench.backends import BACKENDS
from bench.backends.base import CASE_FOLDER_ENV
from bench.schema import SCENARIOS
from models import build_workload
from tests.conftest import TINY


def _fake_aoti(monkeypatch) -> dict[str, list[str]]:
    calls: dict[str, list[str]] = {"built": [], "loaded": []}

    def build(exported, package_path):
        calls["built"].append(package_path)
        with open(package_path, "wb") as f:
            f.write(b"package")
        return package_path

    def load(path):
        calls["loaded"].append(path)
        return lambda *args: torch.zeros(1)

    monkeypatch.setattr(torch.export, "export", lambda module, args: "exported")
    monkeypatch.setattr(torch._inductor, "aoti_compile_and_package", build)
    monkeypatch.setattr(torch._inductor, "aoti_load_package", load)
    return calls


def _first_call(scenario: str = "infer") -> None:
    work = build_workload("manual_mlp", TINY)
    BACKENDS["export_aoti"].prepare(work, SCENARIOS[scenario]).step()


def test_a_later_round_loads_the_first_rounds_package(monkeypatch, tmp_path):
    calls = _fake_aoti(monkeypatch)
    monkeypatch.setenv(CASE_FOLDER_ENV, str(tmp_path))
    _first_call()  # round 1: export, build, load
    _first_call()  # round 2: load only
    assert len(calls["built"]) == 1 and len(calls["loaded"]) == 2
    kept = tmp_path / "aoti" / "manual_mlp.pt2"
    assert calls["loaded"] == [str(kept)] * 2 and kept.read_bytes() == b"package"
    assert not list((tmp_path / "aoti").glob("*.part.pt2"))  # renamed whole into place


def test_outside_a_case_folder_every_call_builds(monkeypatch):
    calls = _fake_aoti(monkeypatch)
    monkeypatch.delenv(CASE_FOLDER_ENV, raising=False)
    _first_call()
    _first_call()
    assert len(calls["built"]) == 2 and calls["loaded"][0] != calls["loaded"][1]
