"""Sample quality of the digits GANs: DCGAN, cGAN, LSGAN and WGAN-GP side by side.

    python -m benchmarks.gan_digits [--configs=dcgan_digits,cgan_digits,...]

Trains each config in ``experiments/configs`` (``runs/<config>``; a finished run
is reused), draws ``--num_samples`` samples of the EMA generator, shrinks them
from 32x32 back to the digits' 8x8 (antialiased linear resize) and scores them
with the digits FD of :mod:`benchmarks.diffusion_samplers` (the Frechet distance
of a digits MLP classifier's 64-d hidden features against the 1,500 training
digits; not FID). The real-vs-real floor is the 297 held-out test digits' FD,
and 297-sample FDs of each model are given beside it. For the conditional GAN
the classifier's agreement with the requested labels is reported as well.
Results: ``benchmarks/results/gan_digits.{json,md}`` and a grid per config.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from absl import app, flags, logging

_CONFIGS = flags.DEFINE_list(
    "configs", ["dcgan_digits", "cgan_digits", "lsgan_digits", "wgangp_digits"], ""
)
_NUM = flags.DEFINE_integer("num_samples", 1000, "Samples scored per config.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and grids go.")


def main(argv):
    del argv
    from gensys.train import runtime

    runtime.enable_compilation_cache()
    runtime.quiet_library_logs()
    runtime.set_cpu_devices(2)

    import importlib

    import jax
    import jax.numpy as jnp
    import numpy as np

    from gensys.data.datasets import load_split
    from gensys.eval.digits_classifier import as_float_images, train_digits_classifier
    from gensys.eval.frechet import frechet_distance, gaussian_statistics
    from gensys.eval.grids import save_grid
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig, from_mapping

    out = Path(_OUT.value)
    (out / "gan_digits").mkdir(parents=True, exist_ok=True)
    train, test = load_split("digits", "train"), load_split("digits", "test")
    classifier = train_digits_classifier(train, test)
    reference = gaussian_statistics(classifier.features(as_float_images(train)))
    test_images = as_float_images(test)

    def fd(images: np.ndarray) -> float:
        return frechet_distance(*gaussian_statistics(classifier.features(images)), *reference)

    floor = fd(test_images)
    logging.info("classifier accuracy %.4f; FD(test) = %.2f", classifier.test_accuracy, floor)

    results = []
    for name in _CONFIGS.value:
        config = from_mapping(
            ExperimentConfig, importlib.import_module(f"experiments.configs.{name}").get_config()
        )
        workdir = Path("runs") / name
        start = time.perf_counter()
        if loop.train(config, workdir).interrupted:
            raise SystemExit("interrupted (SIGTERM): the checkpoint is saved; run again to resume")
        train_seconds = time.perf_counter() - start
        _, state, engine = loop.load_latest(config, workdir)
        samples = engine.sample(state, jax.random.key(1234), _NUM.value)
        small = np.asarray(
            jax.image.resize(jnp.asarray(samples), (len(samples), 8, 8, 1), "linear")
        )
        save_grid(samples[:100], out / "gan_digits" / f"{name}.png", columns=10)
        subsets = [fd(small[i : i + len(test_images)]) for i in range(0, 3 * 297, 297)]
        row = {
            "config": name,
            "fd": fd(small),
            "fd_297": [round(v, 3) for v in subsets],
            "train_seconds_this_call": round(train_seconds, 1),
        }
        if config.model.get("class_conditional"):
            requested = np.arange(len(small)) % 10
            row["label_agreement"] = float(np.mean(classifier.predict(small) == requested))
        records = (workdir / "metrics.jsonl").read_text().splitlines()
        metrics = [json.loads(line) for line in records]
        speeds = [m["train/steps_per_sec"] for m in metrics if "train/steps_per_sec" in m][1:]
        row["median_steps_per_sec"] = float(np.median(speeds)) if speeds else None
        row["steps"] = max(m["step"] for m in metrics)
        results.append(row)
        logging.info("%s", row)

    lines = [
        "| config | steps | digits FD (1,000 samples) | FD at 297 samples (3 draws) "
        "| label agreement | steps/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        agreement = f"{r['label_agreement']:.3f}" if "label_agreement" in r else ""
        lines.append(
            f"| {r['config']} | {r['steps']} | {r['fd']:.2f} | "
            f"{' / '.join(f'{v:.2f}' for v in r['fd_297'])} | {agreement} | "
            f"{r['median_steps_per_sec']:.1f} |"
        )
    lines.append(f"| real test digits (297) | | | {floor:.2f} | {classifier.test_accuracy:.3f} | |")
    machine = f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}"
    header = (
        f"# Digits GANs: sample quality\n\n`python -m benchmarks.gan_digits "
        f"--configs={','.join(_CONFIGS.value)}` on {machine} ({jax.device_count()} devices). "
        f"Digits FD: Frechet distance of a digits classifier's hidden features against the "
        f"training digits (lower is better; not FID). Samples are shrunk from 32x32 to 8x8.\n\n"
    )
    (out / "gan_digits.md").write_text(header + "\n".join(lines) + "\n")
    (out / "gan_digits.json").write_text(
        json.dumps({"real_test_fd": floor, "results": results}, indent=1)
    )
    print(header + "\n".join(lines))


if __name__ == "__main__":
    app.run(main)
