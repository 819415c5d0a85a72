"""StackGAN (Zhang et al. 2017) as a :class:`~gensys.recipes.recipe.Recipe`: text to a
low-resolution image (stage I), then that image and the text again to full resolution
(stage II).

The text side is text-to-image's (:mod:`gensys.recipes.text_side`: captions from labels and
measured attributes, a GRU encoder ``phi`` trained by the joint embedding). Each
generator has its own conditioning augmentation (:mod:`gensys.nets.stackgan`):
``c ~ N(mu(phi), diag sigma^2(phi))``, and adds

    kl_weight * KL(N(mu, sigma^2) || N(0, I))          (gensys.vae.latent.kl_to_standard_normal)

to its adversarial loss (``kl_weight = 2 / 128`` by default, per nat of the summed KL:
the reference code's 2.0 on the KL averaged over its 128 dimensions; the paper writes
lambda = 1; a weight of 1 per nat left the stage-I images barely conditioned here). Both
stages' discriminators are matching-aware (real image with a mismatched caption counts as
fake, as GAN-CLS) and see the compressed ``phi`` replicated over their last 4x4 map;
stage I's judges the real images down-sampled to ``stage1_size``.

One step updates the text encoder, then stage I (D, then G), then stage II (D, then G)
on stage I's output for the same noise and captions, taken with the updated stage-I
generator in inference mode (as at sampling time) and without gradient into it. The
paper trains stage I to the end first and then stage II with stage I fixed; here stage
II trains from the start on the current stage-I images, and ``stage1_steps`` (if set)
freezes stage I after that many steps so that stage II finishes on fixed inputs.

``sample`` runs both stages for the captions of the first training batch. Figures:
``stages``, a row per eval caption with stage I (enlarged, nearest neighbour) beside
stage II for four noise draws. ``eval_step`` reports both discriminators' views, the
embedding's retrieval accuracy and the attribute agreement of both stages' images.
"""

from __future__ import annotations

import dataclasses

import flax.struct
import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.gan.losses import generator_loss
from gensys.nets.dcgan import dcgan_stages
from gensys.nets.stackgan import StageIGenerator, StageIIGenerator, upsampling_layers
from gensys.recipes.players import Players, apply_tracking_stats
from gensys.recipes.recipe import Recipe
from gensys.recipes.text2image import FIGURE_ROWS, attribute_agreement
from gensys.recipes.text_side import (
    Captions,
    TextConditionedGAN,
    TextGANConfig,
    TextSideState,
    captions_of,
    judged,
    players_step,
    resized,
)
from gensys.vae.latent import kl_to_standard_normal


@dataclasses.dataclass(frozen=True)
class StackGANConfig(TextGANConfig):
    """The ``model`` section of a StackGAN config (with :class:`TextGANConfig`'s; its
    ``image_size`` is stage II's, its ``width`` stage I's generator's and both
    discriminators')."""

    stage1_size: int = 8
    stage2_width: int = 64
    num_residual: int = 2
    c_dim: int = 32  # conditioning augmentation
    # On the KL summed over c's dimensions: the reference code puts 2.0 on the KL averaged
    # over its 128 dimensions, 2 / 128 per nat of the sum.
    kl_weight: float = 0.015625
    stage1_steps: int | None = None  # stage I frozen after this many steps (None: never)


@flax.struct.dataclass
class StackGANState:
    step: jax.Array
    text_side: TextSideState
    stage1: Players
    stage2: Players
    sample_captions: Captions


