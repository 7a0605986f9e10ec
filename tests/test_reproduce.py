"""``python -m bench reproduce``: what the printed losses mean against the notes, the one-line
summary, ``--seeds N`` as mean and spread, and the CNN's accuracy after the notes' 2 epochs
(the one slow test here: two real epochs on the 4,000-image subset)."""

from __future__ import annotations

import statistics

import pytest

import bench.notes.reproduce
from bench.cli import main
from bench.notes.meaning import Outcome, spread_line, summary_line
from bench.notes.reproduce import reproduce_cnn


def test_manual_mlp_rises_before_it_falls_and_says_so(capsys):
    """At lr 1e-6 with the notes' unscaled weights the loss rises for 3 epochs first."""
    assert main(["reproduce", "--workload", "manual_mlp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:30]] == [f"manual_mlp epoch {e}"
                                                          for e in range(30)]
    assert lines[30].startswith("  notes: the notes print this loss each epoch but show no "
                                "values")
    assert lines[31].startswith("  seen (seed 0): loss 4.791e+07 (epoch 0) -> ")
    assert "(epoch 29), rising to 9.663e+08 at epoch 3 before it fell" in lines[31]
    assert lines[-1] == ("summary: 1 of 1 trained workload ended below the first loss; "
                         "manual_mlp rose first, as the recipe makes it")
    assert len(lines) == 33


def test_seeds_report_mean_and_spread(monkeypatch, capsys):
    """``--seeds 3`` trains at seeds 2, 3, 4 (from ``--seed 2``); the spread line and the
    summary use every seed (training faked: accuracies 0.929, 0.96, 0.95)."""
    accs = {2: 0.929, 3: 0.96, 4: 0.95}

    def fake_cnn(epochs, data_root, seed, preview, tag):
        print(f"{tag} trained")
        return Outcome("mnist_cnn", seed, [0.7, 0.1 + seed / 100], accs[seed], images=4000)

    monkeypatch.setattr(bench.notes.reproduce, "reproduce_cnn", fake_cnn)
    assert main(["reproduce", "--workload", "mnist_cnn", "--seed", "2", "--seeds", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [f"mnist_cnn seed {s} trained" for s in (2, 3, 4)]
    assert lines[4] == ("  seen (seed 2): loss 0.7 (epoch 0) -> 0.12 (epoch 1); held-out "
                        "accuracy 92.90% after 2 epochs on 4,000 training images")
    sd = statistics.stdev([92.9, 96.0, 95.0])
    assert lines[5] == ("  over seeds 2-4 (3): final loss mean 0.13, min-max 0.12-0.14, sd "
                        f"0.01; held-out accuracy mean 94.63%, min-max 92.90-96.00%, sd "
                        f"{sd:.2f} points")
    assert lines[6] == ("summary: 1 of 1 trained workload ended below the first loss; "
                        "mnist_cnn held-out accuracy 94.63% (2 epochs, mean of 3 seeds)")


def test_a_loss_that_does_not_fall_is_named_in_the_summary():
    flat = Outcome("sequential_sgd", 0, [1.0, 1.2])
    cnn = Outcome("mnist_cnn", 0, [0.7, 0.1], 0.95)
    ops = Outcome("tensor_ops", 0, [2.5e6], trained=False)
    assert summary_line({"sequential_sgd": [flat], "mnist_cnn": [cnn], "tensor_ops": [ops]}) \
        == ("summary: 1 of 2 trained workloads ended below the first loss (not sequential_sgd)"
            "; sequential_sgd rose first, as the recipe makes it; mnist_cnn held-out accuracy "
            "95.00% (2 epochs, seed 0); tensor_ops: forward only")
    assert spread_line([ops, Outcome("tensor_ops", 1, [2.8e6], trained=False)]).startswith(
        "  over seeds 0-1 (2): output's mean: mean 2.65e+06, min-max 2.5e+06-2.8e+06")


def test_seeds_below_one_is_one_line(capsys):
    assert main(["reproduce", "--workload", "manual_mlp", "--seeds", "0"]) == 2
    assert capsys.readouterr().err == "python -m bench: error: --seeds must be at least 1, got 0\n"


@pytest.fixture(scope="module")
def cnn_two_epochs():
    return reproduce_cnn(2, None, seed=0)


def test_mnist_cnn_reaches_90_percent_after_the_notes_two_epochs(cnn_two_epochs):
    """The notes' recipe, 2 epochs on the 4,000-image subset, default seed: at least 90%
    held-out (seeds 0-4 gave 92.8% to 95.8%; the old 95% bar is retired)."""
    assert cnn_two_epochs.images == 4000 and len(cnn_two_epochs.losses) == 2
    assert cnn_two_epochs.accuracy >= 0.90
    assert cnn_two_epochs.losses[1] < cnn_two_epochs.losses[0]
