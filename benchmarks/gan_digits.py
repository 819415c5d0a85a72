"""Sample quality of the image GANs: DCGAN, cGAN, LSGAN and WGAN-GP side by side.

    python -m benchmarks.gan_digits [--configs=dcgan_digits,cgan_digits,...]
        [--steps=wgangp_digits=1000]
    python -m benchmarks.gan_digits --dataset=mnist --configs=dcgan_mnist,cgan_mnist

Trains each config in ``experiments/configs`` (``runs/<config>``; a finished run
is reused; ``--steps`` sets a config's ``train.num_steps``, ``--override`` any
field of every config, e.g. ``--override=model.width=32,data.batch_size=64``), draws
``--num_samples`` samples of the EMA generator and scores them with a
classifier-feature Frechet distance: the Frechet distance of the 64-d hidden
features of an MLP classifier trained on the real training images, resized to
the models' 32x32 as the recipe resizes them (:mod:`gensys.eval.digits_classifier`),
against those training images (lower is better; not FID). The real-vs-real
floor is the held-out images' FD (the 297 test digits, or MNIST test[9000:]),
and model FDs at that sample count are given beside it. For conditional GANs
the classifier's agreement with the requested labels is reported as well.
``--dataset=mnist`` reads ``../shared/data/mnist`` (train on test[:9000], hold
out test[9000:], as the MNIST configs do).
Results: ``benchmarks/results/gan_<dataset>.{json,md}`` and a grid per config.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import experiment_config, start_runtime

_CONFIGS = flags.DEFINE_list(
    "configs", ["dcgan_digits", "cgan_digits", "lsgan_digits", "wgangp_digits"], ""
)
_NUM = flags.DEFINE_integer("num_samples", 1000, "Samples scored per config.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and grids go.")
_DATASET = flags.DEFINE_enum("dataset", "digits", ["digits", "mnist"], "Which images.")
_STEPS = flags.DEFINE_list("steps", [], "config=num_steps overrides, e.g. wgangp_digits=1000.")
_MNIST_DIR = flags.DEFINE_string("mnist_dir", "../shared/data/mnist", "MNIST IDX files.")
_OVERRIDES = flags.DEFINE_list(
    "override", [], "key=value config overrides for every config, e.g. model.width=32."
)


def main(argv):
    del argv
    start_runtime(2)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from gensys.data.datasets import load_split
    from gensys.eval.digits_classifier import as_float_images, train_feature_classifier
    from gensys.eval.frechet import frechet_distance, gaussian_statistics
    from gensys.eval.grids import save_grid
    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    out = Path(_OUT.value)
    dataset = _DATASET.value
    (out / f"gan_{dataset}").mkdir(parents=True, exist_ok=True)
    if dataset == "digits":
        train, test = load_split("digits", "train"), load_split("digits", "test")
    else:
        train = load_split("mnist_idx", "test[:9000]", data_dir=_MNIST_DIR.value)
        test = load_split("mnist_idx", "test[9000:]", data_dir=_MNIST_DIR.value)
    steps = dict(item.split("=") for item in _STEPS.value)

    # The GANs model the images at 32x32, bilinearly resized as the recipe does; scoring
    # there avoids a lossy resize of the samples back to the data's side (the test
    # digits' FD went 7.56 -> 60.9 after up- and antialiased down-resizing).
    def at_32(split):
        images = jnp.asarray(as_float_images(split))
        return np.asarray(jax.image.resize(images, (len(images), 32, 32, 1), "bilinear"))

    train_images, test_images = at_32(train), at_32(test)
    classifier = train_feature_classifier(train_images, train.labels, test_images, test.labels)
    reference = gaussian_statistics(classifier.features(train_images))

    def fd(images: np.ndarray) -> float:
        return frechet_distance(*gaussian_statistics(classifier.features(images)), *reference)

    floor = fd(test_images)
    n = len(test_images)  # the held-out count: model FDs are also given at this size
    logging.info("classifier accuracy %.4f; FD(test) = %.2f", classifier.test_accuracy, floor)

    results = []
    for name in _CONFIGS.value:
        raw = experiment_config(name, num_steps=steps.get(name), overrides=_OVERRIDES.value)
        if raw.data.name == "mnist_idx":
            raw.data.dir = _MNIST_DIR.value
        config = from_mapping(ExperimentConfig, raw)
        workdir = Path("runs") / name
        start = time.perf_counter()
        if loop.train(config, workdir, recipe_for(config)).interrupted:
            raise SystemExit("interrupted (SIGTERM): the checkpoint is saved; run again to resume")
        train_seconds = time.perf_counter() - start
        _, state, engine = loop.load_latest(config, workdir, recipe_for(config))
        samples = engine.sample(state, jax.random.key(1234), _NUM.value)
        save_grid(samples[:100], out / f"gan_{dataset}" / f"{name}.png", columns=10)
        subsets = [fd(samples[i : i + n]) for i in range(0, min(3, len(samples) // n) * n, n)]
        row = {
            "config": name,
            "fd": fd(samples),
            "fd_subsets": [round(v, 3) for v in subsets],
            "train_seconds_this_call": round(train_seconds, 1),
        }
        if config.model.get("class_conditional"):
            requested = np.arange(len(samples)) % 10
            row["label_agreement"] = float(np.mean(classifier.predict(samples) == requested))
        records = (workdir / "metrics.jsonl").read_text().splitlines()
        metrics = [json.loads(line) for line in records]
        speeds = [m["train/steps_per_sec"] for m in metrics if "train/steps_per_sec" in m][1:]
        row["median_steps_per_sec"] = float(np.median(speeds)) if speeds else None
        row["steps"] = max(m["step"] for m in metrics)
        results.append(row)
        logging.info("%s", row)

    lines = [
        f"| config | steps | classifier FD ({_NUM.value:,} samples) | FD at {n:,} samples "
        "| label agreement | steps/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        agreement = f"{r['label_agreement']:.3f}" if "label_agreement" in r else ""
        speed = r["median_steps_per_sec"]
        lines.append(
            f"| {r['config']} | {r['steps']} | {r['fd']:.2f} | "
            f"{' / '.join(f'{v:.2f}' for v in r['fd_subsets'])} | {agreement} | "
            f"{'' if speed is None else f'{speed:.2f}'} |"
        )
    lines.append(
        f"| real held-out images ({n:,}) | | | {floor:.2f} | {classifier.test_accuracy:.3f} "
        "(accuracy) | |"
    )
    machine = f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}"
    step_flags = f" --steps={','.join(_STEPS.value)}" if _STEPS.value else ""
    step_flags += f" --override={','.join(_OVERRIDES.value)}" if _OVERRIDES.value else ""
    header = (
        f"# {dataset} GANs: sample quality\n\n`python -m benchmarks.gan_digits "
        f"--dataset={dataset} --configs={','.join(_CONFIGS.value)}{step_flags}` on {machine} "
        f"({jax.device_count()} devices). Classifier FD: Frechet distance of an MLP "
        f"classifier's 64-d hidden features against the {len(train.images):,} training images "
        f"(lower is better; not FID). Real images are resized to the models' 32x32.\n\n"
    )
    (out / f"gan_{dataset}.md").write_text(header + "\n".join(lines) + "\n")
    (out / f"gan_{dataset}.json").write_text(
        json.dumps({"real_heldout_fd": floor, "results": results}, indent=1)
    )
    print(header + "\n".join(lines))


if __name__ == "__main__":
    app.run(main)
