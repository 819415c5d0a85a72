"""Autoregressive models: exact NLL on digits and binarized MNIST beside the literature,
training wall time, sampling speed with and without caching, and log p(x) as an outlier
detector.

    python -m benchmarks.autoregressive [--configs=nade_digits,...] [--steps=cfg=N,...]
        [--override=cfg:model.hidden=32,...] [--render_only]

Trains each ``experiments/configs/<name>.py`` from scratch (in ``--workdir``) for its
configured steps or the ``--steps`` override, then reads the run's final evaluation
(``eval/nll_nats``, ``eval/bpd``: exact, on the config's eval split) and, from the EMA
parameters of the last checkpoint:

- sampling: seconds for ``--num_samples`` images with the jitted sampler, median of
  ``--sampling_calls`` calls after a compiling one, with the model's cache (FVSBN, NADE,
  Transformer) and by re-running the whole network per pixel (every model);
- outliers: AUROC of ``log p(x)`` ranking the first ``--outlier_examples`` eval images
  above noise, inverted and shifted copies of them (:mod:`gensys.eval.outliers`).

Results go to ``benchmarks/results/autoregressive.{json,md}``, pictures (samples and
completions) to ``benchmarks/results/autoregressive/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from absl import app, flags, logging

from benchmarks.common import (
    copy_final_pictures,
    load_runs,
    machine,
    median_seconds,
    overrides_of,
    picture_prefix,
    run_key,
    save_runs,
    start_runtime,
    train_from_scratch,
)

MODELS = ["fvsbn", "nade", "made", "pixelcnn", "gated_pixelcnn", "pixelrnn", "pixel_transformer"]
DEFAULT_CONFIGS = [f"{m}_digits" for m in MODELS] + [f"{m}_binarized_mnist" for m in MODELS]
# Published NLL (nats) on the binarized MNIST test split (../shared/ANCHORS.md; FVSBN's on
# a dynamic binarization).
LITERATURE = {
    "fvsbn": 96.58,
    "nade": 88.86,
    "made": 88.04,
    "pixelcnn": 81.30,
    "pixelrnn": 79.20,
}

_CONFIGS = flags.DEFINE_list("configs", DEFAULT_CONFIGS, "Configs to train and evaluate.")
_STEPS = flags.DEFINE_list("steps", [], "Step overrides as config=steps.")
_OVERRIDES = flags.DEFINE_list("override", [], "Field overrides of one config as config:key=value.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 16, "Images per timed sampler call.")
_SAMPLING_CALLS = flags.DEFINE_integer(
    "sampling_calls", 3, "Timed sampler calls (after a compiling one); the median is reported."
)
_OUTLIER_EXAMPLES = flags.DEFINE_integer(
    "outlier_examples", 1000, "Eval images (and as many of each outlier kind) scored."
)
_RECEPTIVE_FIELDS = flags.DEFINE_bool(
    "receptive_fields", False, "Only draw receptive_fields.png (untrained networks, no training)."
)
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Rewrite the table from the JSON only.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/autoregressive", "Where the runs are trained.")
_CPU_DEVICES = flags.DEFINE_integer(
    "cpu_devices", 2, "XLA host devices on CPU (1 when the run is pinned to one core)."
)
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and pictures go.")


def measure(name: str, overrides: list[str], steps: str | None) -> dict:
    import jax

    from gensys.data.batches import to_model_input
    from gensys.data.datasets import load_split
    from gensys.eval.outliers import auroc, outlier_sets
    from gensys.recipes import recipe_for
    from gensys.recipes.autoregressive import AutoregressiveConfig, model_of
    from gensys.train import loop
    from gensys.typed_config import from_mapping

    workdir = Path(_WORKDIR.value) / name
    config, result, seconds = train_from_scratch(
        name, workdir, num_steps=steps, overrides=overrides
    )
    _, state, _ = loop.load_latest(config, workdir, recipe_for(config))
    params = state.model.ema_params
    eval_data = load_split(
        config.data.name,
        config.eval.split,
        data_dir=config.data.dir,
        cache_dir=config.data.cache_dir,
    )
    model = model_of(from_mapping(AutoregressiveConfig, config.model), eval_data.spec)

    sampling = {}
    for cached in [True, False] if model.has_cache else [False]:
        draw = jax.jit(lambda key, cached=cached: model.sample(
            params, key, _NUM_SAMPLES.value, cached=cached))  # fmt: skip
        seconds_per_call = median_seconds(
            lambda i, draw=draw: draw(jax.random.key(i)), calls=_SAMPLING_CALLS.value
        )
        sampling["cached" if cached else "rerun"] = seconds_per_call

    log_prob = jax.jit(model.ensemble_log_prob)

    def scores(images):
        # Chunks of at most 100: all on one device, and a Transformer's [B, heads, D, D]
        # attention on 500 binarized-MNIST images at once took over 24 GiB here.
        chunks = np.array_split(images, max(1, -(-len(images) // 100)))
        return np.concatenate([np.asarray(log_prob(params, c)) for c in chunks])

    levels = eval_data.spec.num_levels
    inliers = to_model_input(eval_data.images[: _OUTLIER_EXAMPLES.value], levels, "levels")
    inlier_scores = scores(inliers)
    outliers = {
        kind: auroc(inlier_scores, scores(images))
        for kind, images in outlier_sets(inliers, levels).items()
    }
    m = result.last_metrics
    run = {
        "config": name,
        "architecture": config.model["architecture"],
        "dataset": config.data.name,
        "train_split": config.data.split,
        "eval_split": config.eval.split,
        "steps": result.step,
        "batch_size": config.data.batch_size,
        "parameters": int(sum(x.size for x in jax.tree.leaves(params))),
        "nll_nats": m["eval/nll_nats"],
        "bpd": m["eval/bpd"],
        "train_seconds": seconds,
        "num_samples": _NUM_SAMPLES.value,
        "max_seconds": config.train.max_seconds,
        "eval_examples": config.eval.max_examples,
        "sampling_seconds": sampling,
        "outlier_examples": len(inliers),
        "outlier_auroc": outliers,
        "overrides": overrides,
        "cpu_devices": _CPU_DEVICES.value,
    }
    pictures = Path(_OUT.value) / "autoregressive"
    copy_final_pictures(workdir, result.step, pictures, picture_prefix(name, overrides))
    return run


RECEPTIVE_MODELS = ["pixelcnn", "gated_pixelcnn", "pixelrnn", "pixel_transformer"]


def receptive_fields(path: Path, side: int = 15, layers: int = 8) -> None:
    """Which input pixels the centre pixel's logits depend on (a nonzero gradient), for
    each network of :data:`RECEPTIVE_MODELS` with ``layers`` layers of 3x3 kernels and
    random weights: white where it depends, red where an earlier pixel is never seen
    (the blind spot), blue the pixel itself, black the pixels after it."""
    import jax
    import jax.numpy as jnp

    from gensys.eval.grids import save_grid
    from gensys.nets.autoregressive import build_model

    centre = (side // 2) * side + side // 2
    pictures = []
    for i, architecture in enumerate(RECEPTIVE_MODELS):
        model = build_model(architecture, (side, side, 1), 2, hidden=8, num_layers=layers,
                            first_kernel_size=3, num_heads=2)  # fmt: skip
        x = jnp.zeros((1, side, side, 1), jnp.int32)
        params = model.init(jax.random.key(i), x)
        params = jax.tree.map(lambda p: p + 0.1 * jnp.ones_like(p), params)  # no exact zeros

        def centre_logits(onehot, model=model, params=params):
            return model.network.apply(params, onehot).reshape(-1, 2)[centre].sum()

        grad = jax.grad(centre_logits)(jax.nn.one_hot(x, 2))
        seen = np.asarray(jnp.abs(grad).sum(-1)).reshape(-1) > 0
        earlier = np.arange(side * side) < centre
        colours = np.zeros((side * side, 3), np.float32)  # after the pixel: black
        colours[earlier & seen] = (1.0, 1.0, 1.0)
        colours[earlier & ~seen] = (1.0, 0.0, 0.0)
        colours[centre] = (0.0, 0.3, 1.0)
        pictures.append(colours.reshape(side, side, 3) * 2.0 - 1.0)
    save_grid(np.stack(pictures), path, columns=len(pictures), min_size=480)


def main(argv):
    del argv
    start_runtime(_CPU_DEVICES.value)
    if _RECEPTIVE_FIELDS.value:
        picture = Path(_OUT.value) / "autoregressive" / "receptive_fields.png"
        receptive_fields(picture)
        print(f"wrote {picture}")
        return

    out = Path(_OUT.value)
    results_path = out / "autoregressive.json"
    runs = load_runs(results_path)
    steps = dict(item.split("=") for item in _STEPS.value)
    for name in [] if _RENDER_ONLY.value else _CONFIGS.value:
        overrides = overrides_of(name, _OVERRIDES.value)
        run = measure(name, overrides, steps.get(name))
        runs[run_key(run)] = run
        logging.info("%s", run)
        save_runs(results_path, runs)
    table = render(list(runs.values()), machine())
    (out / "autoregressive.md").write_text(table)
    print(table)


def _eval_cell(run: dict) -> str:
    limit = run.get("eval_examples")
    return run["eval_split"] + (f" (first {limit:,})" if limit else "")


def _sampling_cells(run: dict) -> str:
    s = run["sampling_seconds"]
    if "cached" not in s:
        return f"- | {s['rerun']:.3g} | -"
    return f"{s['cached']:.3g} | {s['rerun']:.3g} | {s['rerun'] / s['cached']:.0f}x"


def render(runs: list[dict], machine: str) -> str:
    lines = [
        "# Autoregressive models: exact NLL, sampling speed, outlier detection",
        "",
        f"`python -m benchmarks.autoregressive` on {machine} (2 host devices unless a row "
        "says otherwise); every run trained from scratch. NLL is exact (a categorical over "
        "the levels, no bound; `model.conditional` a discretized mixture's bins).",
        "",
    ]
    for dataset, title in [("digits", "scikit-learn digits (8x8, 17 levels), test split"),
                           ("binarized_mnist", "binarized MNIST (28x28, binary)"),
                           ("mnist_idx", "MNIST (28x28, 256 levels)")]:  # fmt: skip
        rows = [r for r in runs if r["dataset"] == dataset]
        if not rows:
            continue
        lines += [
            f"## {title}",
            "",
            "| config | steps | batch | eval split | NLL (nats) | bits/dim | literature (test) "
            "| params | train s | sample s cached | sample s re-run | speed-up "
            "| AUROC noise | inverted | shifted |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            literature = LITERATURE.get(r["architecture"]) if dataset == "binarized_mnist" else None
            devices = r.get("cpu_devices", 2)
            notes = [*r.get("overrides", []), *([f"{devices} host device"] if devices == 1 else [])]
            changed = f" ({', '.join(notes)})" if notes else ""
            a = r["outlier_auroc"]
            lines.append(
                f"| {r['config']}{changed} | {r['steps']} | {r['batch_size']} | "
                f"{_eval_cell(r)} | {r['nll_nats']:.2f} | {r['bpd']:.3f} | "
                f"{f'{literature:.2f}' if literature else '-'} | {r['parameters']:,} | "
                f"{r['train_seconds']:.0f} | {_sampling_cells(r)} | "
                f"{a['noise']:.3f} | {a['inverted']:.3f} | {a['shifted']:.3f} |"
            )
        lines.append("")
    lines += [
        "Sampling: seconds to draw the given number of images (digits and MNIST: "
        f"{runs[0]['num_samples'] if runs else '-'} a call), with the network's cache and by "
        "re-running it per pixel. AUROC: log p(x) ranking held-out images above noise, "
        "inverted and shifted (2 pixels right and down) copies of them; 0.5 is chance. "
        "Digits baselines (../shared/ANCHORS.md): uniform 181.33 nats, independent pixels "
        "106.33, autoregressive logistic regression 90.76. The binarized MNIST figures are "
        "on the validation split (the test split is not kept here) after short CPU budgets; "
        "the literature trained for far longer.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
