"""Adding a backend, a workload or a scenario is one definition plus one registry line: a
throwaway one of each, registered here and nowhere else, runs through ``python -m bench run``,
lands in a results row, and shows in the report's tables and in the speedup plot with a
colour of its own (DESIGN.md, "Extending")."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import Tensor, nn

from bench import cli
from bench.backends import BACKENDS, BackendBase, Prepared
from bench.backends.base import torch_params
from bench.profiles import PROFILES, Profile
from bench.schema import SCENARIOS, Scenario
from models import WORKLOADS, Workload
from reports import backends as report_backends
from reports import cli as report_cli
from reports.load import load_runs
from reports.plots import PLOTS

TOY_BACKEND, TOY_WORKLOAD, TOY_SCENARIO = "toy_backend", "tiny_linear", "infer_twice"


class ToyBackend(BackendBase):
    """Eager's step behind one extra Python call: parity-correct, a little slower."""

    name = TOY_BACKEND
    compiles = False

    def prepare(self, work: Workload, scenario: Scenario) -> Prepared:
        fn, args = work.step(scenario.mode, scenario.prints)
        return Prepared(step=lambda: fn(*args), params=torch_params(work), call=fn)


class TinyLinear(Workload):
    """``nn.Linear(4, 2)`` trained by hand-written SGD on a fixed random batch; no JAX port."""

    name = TOY_WORKLOAD
    section = "(a test's workload)"
    default_batch = 8
    notes_lr = 0.01
    notes_epochs = 1

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (2,)

    def build(self) -> None:
        self.module = nn.Linear(4, 2)

    def make_batch(self, n: int) -> tuple[Tensor, Tensor]:
        g = torch.Generator().manual_seed(n)
        x, y = torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g)
        return (x.to(self.cfg.device, self.cfg.dtype), y.to(self.cfg.device, self.cfg.dtype))

    def loss_fn(self, out: Tensor, y: Tensor) -> Tensor:
        return ((out - y) ** 2).mean()

    def train_step(self, x: Tensor, y: Tensor) -> Tensor:
        loss = self.loss_fn(self.module(x), y)
        self.module.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in self.module.parameters():
                p -= self.lr * p.grad
        return loss.detach()

    def flops(self, mode: str) -> int:
        return 2 * self.batch_size * 4 * 2 * (3 if mode == "train" else 1)


@pytest.fixture
def registered(monkeypatch):
    """The three throwaways, each registered with one line, as a contributor would."""
    monkeypatch.setitem(BACKENDS, TOY_BACKEND, ToyBackend())
    monkeypatch.setitem(WORKLOADS, TOY_WORKLOAD, TinyLinear)
    monkeypatch.setitem(SCENARIOS, TOY_SCENARIO,
                        Scenario(TOY_SCENARIO, "infer", "a test's scenario", tolerance=1e-4))
    monkeypatch.setitem(PROFILES, "test", Profile(
        "test", warmup_steps=1, min_run_time_s=0.01, max_run_time_s=0.05, ci_halfwidth=0.5,
        case_timeout_s=60, in_process=True, min_blocks=3))


@pytest.fixture
def run(registered, tmp_path):
    out = tmp_path / "run"
    status = cli.main(["run", "--device", "cpu", "--workloads", f"{TOY_WORKLOAD},manual_mlp",
                       "--backends", f"eager,{TOY_BACKEND},jax_jit", "--threads", "1",
                       "--scenarios", f"train,{TOY_SCENARIO}", "--profile", "test",
                       "--out", str(out)])
    assert status == 0
    return out


def test_they_run_and_land_in_rows(run):
    df = pd.read_csv(run / "results.csv").set_index(["workload", "scenario", "backend"])
    assert len(df) == 2 * 2 * 3
    for scenario in ("train", TOY_SCENARIO):
        row = df.loc[(TOY_WORKLOAD, scenario, TOY_BACKEND)]
        assert row["status"] == "ok"
        assert row["parity_rel_err"] < 1e-5  # checked against eager before it was timed
        assert row["step_median_s"] > 0 and row["eager_step_median_s"] > 0
    # the toy workload declares no JAX port: unsupported with that reason, not failed
    jax_row = df.loc[(TOY_WORKLOAD, "train", "jax_jit")]
    assert jax_row["status"] == "unsupported"
    assert "no JAX port" in jax_row["error"]
    assert df.loc[("manual_mlp", TOY_SCENARIO, TOY_BACKEND)]["status"] == "ok"


def test_they_show_in_the_report(run, tmp_path):
    out = tmp_path / "report"
    assert report_cli.main(["build", str(run), "--out", str(out)]) == 0
    speedup = pd.read_csv(out / "speedup.csv")
    assert TOY_BACKEND in speedup.columns
    assert {TOY_WORKLOAD, "manual_mlp"} <= set(speedup["workload"])
    assert TOY_SCENARIO in set(speedup["scenario"])
    assert TOY_BACKEND in (out / "report.md").read_text()


def test_the_new_backend_has_its_own_colour_in_the_speedup_plot(run):
    df = load_runs([run]).results
    colours = report_backends.colors(df)
    assert len(set(colours.values())) == len(colours) == 3
    fig = next(p for p in PLOTS if p.name == "speedup").draw(df)
    bars = {c.get_label(): c.patches[0].get_facecolor()
            for ax in fig.axes for c in ax.containers if c.patches}
    assert TOY_BACKEND in bars
    from matplotlib.colors import to_rgba

    assert bars[TOY_BACKEND] == pytest.approx(to_rgba(colours[TOY_BACKEND]))
