"""Likelihoods put to use on digits: outlier detection by every likelihood family, and
classification by Bayes' rule with class-conditional models.

    python -m benchmarks.likelihood_uses [--models=realnvp,vae,...] [--render_only]
        [--workdir=runs/likelihood_uses] [--cpu_devices=2]

Each model of :data:`MODELS` is an ``experiments/configs`` config (with the listed
overrides), trained in ``--workdir/<model>`` unless a finished run is there already.
From its last checkpoint's EMA parameters, every image gets its NLL in nats (the family's
exact value or bound: :mod:`gensys.train.likelihood_scores`):

- Outliers: AUROC of telling the 297 test digits from 297 uniform-noise images, the test
  digits inverted, the test digits shifted two pixels, and 1,000 MNIST test digits made
  into 8x8 digits as scikit-learn's were made from NIST's (32x32 bitmaps counted in 4x4
  blocks: :func:`digits_from_mnist`; read from the project's ``../shared/data/mnist``,
  skipped without it). Three scores: ``log p(x)``; typicality (Nalisnick et al. 2019,
  against 297 training digits); and the likelihood ratio to a background model (Ren et
  al. 2019): an FVSBN trained on the training digits with 20 % of pixels replaced by
  uniform levels, the same background for every family.
- Bayes: accuracy of ``argmax_y log p(x | y)`` (uniform prior) on the test digits for the
  class-conditional models, beside the digits MLP classifier of
  :mod:`gensys.eval.digits_classifier`.

Results: ``benchmarks/results/likelihood_uses.{json,md}``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from absl import app, flags, logging

from benchmarks.common import (
    SHARED_DATA,
    ended,
    experiment_config,
    machine,
    start_runtime,
    typed,
)


@dataclasses.dataclass(frozen=True)
class Model:
    config: str
    overrides: tuple[str, ...] = ()
    label: str = ""  # what the table calls it
    conditional: bool = False  # class-conditional: scored by Bayes' rule, not for outliers
    metric: str = "nll_nats"


MODELS = {
    "realnvp": Model("realnvp_digits", label="RealNVP (uniform dequantization)"),
    "realnvp_variational": Model(
        "realnvp_digits",
        ("model.dequantization=variational",),
        label="RealNVP (variational dequantization)",
    ),
    "glow": Model("glow_digits", label="Glow"),
    "maf": Model("maf_digits", label="MAF"),
    "nsf": Model("nsf_digits", label="autoregressive spline flow"),
    "vae": Model("vae_digits", ("model.iwae_samples=256",), label="VAE (IWAE, K = 256)"),
    "fvsbn": Model("fvsbn_digits", label="FVSBN"),
    "nade": Model("nade_digits", label="NADE"),
    "made": Model("made_digits", label="MADE"),
    "made_logistic": Model(
        "made_digits",
        ("model.conditional=logistic_mixture",),
        label="MADE, logistic mixture (5)",
    ),
    "pixelcnn": Model("pixelcnn_digits", label="PixelCNN"),
    "pixelcnn_logistic": Model(
        "pixelcnn_digits",
        ("model.conditional=logistic_mixture",),
        label="PixelCNN, logistic mixture (5)",
    ),
    "gated_pixelcnn": Model("gated_pixelcnn_digits", label="gated PixelCNN"),
    "pixelrnn": Model("pixelrnn_digits", label="PixelRNN"),
    "pixel_transformer": Model("pixel_transformer_digits", label="pixel Transformer"),
    "ddpm": Model("ddpm_digits", ("model.eval_bpd=True",), label="DDPM (variational bound)"),
    "flow_matching": Model(
        "flow_matching_digits",
        ("model.eval_ode_steps=32", "model.eval_ode_divergence=hutchinson"),
        label="flow matching (ODE, 32 Heun steps, Hutchinson)",
    ),
    # Class-conditional: Bayes' rule.
    "cvae": Model(
        "cvae_digits",
        ("model.iwae_samples=64",),
        "conditional VAE (IWAE, K = 64)",
        conditional=True,
    ),  # fmt: skip
    "gated_pixelcnn_conditional": Model(
        "gated_pixelcnn_digits",
        ("model.class_conditional=True",),
        label="conditional gated PixelCNN",
        conditional=True,
    ),
    "realnvp_conditional": Model(
        "realnvp_digits", ("model.class_conditional=True",), "conditional RealNVP", True
    ),
    "maf_conditional": Model(
        "maf_digits", ("model.class_conditional=True",), "conditional MAF", True
    ),
    "nsf_conditional": Model(
        "nsf_digits", ("model.class_conditional=True",), "conditional spline flow", True
    ),
}
KINDS = ("noise", "inverted", "shifted", "mnist")
SCORES = ("likelihood", "typicality", "likelihood_ratio")
BACKGROUND_RATE = 0.2
BACKGROUND_STEPS = 2000

_MODELS = flags.DEFINE_list("models", list(MODELS), "Models to train (or reuse) and score.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/likelihood_uses", "Where the runs are trained.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Rewrite the table from the JSON.")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 2, "XLA host devices on CPU.")
_MNIST_EXAMPLES = flags.DEFINE_integer("mnist_examples", 1000, "MNIST test digits scored.")


def digits_from_mnist(images: np.ndarray) -> np.ndarray:
    """MNIST digits ``[N, 28, 28, 1]`` (0..255) as scikit-learn's 8x8 digits were made
    from NIST's: a 32x32 bitmap (padded by 2, thresholded at 128) whose on pixels are
    counted in 4x4 blocks, levels 0..16."""
    bits = np.pad(np.asarray(images)[..., 0] >= 128, ((0, 0), (2, 2), (2, 2)))
    counts = bits.reshape(-1, 8, 4, 8, 4).sum(axis=(2, 4))
    return counts[..., None].astype(np.int32)


def trained(name: str, model: Model, workdir: Path):
    """``(config, state, engine, train_seconds)`` of the model's finished run, training it
    first unless ``workdir`` holds one."""
    from gensys.recipes import recipe_for
    from gensys.train import loop

    config = typed(experiment_config(model.config, overrides=model.overrides))
    seconds = None
    if not ended(workdir):
        start = time.perf_counter()
        result = loop.train(config, workdir, recipe_for(config))
        if result.interrupted:
            raise SystemExit(f"{name}: interrupted before the end of training")
        seconds = time.perf_counter() - start
    _, state, engine = loop.load_latest(config, workdir, recipe_for(config))
    return config, state, engine, seconds


def background_fvsbn(train_images: np.ndarray, cache: Path):
    """NLL function of an FVSBN trained on perturbed training digits (cached per image set
    under ``cache``)."""
    import jax

    from gensys.data.datasets import get_spec
    from gensys.eval.outliers import perturbed
    from gensys.recipes.registry import build_recipe
    from gensys.train import sharding
    from gensys.train.engine import Engine
    from gensys.train.likelihood_scores import image_batches, image_nll

    raw = experiment_config("fvsbn_digits")
    recipe = build_recipe("autoregressive", dict(raw.model), get_spec("digits"))
    engine = Engine(recipe, sharding.make_mesh())
    noisy = perturbed(train_images, 17, BACKGROUND_RATE, seed=0)
    batches = list(image_batches(noisy, 17, recipe.representation, raw.data.batch_size))
    state = engine.init(jax.random.key(0), sharding.shard_batch(batches[0], engine.mesh))
    for i in range(BACKGROUND_STEPS):
        batch = sharding.shard_batch(batches[i % len(batches)], engine.mesh)
        state, _ = engine.train_step(state, batch, jax.random.key(i))

    def nll(images: np.ndarray) -> np.ndarray:
        return image_nll(engine, state, images, jax.random.key(0), num_levels=17)

    return nll


def main(argv):
    del argv
    start_runtime(_CPU_DEVICES.value)
    import jax

    from gensys.data.datasets import load_split
    from gensys.eval.digits_classifier import train_digits_classifier
    from gensys.eval.outliers import outlier_sets
    from gensys.train.likelihood_scores import (
        bayes_classify,
        class_log_likelihoods,
        image_nll,
        outlier_aurocs,
    )

    out = Path(_OUT.value)
    results_path = out / "likelihood_uses.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault("models", {})
    if not _RENDER_ONLY.value:
        train = load_split("digits", "train")
        test = load_split("digits", "test")
        sets = outlier_sets(test.images, 17, seed=0)
        mnist_dir = SHARED_DATA / "mnist"
        if mnist_dir.is_dir():
            mnist = load_split("mnist_idx", "test", data_dir=mnist_dir)
            sets["mnist"] = digits_from_mnist(mnist.images[: _MNIST_EXAMPLES.value])
        typical = train.images[: len(test.images)]
        background = background_fvsbn(train.images, Path(_WORKDIR.value))
        background_nll = {kind: background(images) for kind, images in sets.items()}
        background_test = background(test.images)
        results["background"] = {
            "test_nll_nats": float(np.mean(background_test)),
            "rate": BACKGROUND_RATE,
            "steps": BACKGROUND_STEPS,
        }
        classifier = train_digits_classifier(train, test)
        results["classifier_accuracy"] = float(classifier.test_accuracy)
        results["machine"] = machine()
        results["cpu_devices"] = _CPU_DEVICES.value
        for name in _MODELS.value:
            model = MODELS[name]
            config, state, engine, seconds = trained(name, model, Path(_WORKDIR.value) / name)
            key = jax.random.key(1)
            row = {"label": model.label, "config": model.config, "overrides": model.overrides}
            if seconds is not None:
                row["train_seconds"] = seconds
            tick = time.perf_counter()
            if model.conditional:
                log_lik = class_log_likelihoods(engine, state, test.images, key, num_levels=17,
                                                num_classes=10, metric=model.metric)  # fmt: skip
                predictions, _ = bayes_classify(log_lik)
                row["accuracy"] = float(np.mean(predictions == test.labels))
                true = log_lik[np.arange(len(test.labels)), test.labels]
                row["test_nll_given_label"] = float(-np.mean(true))
            else:

                def nll(images, engine=engine, state=state, key=key, metric=model.metric):
                    return image_nll(engine, state, images, key, num_levels=17, metric=metric)

                inliers = nll(test.images)
                outliers = {kind: nll(images) for kind, images in sets.items()}
                row["test_nll_nats"] = float(np.mean(inliers))
                row["aurocs"] = outlier_aurocs(
                    inliers,
                    outliers,
                    nll(typical),
                    inlier_background_nll=background_test,
                    outlier_background_nll=background_nll,
                )
            row["score_seconds"] = time.perf_counter() - tick
            logging.info("%s: %s", name, row)
            results["models"][name] = row
            out.mkdir(parents=True, exist_ok=True)
            results_path.write_text(json.dumps(results, indent=1))
    table = render(results)
    (out / "likelihood_uses.md").write_text(table)
    print(table)


def render(results: dict) -> str:
    models = results.get("models", {})
    plain = {k: r for k, r in models.items() if "aurocs" in r}
    conditional = {k: r for k, r in models.items() if "accuracy" in r}
    kinds = [k for k in KINDS if any(k in r["aurocs"] for r in plain.values())]
    background = results.get("background", {})
    lines = [
        "# Likelihoods put to use on digits: outlier detection and Bayes classification",
        "",
        f"`python -m benchmarks.likelihood_uses` on {results.get('machine', '?')} "
        f"({results.get('cpu_devices', 2)} host device(s)); every "
        "model trained by its digits config (overrides in the row; `(reused)`: a finished "
        "run of that config found in the workdir), scored from its last "
        "checkpoint's EMA parameters. NLL: each family's exact value or upper bound in nats "
        "(its likelihood accounting).",
        "",
        "## Outliers: AUROC of telling the 297 test digits from each set",
        "",
        "Sets: `noise` (uniform levels), `inverted` (16 - x), `shifted` (2 pixels right and "
        "down), `mnist` (MNIST test digits made 8x8 the way scikit-learn's digits were). "
        "Scores: `log p` the likelihood; `typ.` typicality (Nalisnick et al. 2019); `LR` the "
        "likelihood ratio to a background FVSBN trained on the training digits with "
        f"{background.get('rate', BACKGROUND_RATE):.0%} of pixels replaced by uniform levels "
        f"(Ren et al. 2019; its test NLL {background.get('test_nll_nats', float('nan')):.2f} "
        "nats). 1 is perfect, 0.5 chance, below 0.5 the score prefers the outliers.",
        "",
        "| model | test NLL (nats) | "
        + " | ".join(f"{k}: log p / typ. / LR" for k in kinds)
        + " | train s | score s |",
        "|---|---|" + "---|" * len(kinds) + "---|---|",
    ]
    for r in plain.values():
        cells = []
        for kind in kinds:
            a = r["aurocs"].get(kind)
            cells.append(" / ".join(f"{a[s]:.3f}" for s in SCORES) if a else "-")
        train_s = f"{r['train_seconds']:.0f}" if "train_seconds" in r else "(reused)"
        lines.append(
            f"| {r['label']} | {r['test_nll_nats']:.2f} | " + " | ".join(cells)
            + f" | {train_s} | {r['score_seconds']:.0f} |"
        )  # fmt: skip
    lines += [
        "",
        "## Bayes' rule: classifying the 297 test digits with class-conditional models",
        "",
        "`argmax_y log p(x | y)` with a uniform prior; the NLL given the true label beside.",
        "",
        "| model | accuracy | test NLL given the label (nats) | train s | score s |",
        "|---|---|---|---|---|",
    ]
    for r in conditional.values():
        train_s = f"{r['train_seconds']:.0f}" if "train_seconds" in r else "(reused)"
        lines.append(
            f"| {r['label']} | {r['accuracy']:.3f} | {r['test_nll_given_label']:.2f} | "
            f"{train_s} | {r['score_seconds']:.0f} |"
        )
    if "classifier_accuracy" in results:
        lines.append(
            f"| digits MLP classifier (discriminative; gensys.eval.digits_classifier) | "
            f"{results['classifier_accuracy']:.3f} | - | - | - |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
