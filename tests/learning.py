"""Short training runs that show a model learns, shared by the learning tests and the mutant
tests (which apply a broken objective and assert these checks then fail).

Each ``<family>_quality(seed, steps)`` trains a tiny model of that family through its real
recipe and the engine's own step, and returns a quality figure measured independently of
the objective under test: for instance the diffusion check scores the model's noise
prediction and its samples itself, so a broken loss cannot also break the yardstick.
``steps=0`` gives the untrained model's figure. The thresholds, derived from these
functions over several seeds, are in ``tests/integration/test_learning.py``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gensys.data.batches import BatchIterator, make_batch
from gensys.data.datasets import get_spec, load_split
from gensys.recipes import build_recipe
from gensys.train import sharding
from gensys.train.engine import Engine

# The suite compiles with XLA:CPU's backend optimisations off (tests/conftest.py), since
# most tests run a step or two; these runs take hundreds of steps, which compiled with the
# optimisations run up to 2.3x faster (FVSBN's step at batch 100: 11.7 ms against 27.0 ms,
# `python -m benchmarks.compile_time`).
OPTIMIZED = {"xla_backend_optimization_level": 3, "xla_llvm_disable_expensive_passes": False}


@functools.cache
def split(name: str, which: str, cache_dir: str):
    return load_split(name, which, cache_dir=cache_dir)


def fit(recipe, data, *, steps: int, batch_size: int, seed: int, optimized: bool = True):
    """``steps`` training steps of ``recipe`` on ``data`` through the engine's own guarded,
    sharded step (no checkpoints, metrics files or evaluation), on one device: at these
    sizes splitting a batch over devices costs more than it saves; returns the recipe's
    state. ``optimized``: the step compiled with XLA's backend optimisations (:data:`OPTIMIZED`),
    for a model whose steps cost more than its compile."""
    mesh = sharding.make_mesh(jax.devices()[:1])
    engine = Engine(recipe, mesh, compiler_options=OPTIMIZED if optimized else None)
    iterator = BatchIterator(
        data, batch_size, seed=seed, representation=recipe.representation,
        drop_remainder=recipe.full_batches,
    )  # fmt: skip
    key = jax.random.key(seed)
    state = engine.init(jax.random.fold_in(key, 0), sharding.shard_batch(next(iterator), mesh))
    for i in range(steps):
        batch = sharding.shard_batch(next(iterator), mesh)
        state, _ = engine.train_step(state, batch, jax.random.fold_in(key, i + 1))
    return state.model


def whole(recipe, data) -> dict:
    """All of ``data`` as one batch in the recipe's representation."""
    return make_batch(data, np.arange(len(data)), len(data), recipe.representation)


def evaluate(recipe, state, data, seed: int = 0) -> dict[str, float]:
    """The recipe's own evaluation, averaged over all of ``data`` (for figures that do not
    depend on the objective under test, such as a likelihood bound or mode coverage)."""
    batch = whole(recipe, data)
    metrics = jax.jit(recipe.eval_step)(state, batch, jax.random.key(10_000 + seed))
    means = {k: float(np.mean(np.asarray(v))) for k, v in metrics.items()}
    return recipe.finalize_eval(means) if recipe.finalize_eval else means


@functools.cache
def digits_classifier(cache_dir: str):
    """A logistic regression on the training digits' levels (the test digits' accuracy is
    checked in ``tests/integration/test_learning.py``)."""
    from sklearn.linear_model import LogisticRegression

    train = split("digits", "train", cache_dir)
    x = train.images.reshape(len(train), -1) / 16.0
    return LogisticRegression(max_iter=2000).fit(x, train.labels)


def independent_pixels_nll(train, test, num_levels: int) -> float:
    """Nats per test image of a categorical per pixel fitted to ``train`` (add-one counts)."""
    pixels = train.images.reshape(len(train), -1)
    counts = np.stack([(pixels == k).sum(axis=0) for k in range(num_levels)]) + 1.0
    log_p = np.log(counts / counts.sum(axis=0))
    flat = test.images.reshape(len(test), -1)
    return float(-np.mean(np.sum(np.take_along_axis(log_p, flat.astype(np.int64), axis=0), axis=1)))


