"""Text-to-image (GAN-INT-CLS) and StackGAN on the digits, scored against the 297 test digits.

    python -m benchmarks.text_to_image_digits [--configs=text2image_digits,stackgan_digits]
                                             [--steps=N] [--overrides=k=v,...] [--reuse]

Each config is trained from scratch in ``runs/<config>`` (``--reuse`` scores the runs
already there). Every test digit is captioned as in training (``gensys.data.captions``:
its label, measured thickness and slant) and one image is generated per caption, in each
of the three caption templates, with fresh noise. Scores:

- ``class agreement``: the stored digits classifier (``gensys.eval.feature_nets``,
  99.66 % test accuracy) names the requested digit; beside it, the classifier on the test
  digits themselves (its ceiling here) and chance (0.1);
- ``thickness`` / ``slant agreement``: the generated image measures as its caption says;
  chance is the agreement of the test digits with the captions of a random permutation
  of the test digits (the attributes' own frequencies);
- ``response``: with digit and slant kept, "thin" against "thick" captions change the
  mean ink fraction by ``d_ink``; with digit and thickness kept, "backslanted" against
  "slanted" change the mean shear by ``d_shear``; beside the same differences between
  thin and thick (backslanted and slanted) test digits;
- sample quality of template 0's images against the test digits (classifier-feature FD,
  precision, recall; ``gensys.eval.sample_quality``), beside 297 training digits scored
  the same way. KID is in the JSON only: on these features and 297 images its estimate
  moves more between draws of real digits than between models.

Writes ``benchmarks/results/text_to_image_digits.{json,md}`` and, per config,
``captions.png`` (ten captions, eight noise draws each), ``interpolations.png`` (eight
steps between two captions' embeddings, one noise draw per row) and for StackGAN
``stages.png`` (stage I beside stage II).
"""

from __future__ import annotations

import json
from pathlib import Path

from absl import app, flags

from benchmarks.common import experiment_config, start_runtime, train_from_scratch
from benchmarks.text_to_image_report import write_report

_CONFIGS = flags.DEFINE_list("configs", ["text2image_digits", "stackgan_digits"], "Configs.")
_STEPS = flags.DEFINE_integer("steps", None, "train.num_steps for every config (default: its own).")
_OVERRIDES = flags.DEFINE_list(
    "overrides", [], "key=value config overrides for every config, e.g. model.width=64."
)
_REUSE = flags.DEFINE_bool("reuse", False, "Score the runs in runs/<config> without training.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and grids go.")

# (thickness, slant) of the ten caption-grid rows, digit i in row i.
GRID_ATTRIBUTES = [(2, 2), (0, 1), (2, 0), (0, 2), (1, 1), (2, 1), (0, 0), (2, 2), (0, 1), (1, 0)]
# Caption pairs of the interpolation rows, as (thickness, slant, digit) triples.
INTERPOLATIONS = [
    ((0, 1, 1), (2, 1, 1)),
    ((1, 0, 7), (1, 2, 7)),
    ((2, 1, 2), (2, 1, 3)),
    ((0, 2, 0), (2, 0, 8)),
    ((1, 1, 4), (1, 1, 9)),
    ((2, 0, 6), (0, 2, 5)),
]


def main(argv):
    del argv
    start_runtime(2)

    from gensys.data.batches import to_model_input
    from gensys.data.datasets import load_split
    from gensys.eval.feature_nets import load_feature_net

    test = load_split("digits", "test")
    images = to_model_input(test.images, test.spec.num_levels, "float")
    train = load_split("digits", "train")
    train_images = to_model_input(train.images[: len(images)], train.spec.num_levels, "float")
    classifier = load_feature_net("digits", create=True)
    out_dir = Path(_OUT.value)
    rows = {}
    for name in _CONFIGS.value:
        workdir = Path("runs") / name
        if _REUSE.value:
            from gensys.train.config import ExperimentConfig
            from gensys.typed_config import from_mapping

            raw = experiment_config(name, num_steps=_STEPS.value, overrides=_OVERRIDES.value)
            config = from_mapping(ExperimentConfig, raw)
            seconds = None
        else:
            config, _, seconds = train_from_scratch(
                name, workdir, num_steps=_STEPS.value, overrides=_OVERRIDES.value
            )
        rows[name] = score(name, config, workdir, images, test.labels, classifier, out_dir)
        rows[name]["quality_real"] = real_quality(config, images, train_images, classifier)
        rows[name]["train_seconds"] = seconds
        print(name, json.dumps({k: v for k, v in rows[name].items() if k != "quality"}))
    write_report(rows, out_dir)


