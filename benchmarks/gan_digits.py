"""Sample quality of the image GANs beside real held-out images, EMA and raw generator.

    python -m benchmarks.gan_digits [--configs=dcgan_digits,cgan_digits,...]
        [--steps=wgangp_digits=1000]
    python -m benchmarks.gan_digits --dataset=mnist \\
        --configs=dcgan_mnist,cgan_mnist,wgangp_mnist,sngan_mnist \\
        --override=train.max_seconds=3600,train.num_steps=100000 --cpu_devices=1
    python -m benchmarks.gan_digits --dataset=mnist --render_only

Trains each config of ``experiments/configs`` in ``<workdir>/<config>`` (``--steps`` sets a
config's ``train.num_steps``, ``--override`` any field of every config, e.g. a time budget
``train.max_seconds=3600``). A run that already ended (its end-of-run record is complete at
its last checkpoint) is scored as it is, not trained further, so runs can be trained
separately, e.g. two at a time pinned to one core each, with the same overrides given to
``python -m experiments.main``.

Each run's EMA generator (what ``sample`` draws) and raw generator each draw as many
samples as there are held-out real images, scored by the evaluation suite
(:mod:`gensys.eval.sample_quality`) under the dataset's feature network
(:mod:`gensys.eval.feature_nets`: a classifier trained on the training images, its 64-d
hidden features; samples are resized to the classifier's side and rounded to the data's
levels as real images are): Frechet distance (FD; not FID), KID, precision and recall
against the training images. The **floor** is the same scores of the held-out real images
(the 297 digits test images, or MNIST test[9000:]), what a perfect model gets at that
count. Conditional GANs also report how often the classifier names the requested label.

Each run's row is kept in ``<out>/gan_<dataset>/rows/<config>.json`` beside its sample
grids; the table ``<out>/gan_<dataset>.md`` (and ``.json``) is made from every row there,
so ``--render_only`` rebuilds it without training or scoring.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import ended, experiment_config, start_runtime

_CONFIGS = flags.DEFINE_list(
    "configs", ["dcgan_digits", "cgan_digits", "lsgan_digits", "wgangp_digits"], ""
)
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and grids go.")
_WORKDIR = flags.DEFINE_string("workdir", "runs", "Runs go to <workdir>/<config>.")
_DATASET = flags.DEFINE_enum("dataset", "digits", ["digits", "mnist"], "Which images.")
_STEPS = flags.DEFINE_list("steps", [], "config=num_steps overrides, e.g. wgangp_digits=1000.")
_MNIST_DIR = flags.DEFINE_string("mnist_dir", "../shared/data/mnist", "MNIST IDX files.")
_OVERRIDES = flags.DEFINE_list(
    "override", [], "key=value config overrides for every config, e.g. train.max_seconds=3600."
)
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 2, "XLA host devices on CPU.")
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Only rebuild the table from the rows.")

SCORES = ("frechet", "kid", "kid_std", "precision", "recall")


def score_run(name: str, reference, held_out_count: int, rows: Path, pictures: Path) -> dict:
    """Trains (or reuses) the run of config ``name`` and scores both of its generators."""
    import jax
    import numpy as np

    from gensys.eval.grids import save_grid
    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    steps = dict(item.split("=") for item in _STEPS.value)
    raw = experiment_config(name, num_steps=steps.get(name), overrides=_OVERRIDES.value)
    if raw.data.name == "mnist_idx":
        raw.data.dir = _MNIST_DIR.value
    raw.train.progress_bar = False
    config = from_mapping(ExperimentConfig, raw)
    workdir = Path(_WORKDIR.value) / name
    if not ended(workdir):
        if loop.train(config, workdir, recipe_for(config)).interrupted:
            raise SystemExit("interrupted (SIGTERM): the checkpoint is saved; run again to resume")
    step, state, engine = loop.load_latest(config, workdir, recipe_for(config))
    metrics = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    speeds = [m["train/steps_per_sec"] for m in metrics if "train/steps_per_sec" in m][1:]
    row = {
        "config": name, "steps": step, "overrides": list(_OVERRIDES.value),
        "num_steps": config.train.num_steps, "max_seconds": config.train.max_seconds,
        "median_steps_per_sec": float(np.median(speeds)) if speeds else None,
        "num_samples": held_out_count, "devices": jax.device_count(),
    }  # fmt: skip
    generators = {
        "ema": state,
        "raw": state.replace(
            model=state.model.replace(ema_generator=state.model.players.generator)
        ),
    }
    for which, generator_state in generators.items():
        samples = engine.sample(generator_state, jax.random.key(1234), held_out_count)
        quality = reference.score(
            samples, key=jax.random.key(7), kid_subset_size=min(1000, held_out_count)
        )
        row[which] = {score: float(getattr(quality, score)) for score in SCORES}
        if config.model.get("class_conditional"):
            requested = np.arange(len(samples)) % 10
            predicted = np.argmax(reference.extractor.logits(samples), axis=-1)
            row[which]["label_agreement"] = float(np.mean(predicted == requested))
        picture = pictures / f"{name}_{which}.png"
        save_grid(samples[:100], picture, columns=10)
        row[which]["picture"] = picture.name
    (rows / f"{name}.json").write_text(json.dumps(row, indent=1) + "\n")
    logging.info("%s", row)
    return row


def render(out: Path, dataset: str, floor: dict) -> str:
    """The table of every row in ``<out>/gan_<dataset>/rows`` beside the real floor."""
    rows_dir = out / f"gan_{dataset}" / "rows"
    rows = [json.loads(p.read_text()) for p in sorted(rows_dir.glob("*.json"))]
    lines = [
        "| config | generator | budget | steps | steps/s | FD | KID | precision | recall "
        "| FD / floor | label agreement |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speed = r["median_steps_per_sec"]
        budget = (
            f"{r['max_seconds'] / 60:.0f} min, {r['devices']} device(s)" if r["max_seconds"]
            else f"{r['num_steps']:,} steps, {r['devices']} device(s)"
        )  # fmt: skip
        for which in ("ema", "raw"):
            s = r[which]
            agreement = f"{s['label_agreement']:.3f}" if "label_agreement" in s else ""
            lines.append(
                f"| {r['config']} | {which} | {budget} | {r['steps']:,} | "
                f"{'' if speed is None else f'{speed:.2f}'} | {s['frechet']:.2f} | "
                f"{s['kid']:.2f} +- {s['kid_std']:.2f} | {s['precision']:.3f} | "
                f"{s['recall']:.3f} | {s['frechet'] / floor['frechet']:.2f} | {agreement} |"
            )
    lines.append(
        f"| real held-out images (the floor) | | | | | {floor['frechet']:.2f} | "
        f"{floor['kid']:.2f} +- {floor['kid_std']:.2f} | {floor['precision']:.3f} "
        f"| {floor['recall']:.3f} | 1.00 | {floor['accuracy']:.3f} (accuracy) |"
    )
    commands = sorted({json.dumps(r["overrides"]) for r in rows})
    settings = "; ".join(
        f"{', '.join(r['config'] for r in rows if json.dumps(r['overrides']) == c)}: "
        f"`--override={','.join(json.loads(c))}`"
        for c in commands
        if json.loads(c)
    )
    pictures = ", ".join(
        f"[{r['config']}](gan_{dataset}/{r['config']}_ema.png) "
        f"([raw](gan_{dataset}/{r['config']}_raw.png))"
        for r in rows
    )
    header = (
        f"# {dataset} GANs: sample quality\n\n"
        f"`python -m benchmarks.gan_digits --dataset={dataset} --configs=...` "
        f"({settings or 'no overrides'}), then `--render_only` for this table; "
        f"{floor['machine']}. Each generator draws {floor['num']:,} samples, as many as the "
        f"held-out real images, scored under the {dataset} feature network "
        f"(`gensys.eval.feature_nets`, test accuracy {floor['accuracy']:.3f}) against the "
        f"{floor['num_train']:,} training images: Frechet distance of its 64-d features (FD, "
        f"lower is better; not FID), KID, k-NN precision and recall (k = 3). The floor row "
        f"scores the held-out real images: what a perfect model gets at this count. "
        f"`ema` is the averaged generator that `sample` draws, `raw` the trained one. "
        f"budget: the run's time limit (`train.max_seconds`) or length, and its XLA devices; "
        f"runs of one device were pinned to one core (`taskset`), two at a time on the two "
        f"cores. steps/s: the run's median.\n\n"
    )
    footer = f"\nSamples (first 100 of each): {pictures}.\n"
    return header + "\n".join(lines) + "\n" + footer


def main(argv):
    del argv
    start_runtime(_CPU_DEVICES.value)

    import jax
    import numpy as np

    from gensys.data.datasets import load_split
    from gensys.eval.digits_classifier import as_float_images
    from gensys.eval.feature_nets import load_feature_net
    from gensys.eval.sample_quality import ReferenceSet

    out = Path(_OUT.value)
    dataset = _DATASET.value
    pictures = out / f"gan_{dataset}"
    rows = pictures / "rows"
    rows.mkdir(parents=True, exist_ok=True)
    floor_path = pictures / "floor.json"
    if not _RENDER_ONLY.value:
        data_dir = None if dataset == "digits" else _MNIST_DIR.value
        net = load_feature_net(dataset, create=True, data_dir=data_dir)
        source = {"digits": ("digits", "train", "test")}.get(
            dataset, ("mnist_idx", "test[:9000]", "test[9000:]")
        )
        train = load_split(source[0], source[1], data_dir=data_dir)
        held_out = load_split(source[0], source[2], data_dir=data_dir)
        # The feature net resizes and rounds every image alike; real ones go in as they are.
        reference = ReferenceSet(net, np.asarray(as_float_images(train)))
        n = len(held_out)
        quality = reference.score(
            np.asarray(as_float_images(held_out)), key=jax.random.key(7),
            kid_subset_size=min(1000, n),
        )  # fmt: skip
        floor = {score: float(getattr(quality, score)) for score in SCORES}
        floor.update(
            num=n, num_train=len(train), accuracy=net.test_accuracy,
            machine=f"{platform.processor() or platform.machine()}, jax {jax.__version__}",
        )  # fmt: skip
        floor_path.write_text(json.dumps(floor, indent=1) + "\n")
        for name in _CONFIGS.value:
            start = time.perf_counter()
            score_run(name, reference, n, rows, pictures)
            logging.info("%s: %.0f s", name, time.perf_counter() - start)
    floor = json.loads(floor_path.read_text())
    text = render(out, dataset, floor)
    (out / f"gan_{dataset}.md").write_text(text)
    table = {
        "floor": floor,
        "rows": [json.loads(p.read_text()) for p in sorted(rows.glob("*.json"))],
    }
    (out / f"gan_{dataset}.json").write_text(json.dumps(table, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    app.run(main)