# ------------------------------------------------------------------------------ families
def diffusion_quality(seed: int, steps: int, cache_dir: str) -> dict[str, float]:
    """DDPM on digits: ``noise_mse`` (held-out epsilon error per dimension at uniform t,
    computed here from ``q_sample`` and the network, not by the loss under test) and
    ``sample_fd`` (Frechet distance in pixel space between 297 DDIM-20 samples and the 297
    test digits). A classifier's confidence was tried as the sample score and rejected: a
    logistic regression is more confident on clipped noise (0.18-0.22 of samples above
    0.9) than on these early samples (0.05-0.12)."""
    from gensys import diffusion as gd
    from gensys.eval.frechet import frechet_distance_of_features
    from gensys.nets.unet import UNet

    spec = get_spec("digits")
    unet = {"channels": 16, "channel_mults": (1, 2), "num_res_blocks": 1,
            "attention_resolutions": ()}  # fmt: skip
    model = {**unet, "learning_rate": 3e-3, "warmup_steps": 20, "num_timesteps": 200,
             "ema_decay": 0.99}  # fmt: skip
    sampler = {"name": "ddim", "num_steps": 20, "threshold": "clip"}
    recipe = build_recipe("ddpm", model, spec, sampler)
    train, test = split("digits", "train", cache_dir), split("digits", "test", cache_dir)
    # The UNet's step compiles for longer than its steps run here: left unoptimised.
    state = fit(recipe, train, steps=steps, batch_size=32, seed=seed, optimized=False)
    x0 = jnp.asarray(whole(recipe, test)["image"])
    schedule = gd.make_schedule("linear", 200)
    key = jax.random.key(seed + 77)
    t = jax.random.randint(jax.random.fold_in(key, 0), (len(x0),), 0, 200)
    noise = jax.random.normal(jax.random.fold_in(key, 1), x0.shape)
    x_t = gd.q_sample(schedule, x0, t, noise)
    prediction = jax.jit(UNet(**unet).apply)(state.ema_params, x_t, t)
    samples = np.asarray(
        jax.jit(recipe.sample, static_argnums=2)(state, jax.random.fold_in(key, 2), len(x0))
    )
    flat = lambda a: np.asarray(a, np.float64).reshape(len(a), -1)  # noqa: E731
    return {
        "noise_mse": float(jnp.mean(jnp.square(prediction - noise))),
        "sample_fd": float(frechet_distance_of_features(flat(samples), flat(x0))),
    }


def vae_quality(seed: int, steps: int, cache_dir: str) -> dict[str, float]:
    """A VAE on digits: ``nll_nats``, the held-out importance-weighted bound (K = 100, its
    own density ratios: no KL function enters it), and ``baseline``, the independent-pixels
    model's held-out NLL on the same split."""
    model = {"latent_dim": 8, "hidden": (128,), "learning_rate": 2e-3, "iwae_samples": 100}
    return _likelihood_on_digits("vae", model, seed, steps, cache_dir)


def gan_quality(seed: int, steps: int, cache_dir: str) -> dict[str, float]:
    """An MLP GAN on the 8-gaussians ring: ``modes_covered`` and ``high_quality_fraction``
    of 2,000 samples of the EMA generator (the recipe's evaluation, which measures samples
    against the known modes and does not involve the losses), and the raw generator's as
    ``raw_modes_covered`` and ``raw_high_quality_fraction``."""
    spec = get_spec("gaussians8")
    model = {"network": "mlp", "latent_dim": 2, "g_hidden": (64, 64), "d_hidden": (64, 64),
             "g_learning_rate": 1e-3, "d_learning_rate": 1e-3, "ema_decay": 0.99,
             "loss": "nonsaturating"}  # fmt: skip
    recipe = build_recipe("gan", model, spec)
    train, test = split("gaussians8", "train", cache_dir), split("gaussians8", "test", cache_dir)
    state = fit(recipe, train, steps=steps, batch_size=256, seed=seed)
    metrics = evaluate(recipe, state, _head(test, 2000), seed)
    keys = ("modes_covered", "high_quality_fraction")
    return {k: metrics[f"ema/{k}"] for k in keys} | {f"raw_{k}": metrics[f"raw/{k}"] for k in keys}


def flow_quality(seed: int, steps: int, cache_dir: str) -> dict[str, float]:
    """RealNVP on two moons: ``nll_nats`` on 2,000 held-out points beside the density's
    true entropy ``entropy`` (2.394 nats): no model can be below it by more than noise."""
    from gensys.data import toy2d

    spec = get_spec("two_moons")
    model = {"architecture": "realnvp", "num_layers": 6, "mlp_hidden": (64, 64),
             "learning_rate": 2e-3}  # fmt: skip
    recipe = build_recipe("flow", model, spec)
    train, test = split("two_moons", "train", cache_dir), split("two_moons", "test", cache_dir)
    state = fit(recipe, train, steps=steps, batch_size=256, seed=seed)
    metrics = evaluate(recipe, state, _head(test, 2000), seed)
    return {"nll_nats": metrics["nll_nats"], "entropy": toy2d.ENTROPIES["two_moons"]}


def autoregressive_quality(seed: int, steps: int, cache_dir: str, architecture="made"):
    """An autoregressive model on digits: ``nll_nats`` (exact, held out) and ``baseline``
    (independent pixels on the same split)."""
    model = {"architecture": architecture, "hidden": 128, "learning_rate": 3e-3}
    return _likelihood_on_digits("autoregressive", model, seed, steps, cache_dir)


