"""Every family side by side on one dataset, under one wall-time budget: the comparison report.

    python -m benchmarks.compare --dataset=digits [--budget_seconds=180] [--configs=...]

For each ``experiments/configs/<name>.py`` of the dataset (:data:`DEFAULT_CONFIGS`) it
trains from scratch for the config's own steps or ``--budget_seconds`` of wall time,
whichever ends first (``train.max_seconds``; ``--reuse`` loads an earlier run of the same
workdir instead), and then measures, the same way for every family:

- the likelihood the family defines, on the held-out split, in nats per image and bits
  per dimension of the data's own levels (:mod:`gensys.eval.likelihood` says what each
  figure is: exact, or which bound);
- ``--num_samples`` samples (default: as many as held-out images, so the real-vs-real
  floor is at the same count) drawn in jitted chunks of 100; samples per second from
  the chunks after the first (which compiles);
- sample quality against the training images (:mod:`gensys.eval.sample_quality`):
  Frechet distance, KID, the Inception Score analogue, precision and recall, on the
  hidden features of gensys's own digit classifier (:mod:`gensys.eval.feature_nets`;
  created on first use) or, for the 2-D toys, on the points themselves;
- parameters (the generator's alone for GANs) and training time.

Writes ``<out>/compare_<dataset>.{md,json}`` and pictures in ``<out>/compare_<dataset>/``:
a sample grid per config (toys: a sample density picture), the real held-out images,
and the training curves of every run.
"""

from __future__ import annotations

import time
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import (
    copy_final_pictures,
    experiment_config,
    load_runs,
    machine,
    overrides_of,
    run_key,
    save_runs,
    start_runtime,
    train_from_scratch,
)

DEFAULT_CONFIGS = {
    "digits": [
        "vae_digits", "ddpm_digits", "dcgan_digits", "wgangp_digits", "realnvp_digits",
        "glow_digits", "nade_digits", "pixelcnn_digits", "gated_pixelcnn_digits",
        "pixel_transformer_digits",
    ],
    "gaussians8": ["realnvp_gaussians8", "wgangp_gaussians8"],
}  # fmt: skip
# Fields every comparison run sets beyond the budget: DDPM's bound is off by default
# (it costs T network calls per image).
COMPARISON_OVERRIDES = {"ddpm_digits": ["model.eval_bpd=True"]}
CHUNK = 100

