"""Binarized MNIST: FVSBN, NADE, MADE and the VAE trained to their published likelihoods.

    python -m benchmarks.binarized_mnist [--models=fvsbn,nade,made,made_masks32,vae,
        pixelcnn,gated_pixelcnn,pixelrnn]
        [--config.data.dir=DIR] [--resume] [--render_only]
    python -m benchmarks.binarized_mnist --curves   # why MADE trailed FVSBN

Statically binarized MNIST (Larochelle & Murray 2011): 50,000 train, 10,000 valid and
10,000 test images in ``.amat`` files. Each model trains with ``experiments/configs/
<config>.py`` (its docstring gives the architecture, the optimiser and the measured wall
time), evaluating on ``valid`` as it goes; the engine keeps the best checkpoint by
``eval/nll_nats`` and stops when it has not improved for the config's patience. That
best checkpoint is then evaluated on the whole ``valid`` split, and on ``test`` when the
data directory holds ``binarized_mnist_test.amat(.gz)``. The VAE's figure is the IWAE
bound with K = 5,000 (Burda et al. 2016), an upper bound on its NLL; the others' are exact.

``--curves`` trains FVSBN and MADE (1 mask and 32 masks, each with and without the direct
input-to-output connection) for ``--curve_steps`` steps, evaluating the first 2,000
valid images every 250 steps, and draws the learning curves in one picture.

Results: ``benchmarks/results/binarized_mnist.{md,json}`` and pictures (samples beside
real digits, the curves) in ``benchmarks/results/binarized_mnist/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from absl import app, flags, logging

from benchmarks.common import SHARED_DATA, experiment_config, machine, start_runtime, typed

# name -> (config, overrides, published test NLL in nats, where it is published)
ONE_HOUR = 3600.0
MODELS = {
    "fvsbn": (
        "fvsbn_binarized_mnist",
        [],
        97.45,
        "Larochelle & Murray 2011, Table 2, FVSBN",
    ),
    "nade": (
        "nade_binarized_mnist",
        [],
        88.86,
        "Larochelle & Murray 2011, Table 2, NADE (500 hidden units, fixed order)",
    ),
    "made": (
        "made_binarized_mnist",
        [],
        88.40,
        "Germain et al. 2015, Table 6, MADE 1 hidden layer, 1 mask",
    ),
    "made_masks32": (
        "made_binarized_mnist",
        ["model.num_masks=32"],
        88.04,
        "Germain et al. 2015, Table 6, MADE 1 hidden layer, 32 masks",
    ),
    "vae": (
        "vae_binarized_mnist",
        [],
        86.76,
        "Burda et al. 2016, Table 1, VAE k=1, one stochastic layer (IWAE bound, K=5,000)",
    ),
    # The convolutional models need a GPU to reach their papers: here, one hour of training.
    "pixelcnn": (
        "pixelcnn_binarized_mnist",
        [f"train.max_seconds={ONE_HOUR}"],
        81.30,
        "van den Oord et al. 2016a, Table 4, PixelCNN",
    ),
    "gated_pixelcnn": (
        "gated_pixelcnn_binarized_mnist",
        [f"train.max_seconds={ONE_HOUR}"],
        None,
        "van den Oord et al. 2016b report no binarized MNIST figure",
    ),
    "pixelrnn": (
        "pixelrnn_binarized_mnist",
        [f"train.max_seconds={ONE_HOUR}"],
        80.54,
        "van den Oord et al. 2016a, Table 4, Row LSTM",
    ),
}
GOALS = {"fvsbn": 97.95, "nade": 89.5, "made": 88.5, "made_masks32": 87.5, "vae": 88.0}
# The curves compare MADE of 500 units (the width first tried) with FVSBN.
CURVE_MADE = "model.hidden=500"
CURVES = {
    "FVSBN": ("fvsbn_binarized_mnist", []),
    "MADE, 1 mask": ("made_binarized_mnist", [CURVE_MADE, "model.direct_connection=False"]),
    "MADE, 32 masks": (
        "made_binarized_mnist",
        [CURVE_MADE, "model.direct_connection=False", "model.num_masks=32"],
    ),
    "MADE + direct, 1 mask": ("made_binarized_mnist", [CURVE_MADE]),
    "MADE + direct, 32 masks": ("made_binarized_mnist", [CURVE_MADE, "model.num_masks=32"]),
}
CURVE_EVERY = 250
CURVE_EXAMPLES = 2000
SAMPLES = 16

_MODELS = flags.DEFINE_list("models", list(MODELS), f"Models to train, of {list(MODELS)}.")
_DATA_DIR = flags.DEFINE_string(
    "config.data.dir", None, "Directory of the .amat files (default: the project's copy)."
)
_OVERRIDES = flags.DEFINE_list(
    "override", [], "key=value config overrides applied to every model (e.g. train.num_steps=20)."
)
_RESUME = flags.DEFINE_bool("resume", False, "Continue runs found in --workdir.")
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Rewrite the table from the JSON only.")
_CURVES = flags.DEFINE_bool("curves", False, "Draw FVSBN's and MADE's learning curves instead.")
_CURVE_STEPS = flags.DEFINE_integer("curve_steps", 3000, "Training steps of each curve.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/binarized_mnist", "Where the runs train.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and pictures go.")


def _data_dir() -> str:
    return _DATA_DIR.value or str(SHARED_DATA / "binarized_mnist")


def _typed(name: str, overrides: list[str], **changes):
    raw = experiment_config(name, overrides=[*overrides, *_OVERRIDES.value])
    raw.data.dir = _data_dir()
    return typed(raw, changes)


def _has_test_split() -> bool:
    return any(Path(_data_dir()).glob("binarized_mnist_test.amat*"))


def train_and_measure(model: str, workdir: Path, out: Path) -> dict:
    """Trains ``model`` (or resumes it), then evaluates its best checkpoint."""
    import shutil

    import jax

    from gensys.data.datasets import load_split
    from gensys.eval.grids import save_grid
    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.metric_writers import read_metrics

    name, overrides, published, source = MODELS[model]
    config = _typed(name, overrides)
    recipe = recipe_for(config)
    if not _RESUME.value:
        shutil.rmtree(workdir, ignore_errors=True)
    start = time.perf_counter()
    result = loop.train(config, workdir, recipe)
    # Wall time over every invocation (a resumed run adds to it).
    wall_file = workdir / "train_seconds.txt"
    before = float(wall_file.read_text()) if wall_file.exists() else 0.0
    train_seconds = before + time.perf_counter() - start
    wall_file.write_text(f"{train_seconds:.1f}")
    records = read_metrics(workdir)
    step, state, engine = loop.load_best(config, workdir, recipe)
    row = {
        "model": model,
        "config": name,
        "overrides": overrides,
        "published": published,
        "source": source,
        "goal": GOALS.get(model),
        "best_step": step,
        "last_step": result.step,
        "ended_by": _ended_by(result, config, time.perf_counter() - start),
        "command_overrides": list(_OVERRIDES.value),
        "train_seconds": train_seconds,
        "steps_per_sec": float(
            np.median([r["train/steps_per_sec"] for r in records if "train/steps_per_sec" in r])
        ),
        "params": int(sum(x.size for x in jax.tree.leaves(state.model.params))),
        "curve": [[r["step"], r["eval/nll_nats"]] for r in records if "eval/nll_nats" in r],
    }
    final_changes = {"model.iwae_samples": 5000} if config.family == "vae" else {}
    for split in ["valid", "test"] if _has_test_split() else ["valid"]:
        reused = _loop_evaluated(config, records, step, split) if not final_changes else None
        if reused is not None:
            # The loop already scored the best step on the whole split with this config.
            row[f"{split}_nll"], row[f"{split}_eval_seconds"] = reused, 0.0
            logging.info("%s: %s NLL %.2f nats (the run's own evaluation)", model, split, reused)
            continue
        # The whole split, from the best checkpoint, with the final K for the VAE.
        changes = {"eval.split": split, "eval.max_examples": None, "eval.checkpoint": "best"}
        eval_config = _typed(name, overrides, **changes, **final_changes)
        tick = time.perf_counter()
        metrics = loop.evaluate(eval_config, workdir, recipe_for(eval_config))
        row[f"{split}_nll"] = metrics["eval/nll_nats"]
        row[f"{split}_eval_seconds"] = time.perf_counter() - tick
        logging.info("%s: %s NLL %.2f nats", model, split, row[f"{split}_nll"])
    # Samples beside real valid digits.
    images = engine.sample(state, jax.random.key(0), SAMPLES)
    real = load_split("binarized_mnist", "valid", data_dir=_data_dir()).images[:SAMPLES]
    real = 2.0 * real.astype(np.float32) - 1.0
    picture = out / "binarized_mnist" / f"{model}_samples.png"
    save_grid(np.concatenate([np.asarray(images), real]), picture, columns=SAMPLES // 2)
    row["samples"] = str(picture.relative_to(out))
    return row


def _loop_evaluated(config, records: list[dict], step: int, split: str) -> float | None:
    """The NLL the training loop itself measured at ``step`` when it evaluated the whole
    ``split`` (a one-hour run of a slow model evaluates only at its end, and scoring the
    10,000 valid images again would take the gated PixelCNN minutes more); else None."""
    if config.eval.split != split or config.eval.max_examples is not None:
        return None
    found = [r["eval/nll_nats"] for r in records if r["step"] == step and "eval/nll_nats" in r]
    return found[-1] if found else None


def _ended_by(result, config, seconds: float) -> str:
    """Why training ended: its steps, the patience on valid, the time budget or SIGTERM."""
    if result.interrupted:
        return "SIGTERM"
    if result.step >= config.train.num_steps:
        return "num_steps"
    if config.train.max_seconds and seconds >= config.train.max_seconds:
        return "time budget"
    return "patience"


def curves(workdir: Path, out: Path) -> dict:
    """FVSBN's and MADE's valid NLL over ``--curve_steps`` steps, and their picture."""
    import shutil

    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.metric_writers import read_metrics

    results = {}
    for label, (name, overrides) in CURVES.items():
        config = _typed(
            name,
            overrides,
            **{
                "train.num_steps": _CURVE_STEPS.value,
                "train.eval_every": CURVE_EVERY,
                "train.checkpoint_every": _CURVE_STEPS.value,
                "train.sample_every": 0,
                "train.best_metric": "",
                "train.patience": 0,
                "eval.max_examples": CURVE_EXAMPLES,
            },
        )
        run_dir = workdir / "curves" / label.replace(" ", "_").replace(",", "").replace("+", "")
        shutil.rmtree(run_dir, ignore_errors=True)
        tick = time.perf_counter()
        loop.train(config, run_dir, recipe_for(config))
        seconds = time.perf_counter() - tick
        points = [
            (r["step"], r["eval/nll_nats"]) for r in read_metrics(run_dir) if "eval/nll_nats" in r
        ]
        results[label] = {"points": points, "seconds": seconds, "overrides": overrides}
        logging.info("%s: %s", label, points[-1])
    _draw_curves(results, out / "binarized_mnist" / "made_curves.png")
    return results


def _draw_curves(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, run in results.items():
        steps, nll = zip(*run["points"], strict=True)
        ax.plot(steps, nll, marker="o", markersize=3, label=label)
    best = min(min(n for _, n in r["points"]) for r in results.values())
    ax.set_ylim(best - 5, best + 60)
    ax.set_xlabel("training step (batches of 100)")
    ax.set_ylabel(f"valid NLL, nats (first {CURVE_EXAMPLES:,} images)")
    ax.set_title("Binarized MNIST: MADE (500 ReLUs) beside FVSBN")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _figure(nats: float | None) -> str:
    return "-" if nats is None else f"{nats:.2f}"


def _goal(nats: float | None) -> str:
    return "-" if nats is None else f"<= {nats}"


def render(rows: list[dict], curve_runs: dict, machine_name: str) -> str:
    lines = [
        "# Binarized MNIST: FVSBN, NADE, MADE, the VAE and the PixelCNNs against their papers",
        "",
        f"`python -m benchmarks.binarized_mnist` on {machine_name}. Statically binarized "
        "MNIST (Larochelle & Murray 2011): 50,000 train, 10,000 valid. Each model trains "
        "on `train`, evaluates `valid` as it goes, keeps the best checkpoint by valid NLL "
        "and stops early on it; the table evaluates that checkpoint on the whole valid "
        "split (and on test where the data directory has it). NLL in nats per image: "
        "exact for the autoregressive models, the IWAE bound with K = 5,000 for the VAE.",
        "",
        "| model | config | valid NLL | test NLL | published (test) | goal (valid) | "
        "best step | steps run | ended by | train wall | steps/s | params |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        test = f"{r['test_nll']:.2f}" if "test_nll" in r else "-"
        wall = f"{r['train_seconds'] / 60:.0f} min" if r.get("train_seconds") else "-"
        config = " ".join([r["config"], *r["overrides"], *r.get("command_overrides", [])])
        lines.append(
            f"| {r['model']} | `{config}` | {r['valid_nll']:.2f} | {test} | "
            f"{_figure(r['published'])} | {_goal(r['goal'])} | {r['best_step']:,} | "
            f"{r['last_step']:,} | "
            f"{r.get('ended_by', '-')} | {wall} | {r['steps_per_sec']:.1f} | {r['params']:,} |"
        )
    with_goal = [r for r in rows if r["goal"] is not None]
    met = [r["model"] for r in with_goal if r["valid_nll"] <= r["goal"]]
    lines += [
        "",
        f"Goals met on valid: {', '.join(met) or 'none'} ({len(met)} of {len(with_goal)}). "
        "The convolutional models have no goal here: their row is one hour of training on "
        "this CPU, far shorter than their papers' training. "
        "Train wall and steps/s are as measured in the run, whatever else the machine was "
        "doing; `ended by` says whether the run stopped on its patience, its time budget "
        "(`train.max_seconds` in the config column), its last step or SIGTERM.",
    ]
    lines += ["", "Published figures:", ""]
    lines += [f"- {r['model']}: {_figure(r['published'])}, {r['source']}." for r in rows]
    lines += ["", "Samples (top two rows) beside real valid digits (bottom two rows):", ""]
    lines += [f"- {r['model']}: [{r['samples']}]({r['samples']})" for r in rows]
    if curve_runs:
        lines += [
            "",
            "## Why MADE trailed FVSBN",
            "",
            f"`python -m benchmarks.binarized_mnist --curves`: valid NLL of the first "
            f"{CURVE_EXAMPLES:,} valid images every {CURVE_EVERY} steps "
            "([binarized_mnist/made_curves.png](binarized_mnist/made_curves.png)).",
            "",
            "| run | "
            + " | ".join(f"step {s}" for s, _ in next(iter(curve_runs.values()))["points"])
            + " | wall |",
            "|---|" + "---|" * (len(next(iter(curve_runs.values()))["points"]) + 1),
        ]
        for label, run in curve_runs.items():
            cells = " | ".join(f"{n:.1f}" for _, n in run["points"])
            lines.append(f"| {label} | {cells} | {run['seconds']:.0f} s |")
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    out = Path(_OUT.value)
    per_model = out / "binarized_mnist" / "rows"  # one file a model: runs may go in parallel
    curve_path = out / "binarized_mnist" / "made_curves.json"
    if not _RENDER_ONLY.value:
        start_runtime(cpu_devices=1)
        workdir = Path(_WORKDIR.value)
        if _CURVES.value:
            curve_path.parent.mkdir(parents=True, exist_ok=True)
            curve_path.write_text(json.dumps(curves(workdir, out), indent=1))
        else:
            for model in _MODELS.value:
                if model not in MODELS:
                    raise app.UsageError(f"--models: {model!r} is not one of {list(MODELS)}")
                row = train_and_measure(model, workdir / model, out)
                per_model.mkdir(parents=True, exist_ok=True)
                (per_model / f"{model}.json").write_text(json.dumps(row, indent=1))
    json_path = out / "binarized_mnist.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    rows = {r["model"]: r for r in previous.get("runs", [])}
    rows.update({p.stem: json.loads(p.read_text()) for p in per_model.glob("*.json")})
    curve_runs = json.loads(curve_path.read_text()) if curve_path.exists() else {}
    ordered = [rows[m] for m in MODELS if m in rows]
    json_path.write_text(json.dumps({"runs": ordered, "curves": curve_runs}, indent=1))
    (out / "binarized_mnist.md").write_text(render(ordered, curve_runs, machine()))
    print((out / "binarized_mnist.md").read_text())


if __name__ == "__main__":
    app.run(main)
