"""What ``python -m bench reproduce``'s numbers mean against the notes: one line per workload
on what the notes show (they print the losses but show none of the values, so only the
shape of a curve can be compared), one on what this run saw, the mean and spread over
seeds, and the one-line summary that ends the command."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

# What the notes' code does and shows, per workload (the notes: PyTorch 1.3, in Chinese).
NOTES = {
    "manual_mlp": "the notes print this loss each epoch but show no values; with unscaled "
                  "N(0, 1) weights the first loss is ~5e7 and lr 1e-6 overshoots at first, "
                  "so a rise for a few epochs before the fall is the recipe's, not a bug",
    "autograd_mlp": "the same network, data and lr as manual_mlp, gradients from "
                    "loss.backward(), 20 epochs: at one seed its losses equal manual_mlp's "
                    "epoch for epoch (rise first included); the notes show no values",
    "sequential_sgd": "nn.Linear's scaled initialisation starts the mean squared error near "
                      "1 (the targets are N(0, 1)); plain SGD at lr 1e-4 lowers it slowly; "
                      "the notes print every 1000th epoch and show no values",
    "sequential_adam": "Adam at lr 1e-4 fits the 100 random targets almost exactly in 300 "
                       "epochs: it memorises noise (there is nothing to generalise); the "
                       "notes show no values",
    "mnist_cnn": "the notes train 1 epoch on the 60,000 MNIST images and show no accuracy; "
                 "here 2 epochs of their recipe (Adam, batch 64, dropout 0.5) on the "
                 "4,000-image subset read 92.8-95.8% on the 1,000 held-out images over seeds "
                 "0-4 (mean 94.5%): the seed moves it by a few points (--seeds N shows it)",
    "tensor_ops": "the notes' tensor operations train nothing: the output's mean is printed "
                  "for the record",
}


@dataclass(frozen=True)
class Outcome:
    """One workload trained at one seed: the loss of every epoch (the CNN: each epoch's mean
    batch loss; a forward-only workload: its output's mean, ``trained`` False), the CNN's
    last held-out accuracy (a fraction) and its number of training images."""

    name: str
    seed: int
    losses: list[float]
    accuracy: float | None = None
    trained: bool = True
    images: int | None = None


def seen_line(o: Outcome) -> str:
    """What this run's numbers did: the loss from first to last epoch, and a rise before
    the fall when there was one (the peak and its epoch); the CNN's held-out accuracy."""
    if not o.trained:
        return f"  seen (seed {o.seed}): output mean {o.losses[0]:.6g}"
    first, last, n = o.losses[0], o.losses[-1], len(o.losses)
    peak = max(range(n), key=o.losses.__getitem__)
    text = f"  seen (seed {o.seed}): loss {first:.4g} (epoch 0) -> {last:.4g} (epoch {n - 1})"
    if 0 < peak < n - 1:
        text += f", rising to {o.losses[peak]:.4g} at epoch {peak} before it fell"
    elif last >= first:
        text += ": it did not fall"
    if o.accuracy is not None:
        subset = f" on {o.images:,} training images" if o.images else ""
        text += f"; held-out accuracy {100 * o.accuracy:.2f}% after {n} epochs{subset}"
    return text


def explain(o: Outcome) -> list[str]:
    """Two lines for a workload's run: what the notes show, what this run saw."""
    return [f"  notes: {NOTES[o.name]}" if o.name in NOTES else "  notes: -", seen_line(o)]


def _spread(values: list[float], scale: float, fmt: str, unit: str = "") -> str:
    """``mean M, min-max A-B, sd S`` of ``values`` times ``scale`` (sd: the sample standard
    deviation, n - 1)."""
    v = [x * scale for x in values]
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return (f"mean {statistics.fmean(v):{fmt}}{unit}, min-max {min(v):{fmt}}-{max(v):{fmt}}"
            f"{unit}, sd {sd:{fmt}}")


def spread_line(runs: list[Outcome]) -> str:
    """One workload over several seeds: its final loss (a forward-only workload: its output
    mean) and the CNN's held-out accuracy, as mean, min-max and standard deviation."""
    seeds = f"seeds {runs[0].seed}-{runs[-1].seed}"
    what = "final loss" if runs[0].trained else "output's mean:"
    text = f"  over {seeds} ({len(runs)}): {what} {_spread([r.losses[-1] for r in runs], 1, '.4g')}"
    accs = [r.accuracy for r in runs if r.accuracy is not None]
    if accs:
        text += f"; held-out accuracy {_spread(accs, 100, '.2f', '%')} points"
    return text


def summary_line(results: dict[str, list[Outcome]]) -> str:
    """The command's last line: how many trained workloads ended below their first loss (at
    every seed), which rose first, and the CNN's held-out accuracy (the mean over seeds)."""
    trained = {n: runs for n, runs in results.items() if runs[0].trained}
    fell = [n for n, runs in trained.items() if all(r.losses[-1] < r.losses[0] for r in runs)]
    parts = []
    if trained:
        plural = "s" if len(trained) > 1 else ""
        missed = [n for n in trained if n not in fell]
        parts.append(f"{len(fell)} of {len(trained)} trained workload{plural} ended below "
                     f"the first loss" + (f" (not {', '.join(missed)})" if missed else ""))
    rose = [n for n, runs in trained.items()
            if any(max(r.losses) > r.losses[0] for r in runs)]
    if rose:
        parts.append(f"{', '.join(rose)} rose first, as the recipe makes it")
    for name, runs in trained.items():
        accs = [r.accuracy for r in runs if r.accuracy is not None]
        if accs:
            over = f", mean of {len(accs)} seeds" if len(accs) > 1 else f", seed {runs[0].seed}"
            parts.append(f"{name} held-out accuracy {100 * statistics.fmean(accs):.2f}% "
                         f"({len(runs[0].losses)} epochs{over})")
    if skipped := [n for n in results if n not in trained]:
        parts.append(f"{', '.join(skipped)}: forward only")
    return "summary: " + "; ".join(parts)