def binarized_mnist_autoregressive_nll(
    architecture: str, seed: int, steps: int, data_dir: str, cache_dir: str, **model
) -> float:
    """Exact NLL (nats) on the first 1,000 valid images of binarized MNIST after ``steps``
    steps at batch 100 on the first 5,000 training images (Adam at 3e-3 unless ``model``
    says otherwise)."""
    spec = get_spec("binarized_mnist")
    model = {"architecture": architecture, "learning_rate": 3e-3, **model}
    recipe = build_recipe("autoregressive", model, spec)
    train = load_split("binarized_mnist", "train[:5000]", data_dir=data_dir, cache_dir=cache_dir)
    valid = load_split("binarized_mnist", "valid[:1000]", data_dir=data_dir, cache_dir=cache_dir)
    state = fit(recipe, train, steps=steps, batch_size=100, seed=seed)
    return evaluate(recipe, state, valid, seed)["nll_nats"]


def pix2pix_quality(seed: int, steps: int, cache_dir: str) -> dict[str, float]:
    """pix2pix edges -> digit on digits at 16x16: held-out ``l1`` of the translations and
    ``input_l1``, the L1 of the input edge maps themselves to the targets."""
    spec = get_spec("digits")
    model = {"task": "edges", "image_size": 16, "g_width": 16, "g_max_width": 32,
             "d_widths": (16, 32), "learning_rate": 2e-3}  # fmt: skip
    recipe = build_recipe("pix2pix", model, spec)
    train, test = split("digits", "train", cache_dir), split("digits", "test", cache_dir)
    state = fit(recipe, train, steps=steps, batch_size=16, seed=seed)
    metrics = evaluate(recipe, state, test, seed)
    from gensys.data.paired import make_input

    y = jax.image.resize(
        jnp.asarray(whole(recipe, test)["image"]), (len(test), 16, 16, 1), "bilinear"
    )
    x = make_input("edges", jax.random.key(seed), y)
    return {"l1": metrics["l1"], "input_l1": float(jnp.mean(jnp.abs(x - y)))}


def text2image_quality(seed: int, steps: int, cache_dir: str) -> dict[str, float]:
    """GAN-INT-CLS on digits at 8x8: ``class_agreement``, the fraction of images generated
    for the test digits' own captions that the digits classifier assigns to the caption's
    digit (chance: about 0.1)."""
    from gensys.data import captions
    from gensys.recipes.text2image import TextToImageConfig, build_text2image
    from gensys.recipes.text_side import Captions
    from gensys.typed_config import from_mapping

    spec = get_spec("digits")
    config = from_mapping(TextToImageConfig, {
        "width": 16, "latent_dim": 16, "embed_dim": 32, "text_hidden": 64,
        "condition_features": 16, "image_size": 8, "learning_rate": 2e-3,
    })  # fmt: skip
    model = build_text2image(config, spec)
    train, test = split("digits", "train", cache_dir), split("digits", "test", cache_dir)
    state = fit(model.recipe, train, steps=steps, batch_size=32, seed=seed)
    x = jnp.asarray(whole(model.recipe, test)["image"])
    classes = captions.describe(x, jnp.asarray(test.labels))
    phi = model.text_side.embed(state.text_side, Captions.in_template(classes, 0))
    z = jax.random.normal(jax.random.key(seed + 5), (len(x), model.latent_dim))
    images = model.generate(state, phi, z, jax.random.key(seed + 6))
    levels = np.clip(np.round((np.asarray(images) + 1.0) * 8.0), 0, 16).reshape(len(x), -1)
    predicted = digits_classifier(cache_dir).predict(levels / 16.0)
    _, _, digit = captions.class_parts(np.asarray(classes))
    return {"class_agreement": float(np.mean(predicted == np.asarray(digit)))}


def _likelihood_on_digits(family: str, model: dict, seed: int, steps: int, cache_dir: str):
    """``family`` trained ``steps`` steps at batch 100 on the digits: its held-out
    ``nll_nats`` and the independent-pixels ``baseline`` on the same split."""
    recipe = build_recipe(family, model, get_spec("digits"))
    train, test = split("digits", "train", cache_dir), split("digits", "test", cache_dir)
    state = fit(recipe, train, steps=steps, batch_size=100, seed=seed)
    metrics = evaluate(recipe, state, test, seed)
    return {"nll_nats": metrics["nll_nats"], "baseline": independent_pixels_nll(train, test, 17)}


def _head(data, n: int):
    import dataclasses

    return dataclasses.replace(data, images=data.images[:n], labels=data.labels[:n])