_DATASET = flags.DEFINE_enum("dataset", "digits", sorted(DEFAULT_CONFIGS), "Dataset to compare on.")
_CONFIGS = flags.DEFINE_list("configs", None, "Configs (default: every one of the dataset).")
_BUDGET = flags.DEFINE_float("budget_seconds", 180.0, "Training wall-time budget per config.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 0, "Samples scored (0: held-out count).")
_OVERRIDES = flags.DEFINE_list("override", [], "config:key=value field overrides.")
_REUSE = flags.DEFINE_bool("reuse", False, "Load a run already in --workdir instead of training.")
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Rewrite the report from its JSON.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/compare", "Where the runs are trained.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the report goes.")


def count_parameters(model_state) -> dict[str, int]:
    """Parameters of the sampling network (GANs: generator, and the critic apart)."""
    import jax

    def size(tree):
        return int(sum(x.size for x in jax.tree.leaves(tree)))

    if hasattr(model_state, "players"):
        players = model_state.players
        return {"params": size(players.generator["params"]),
                "critic_params": size(players.discriminator["params"])}  # fmt: skip
    return {"params": size(model_state.params)}


def draw_samples(engine, state, num: int) -> tuple:
    """``num`` samples in chunks of :data:`CHUNK` (one compiled shape), the seconds of the
    first chunk (compiles) and the samples per second of the others."""
    import jax
    import numpy as np

    key, chunks, times = jax.random.key(1), [], []
    for i in range(-(-num // CHUNK) + (1 if num <= CHUNK else 0)):
        tick = time.perf_counter()
        chunks.append(engine.sample(state, jax.random.fold_in(key, i), CHUNK))
        times.append(time.perf_counter() - tick)
    steady = CHUNK * (len(times) - 1) / sum(times[1:])
    return np.concatenate(chunks)[:num], times[0], steady


def training_curves(workdir: Path) -> dict[str, list]:
    """The run's logged ``train/*`` losses by step, from ``metrics.jsonl``."""
    from gensys.train.metric_writers import read_metrics

    curves: dict[str, list] = {}
    for record in read_metrics(workdir):
        for name in ("train/bpd", "train/loss", "train/g_loss", "train/d_loss"):
            if name in record:
                curves.setdefault(name, []).append((record["step"], record[name]))
    if "train/bpd" in curves:  # the likelihood families' loss is that, per dimension
        curves.pop("train/loss", None)
    if "train/g_loss" in curves:  # a GAN logs its D loss twice
        curves.pop("train/loss", None)
    return curves


def main(argv):
    del argv
    start_runtime(2)

    import jax

    from benchmarks.compare_report import render, save_curves, save_pictures
    from gensys.data.batches import to_model_input
    from gensys.data.datasets import load_split
    from gensys.eval.feature_nets import load_feature_net
    from gensys.eval.likelihood import accounting_of
    from gensys.eval.sample_quality import PointFeatures, ReferenceSet
    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    dataset = _DATASET.value
    out = Path(_OUT.value)
    pictures = out / f"compare_{dataset}"
    pictures.mkdir(parents=True, exist_ok=True)
    results_path = out / f"compare_{dataset}.json"
    runs = load_runs(results_path)
    configs = _CONFIGS.value or DEFAULT_CONFIGS[dataset]

    first = experiment_config(configs[0])
    train_split = load_split(first.data.name, first.data.split)
    held_out = load_split(first.data.name, first.eval.split)
    spec = train_split.spec
    as_float = lambda split: to_model_input(split.images, spec.num_levels, "float")  # noqa: E731
    if spec.num_levels:
        extractor = load_feature_net(dataset, create=True)
        feature_note = (f"hidden features (64) of gensys's `{dataset}` classifier, test accuracy "
                        f"{extractor.test_accuracy:.4f}")  # fmt: skip
    else:
        extractor, feature_note = PointFeatures(), "the 2-D points themselves"
    reference = ReferenceSet(extractor, as_float(train_split))
    num = _NUM_SAMPLES.value or len(held_out)
    floor = reference.score(as_float(held_out)[:num], key=jax.random.key(0)).as_dict()
    real = as_float(held_out)[: 100 if spec.num_levels else num]
    save_pictures(real, spec, pictures / "real_held_out.png")

    for name in [] if _RENDER_ONLY.value else configs:
        overrides = [*COMPARISON_OVERRIDES.get(name, []), *overrides_of(name, _OVERRIDES.value),
                     f"train.max_seconds={_BUDGET.value}"]  # fmt: skip
        workdir = Path(_WORKDIR.value) / dataset / name
        if _REUSE.value and (workdir / "checkpoints").exists():
            raw = experiment_config(name, overrides=overrides)
            config = from_mapping(ExperimentConfig, raw)
            previous = runs.get(run_key({"config": name, "overrides": overrides}), {})
            seconds = previous.get("train_seconds", float("nan"))
            last_metrics = loop.evaluate(config, workdir, recipe_for(config))
        else:
            config, result, seconds = train_from_scratch(name, workdir, overrides=overrides)
            last_metrics = result.last_metrics
        step, state, engine = loop.load_latest(config, workdir, recipe_for(config))
        samples, compile_seconds, per_second = draw_samples(engine, state, num)
        scores = reference.score(samples, key=jax.random.key(0)).as_dict()
        family = config.family
        autoencoder = bool(config.model.get("autoencoder", False))
        run = {
            "config": name, "overrides": overrides, "family": family, "steps": step,
            "num_steps": config.train.num_steps, "batch_size": config.data.batch_size,
            "train_seconds": seconds, **count_parameters(state.model),
            "nll_nats": last_metrics.get("eval/nll_nats"), "bpd": last_metrics.get("eval/bpd"),
            "accounting": accounting_of(family, autoencoder, continuous=not spec.num_levels)
            + (f"; K = {config.model['iwae_samples']}" if family == "vae" else ""),
            "sample_compile_seconds": compile_seconds, "samples_per_second": per_second,
            **scores, "curves": training_curves(workdir),
        }  # fmt: skip
        runs[run_key(run)] = run
        logging.info("%s", {k: v for k, v in run.items() if k != "curves"})
        save_pictures(
            samples[:100] if spec.num_levels else samples, spec, pictures / f"{name}_samples.png"
        )
        copy_final_pictures(workdir, step, pictures, name)
        save_runs(results_path, runs)

    order = {c: i for i, c in enumerate(DEFAULT_CONFIGS[dataset])}
    ordered = sorted(runs.values(), key=lambda r: (order.get(r["config"], len(order)), r["config"]))
    save_curves(ordered, pictures / "training_curves.png")
    header = {
        "dataset": dataset, "train": f"{train_split.split} ({len(train_split):,})",
        "held_out": f"{held_out.split} ({len(held_out):,})", "num_samples": num,
        "budget_seconds": _BUDGET.value, "features": feature_note, "machine": machine(),
    }  # fmt: skip
    report = render(ordered, floor, header)
    (out / f"compare_{dataset}.md").write_text(report)
    print(report)


if __name__ == "__main__":
    app.run(main)