def build_stackgan(config: StackGANConfig, spec: DatasetSpec) -> TextConditionedGAN:
    """StackGAN for digit images of ``spec``; ``generate`` gives (stage I, stage II)."""
    size = config.image_side(spec)
    dcgan_stages(config.stage1_size)
    upsampling_layers(config.stage1_size, size)
    channels = spec.image_shape[-1]
    text_side = config.text_side()
    generators = (
        StageIGenerator(config.stage1_size, channels, config.width, config.c_dim),
        StageIIGenerator(size, channels, config.stage2_width, config.num_residual, config.c_dim),
    )
    discriminator = config.discriminator()
    optimizer = config.optimizer()

    def noise(key, n):
        return jax.random.normal(key, (n, config.latent_dim))

    def generate(state: StackGANState, phi, z, key):
        key1, key2 = jax.random.split(key)
        low, _, _ = generators[0].apply(state.stage1.generator, z, phi, key1, train=False)
        high, _, _ = generators[1].apply(state.stage2.generator, low, phi, key2, train=False)
        return low, high

    def init_players(key, generator, g_input, real, phi) -> Players:
        g_key, d_key = jax.random.split(key)
        g_vars = generator.init(g_key, g_input, phi, g_key, train=False)
        return Players.create(g_vars, discriminator.init(d_key, real, phi, train=False), optimizer)

    def init(key: jax.Array, batch: dict) -> StackGANState:
        text_key, caption_key, key1, key2 = jax.random.split(key, 4)
        x = resized(batch["image"], size)
        low = resized(x, config.stage1_size)
        side, text, phi = text_side.init(text_key, caption_key, x, batch["label"])
        stage1 = init_players(key1, generators[0], noise(key1, x.shape[0]), low, phi)
        stage2 = init_players(key2, generators[1], low, x, phi)
        return StackGANState(jnp.zeros((), jnp.int32), side, stage1, stage2, text)

    def train_stage(players, generator, g_input, real, phi, phi_mismatched, mask, key, name):
        """One D and one G step of a stage; its metrics are prefixed ``train/<name>_``."""
        (fake, _, _), g_vars = apply_tracking_stats(
            generator, players.generator, g_input, phi, key, train=True
        )

        def objective(variables, d_vars):
            (image, mean, log_var), variables = apply_tracking_stats(
                generator, variables, g_input, phi, key, train=True
            )
            out, _ = apply_tracking_stats(discriminator, d_vars, image, phi, train=True)
            adversarial = generator_loss(config.loss, out)
            kl = kl_to_standard_normal(mean, log_var)
            values = {"g_adversarial": adversarial, "kl": kl}
            return adversarial + config.kl_weight * kl, (variables, values)

        return players_step(
            players, g_vars, fake, discriminator, optimizer, config.loss, real, phi,
            phi_mismatched, mask, objective, prefix=f"train/{name}_",
        )  # fmt: skip

    def train_step(state: StackGANState, batch: dict, key: jax.Array):
        caption_key, z_key, key1, key2 = jax.random.split(key, 4)
        x, mask = resized(batch["image"], size), batch["mask"]
        side, phi, phi_mismatched, metrics = text_side.train(
            state.text_side, caption_key, x, batch["label"], mask
        )
        z = noise(z_key, x.shape[0])
        low_real = resized(x, config.stage1_size)
        stage1, metrics1 = train_stage(
            state.stage1, generators[0], z, low_real, phi, phi_mismatched, mask, key1, "stage1"
        )
        if config.stage1_steps is not None:
            training = state.step < config.stage1_steps
            stage1 = jax.tree.map(
                lambda new, old: jnp.where(training, new, old), stage1, state.stage1
            )
        low, _, _ = generators[0].apply(stage1.generator, z, phi, key1, train=False)
        stage2, metrics2 = train_stage(
            state.stage2, generators[1], jax.lax.stop_gradient(low), x, phi, phi_mismatched,
            mask, key2, "stage2",
        )  # fmt: skip
        metrics.update({**metrics1, **metrics2, "train/loss": metrics2["train/stage2_g_loss"]})
        new_state = StackGANState(state.step + 1, side, stage1, stage2, state.sample_captions)
        return new_state, metrics

    def eval_step(state: StackGANState, batch: dict, key: jax.Array) -> dict:
        caption_key, z_key, g_key = jax.random.split(key, 3)
        x, mask = resized(batch["image"], size), batch["mask"]
        text, phi, phi_mismatched = text_side.described(
            state.text_side, caption_key, x, batch["label"]
        )
        images = generate(state, phi, noise(z_key, x.shape[0]), g_key)
        metrics = {"match_accuracy": text_side.hits(state.text_side, x, phi, text, mask)}
        reals = (resized(x, config.stage1_size), x)
        stages = zip(("stage1", "stage2"), (state.stage1, state.stage2), reals, images, strict=True)
        for name, players, real, fake in stages:
            scores = [
                discriminator.apply(players.discriminator, image, condition, train=False)
                for image, condition in ((real, phi), (real, phi_mismatched), (fake, phi))
            ]
            values = {**judged(config.loss, *scores), **attribute_agreement(fake, text.classes)}
            metrics.update({f"{name}_{k}": v for k, v in values.items()})
        return metrics

    def figures(state: StackGANState, batch: dict, key: jax.Array) -> dict:
        caption_key, z_key, g_key = jax.random.split(key, 3)
        x = resized(batch["image"], size)
        text, _ = captions_of(caption_key, x, batch["label"])
        draws = FIGURE_ROWS // 2
        phi = text_side.embed(state.text_side, text.cycled(FIGURE_ROWS))
        z = noise(z_key, draws)
        low, high = generate(
            state, jnp.repeat(phi, draws, axis=0), jnp.tile(z, (FIGURE_ROWS, 1)), g_key
        )
        factor = size // config.stage1_size
        enlarged = jnp.repeat(jnp.repeat(low, factor, axis=1), factor, axis=2)
        pairs = jnp.stack([enlarged, high], axis=1)  # [rows * draws, 2, H, W, C]
        return {"stages": pairs.reshape(FIGURE_ROWS, 2 * draws, *high.shape[1:])}

    def sample(state: StackGANState, key: jax.Array, num: int) -> jax.Array:
        z_key, g_key = jax.random.split(key)
        phi = text_side.embed(state.text_side, state.sample_captions.cycled(num))
        return generate(state, phi, noise(z_key, num), g_key)[1]

    recipe = Recipe(
        name="stackgan",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        full_batches=True,  # batch norm in both stages
    )
    return TextConditionedGAN(recipe, text_side, generate, config.latent_dim)


def make_stackgan_recipe(config: StackGANConfig, spec: DatasetSpec) -> Recipe:
    """The StackGAN recipe (the ``stackgan`` family)."""
    return build_stackgan(config, spec).recipe
