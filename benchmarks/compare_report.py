"""The comparison report's Markdown and pictures (:mod:`benchmarks.compare` measures)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SCORE_NOTE = (
    "Frechet distance (FD) and KID compare the samples' features with those of the "
    "training images; the first row scores held-out real images of the same count, the "
    "floor a perfect model would reach (FD is biased upwards at small counts, so compare "
    "it only at equal counts; KID is unbiased, so it can be negative, and is given with "
    "its spread over 100 subsets). IS is the Inception Score analogue of the same "
    "classifier (10 splits; at most 10). Precision / recall: k-NN manifolds, k = 3 "
    "(Kynkaanniemi et al. 2019). Samples per second exclude the first chunk of 100, which "
    "compiles; parameters count the network that samples (for GANs the critic follows "
    "in parentheses). Run s: wall time of the whole run (compiling, training, and the end of "
    "run's sample grid and evaluation, which for DDPM's bound is T = 1000 network calls "
    "per image); the budget stops the training steps."
)


def _number(value, digits=2, empty="-"):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return empty
    return f"{value:,.{digits}f}"


def _distance(value, digits=2):
    """``digits`` decimals, or 4 below 1 in magnitude (the 2-D toys' small distances)."""
    return _number(value, 4 if abs(value) < 1 else digits)


def render(runs: list[dict], floor: dict, header: dict) -> str:
    """The Markdown report: context, the table, the likelihood accounting, the pictures."""
    d = header["dataset"]
    lines = [
        f"# Every family on {d}: one budget, one set of measures",
        "",
        f"`python -m benchmarks.compare --dataset={d} --budget_seconds="
        f"{header['budget_seconds']:g}` on {header['machine']} (2 host devices). Each config "
        f"trained from scratch for its own steps or {header['budget_seconds']:g} s of wall "
        f"time, whichever ended first. Data: train {header['train']}, held out "
        f"{header['held_out']}; {header['num_samples']:,} samples scored per model, on "
        f"{header['features']}.",
        "",
        "| config | family | steps (of) | run s | params | NLL nats | bits/dim | FD | "
        "KID | IS | precision | recall | samples/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| real held-out data | - | - | - | - | - | - | {_distance(floor['frechet'])} | "
        f"{_distance(floor['kid'], 3)} ± {_distance(floor['kid_std'], 3)} | "
        f"{_number(floor['inception_score'])} | {_number(floor['precision'], 3)} | "
        f"{_number(floor['recall'], 3)} | - |",
    ]
    for r in runs:
        params = f"{r['params']:,}"
        if r.get("critic_params"):
            params += f" ({r['critic_params']:,})"
        lines.append(
            f"| {r['config']} | {r['family']} | {r['steps']:,} ({r['num_steps']:,}) | "
            f"{_number(r['train_seconds'], 0)} | {params} | {_number(r['nll_nats'])} | "
            f"{_number(r['bpd'], 3)} | {_distance(r['frechet'])} | {_distance(r['kid'], 3)} ± "
            f"{_distance(r['kid_std'], 3)} | {_number(r['inception_score'])} | "
            f"{_number(r['precision'], 3)} | {_number(r['recall'], 3)} | "
            f"{_number(r['samples_per_second'], 1)} |"
        )
    lines += ["", SCORE_NOTE, "", "## Likelihoods: what each figure is", ""]
    lines += [
        "All in nats per image of the data's own discrete levels and bits per dimension "
        "(nats / (D ln 2)); a uniform model over L levels scores log2 L bits/dim "
        "(`gensys.eval.likelihood`).",
        "",
    ]
    seen = {}
    for r in runs:
        seen.setdefault(r["accounting"], []).append(r["config"])
    lines += [f"- {', '.join(names)}: {text}" for text, names in seen.items()]
    lines += ["", "## Samples", "", f"Held-out real images: `compare_{d}/real_held_out.png`.", ""]
    columns = 4
    cells = [("real held-out", "real_held_out.png")]
    cells += [(r["config"], f"{r['config']}_samples.png") for r in runs]
    for start in range(0, len(cells), columns):
        row = cells[start : start + columns]
        lines.append("| " + " | ".join(name for name, _ in row) + " |")
        lines.append("|" + "---|" * len(row))
        lines.append("| " + " | ".join(f"![{n}](compare_{d}/{f})" for n, f in row) + " |")
        lines.append("")
    lines += [
        "## Training curves",
        "",
        f"![training curves](compare_{d}/training_curves.png)",
        "",
        "Each run's pictures of its last step (reconstructions, temperatures, densities, "
        f"completions) are in `compare_{d}/<config>_<kind>.png`.",
        "",
    ]
    return "\n".join(lines)


def save_pictures(images: np.ndarray, spec, path: Path) -> None:
    """A sample grid (images) or a sample density picture (2-D points)."""
    from gensys.eval.grids import save_grid, save_points

    if spec.num_levels:
        save_grid(images, path, columns=10)
    else:
        save_points(images, path)


def save_curves(runs: list[dict], path: Path) -> None:
    """One panel per run: its logged training losses against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(4, len(runs))
    rows = -(-len(runs) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for axis in axes.flat[len(runs) :]:
        axis.axis("off")
    for axis, run in zip(axes.flat, runs, strict=False):
        for name, points in run["curves"].items():
            steps, values = zip(*points, strict=True)
            axis.plot(steps, values, label=name.removeprefix("train/"), linewidth=1, marker=".")
        axis.set_title(run["config"], fontsize=9)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