def score(name, config, workdir, images, labels, classifier, out_dir) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from gensys.data import captions
    from gensys.data.datasets import get_spec
    from gensys.eval.grids import save_captioned_rows
    from gensys.eval.sample_quality import ReferenceSet
    from gensys.recipes.stackgan import StackGANConfig, build_stackgan
    from gensys.recipes.text2image import TextToImageConfig, build_text2image
    from gensys.recipes.text_side import Captions, resized
    from gensys.train import loop
    from gensys.typed_config import from_mapping

    config_cls, build = {
        "text2image": (TextToImageConfig, build_text2image),
        "stackgan": (StackGANConfig, build_stackgan),
    }[config.family]
    model_config = from_mapping(config_cls, config.model)
    model = build(model_config, get_spec(config.data.name))
    step, loop_state, _ = loop.load_latest(config, workdir, model.recipe)
    state = loop_state.model
    x = np.asarray(resized(jnp.asarray(images), model_config.image_size))
    classes = np.asarray(captions.describe(jnp.asarray(x), jnp.asarray(labels)))
    stacked = config.family == "stackgan"

    def generate(classes, template, seed, z=None):
        text = Captions.in_template(jnp.asarray(classes), template)
        phi = model.text_side.embed(state.text_side, text)
        if z is None:
            z = jax.random.normal(jax.random.key(seed), (len(classes), model.latent_dim))
        out = model.generate(state, phi, z, jax.random.key(seed + 1000))
        return tuple(np.asarray(o) for o in out) if stacked else (np.asarray(out),)

    def agreement(generated, wanted):
        thickness, slant = (np.asarray(a) for a in captions.attribute_classes(generated))
        want_thickness, want_slant, digit = captions.class_parts(wanted)
        predicted = np.argmax(classifier.logits(generated), -1)
        return {
            "class": float(np.mean(predicted == digit)),
            "thickness": float(np.mean(thickness == want_thickness)),
            "slant": float(np.mean(slant == want_slant)),
        }

    outputs = {t: generate(classes, t, seed=t) for t in range(captions.NUM_TEMPLATES)}
    by_template = {t: agreement(outputs[t][-1], classes) for t in outputs}
    permuted = np.random.default_rng(0).permutation(len(classes))
    row = {
        "family": config.family,
        "steps": int(step),
        "by_template": by_template,
        "real": agreement(x, classes),
        "chance": agreement(x, classes[permuted]),
        "response": response(generate, classes, x),
        "quality": ReferenceSet(classifier, x)
        .score(outputs[0][-1], key=jax.random.key(1))
        .as_dict(),
    }
    if stacked:
        row["stage1"] = agreement(outputs[0][0], classes)
    pictures = out_dir / "text_to_image_digits" / name
    grid_classes = [captions.caption_class(t, s, d) for d, (t, s) in enumerate(GRID_ATTRIBUTES)]
    grid = generate(np.repeat(grid_classes, 8), 0, seed=7, z=_tiled_noise(8, 10, model.latent_dim))
    texts = [captions.caption_text(c) for c in grid_classes]
    save_captioned_rows(
        grid[-1].reshape(10, 8, *grid[-1].shape[1:]), texts, pictures / "captions.png"
    )
    if stacked:
        low, high = grid[0][::2], grid[1][::2]  # four draws a caption
        factor = high.shape[1] // low.shape[1]
        low = low.repeat(factor, 1).repeat(factor, 2)
        pairs = np.stack([low, high], 1).reshape(10, 8, *high.shape[1:])
        save_captioned_rows(pairs, [f"{t}: I, II" for t in texts], pictures / "stages.png")
    save_interpolations(model, state, pictures / "interpolations.png")
    return row


def real_quality(config, test_images, train_images, classifier) -> dict:
    """The sample-quality scores of as many training digits as there are test digits: what
    a perfect model would score, noise of the estimates included."""
    import jax
    import jax.numpy as jnp

    from gensys.eval.sample_quality import ReferenceSet
    from gensys.recipes.text_side import resized

    size = config.model["image_size"]
    test, train = (resized(jnp.asarray(x), size) for x in (test_images, train_images))
    return ReferenceSet(classifier, test).score(train, key=jax.random.key(1)).as_dict()


def _tiled_noise(draws: int, rows: int, dim: int):
    import jax
    import jax.numpy as jnp

    return jnp.tile(jax.random.normal(jax.random.key(11), (draws, dim)), (rows, 1))


def response(generate, classes, real) -> dict:
    """Mean ink (shear) of images generated for thick minus thin (slanted minus
    backslanted) captions of the test digits' classes, and the same between test digits."""
    import numpy as np

    from gensys.data import captions

    thickness, slant, digit = captions.class_parts(classes)
    ink_real, shear_real = (np.asarray(a) for a in captions.measure_attributes(real))

    def mean_of(which, forced):
        chosen = captions.caption_class(
            forced if which == "thickness" else thickness,
            forced if which == "slant" else slant,
            digit,
        )
        ink, shear = captions.measure_attributes(generate(chosen, 0, seed=20 + forced)[-1])
        return float(np.mean(ink if which == "thickness" else shear))

    return {
        "d_ink": mean_of("thickness", 2) - mean_of("thickness", 0),
        "d_ink_real": float(ink_real[thickness == 2].mean() - ink_real[thickness == 0].mean()),
        "d_shear": mean_of("slant", 2) - mean_of("slant", 0),
        "d_shear_real": float(shear_real[slant == 2].mean() - shear_real[slant == 0].mean()),
    }


def save_interpolations(model, state, path) -> None:
    import jax
    import jax.numpy as jnp

    from gensys.data import captions
    from gensys.eval.grids import save_captioned_rows
    from gensys.recipes.text_side import Captions

    steps = 8
    ends = [[captions.caption_class(*a), captions.caption_class(*b)] for a, b in INTERPOLATIONS]
    phi = model.text_side.embed(state.text_side, Captions.in_template(jnp.asarray(ends).ravel()))
    phi = phi.reshape(len(ends), 2, -1)
    t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
    between = ((1 - t) * phi[:, :1] + t * phi[:, 1:]).reshape(-1, phi.shape[-1])
    z = jnp.repeat(jax.random.normal(jax.random.key(5), (len(ends), model.latent_dim)), steps, 0)
    out = model.generate(state, between, z, jax.random.key(6))
    out = out[-1] if isinstance(out, tuple) else out
    texts = [f"{captions.caption_text(a)} -> {captions.caption_text(b)}" for a, b in ends]
    save_captioned_rows(out.reshape(len(ends), steps, *out.shape[1:]), texts, path)


if __name__ == "__main__":
    app.run(main)
