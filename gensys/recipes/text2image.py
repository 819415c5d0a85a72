"""Text-to-image GAN (Reed et al. 2016, GAN-INT-CLS) as a :class:`~gensys.recipes.recipe.Recipe`.

Captions are made from the data (:mod:`gensys.data.captions`: the label and the measured
thickness and slant, "a thick, slanted seven") and embedded by a GRU text encoder
``phi`` trained alongside by the joint image-text embedding (:mod:`gensys.recipes.text_side`).
The generator is DCGAN's with ``phi(t)`` compressed and concatenated to ``z``; the
discriminator is DCGAN's with ``phi(t)`` replicated over its last 4x4 feature map
(:mod:`gensys.nets.dcgan`, conditioning ``"spatial"``). Each step, after the encoder's:

    D (CLS):  l_real(D(x, phi(t)))
              + [l_fake(D(x, phi(t_mismatched))) + l_fake(D(G(z, phi(t)), phi(t)))] / 2
    G:        l_G(D(G(z, phi(t)), phi(t)))
              + interpolation_weight * l_G(D(G(z', phi_int), phi_int))          (INT)

with ``phi_int = beta phi(t_1) + (1 - beta) phi(t_2)`` between the captions of two
training images (``beta = 0.5``, as the paper): the generator must also make images the
discriminator accepts for embeddings between the captions it saw. ``matching_aware =
False`` drops the mismatched term (then ``D`` is a plain conditional discriminator,
``l_real(s_r) + l_fake(s_f)``); ``interpolation_weight = 0`` drops INT.

``sample`` draws for the captions of the first training batch (kept in the state).
Figures: ``captions`` (a row per eval caption, eight noise draws each) and
``interpolations`` (eight steps between the embeddings of two eval captions, one noise
draw per row). ``eval_step`` reports the discriminator's view of the three pairs, the
embedding's retrieval accuracy, and how often an image generated for a caption has the
thickness and slant the caption asks for (measured as the captions are made).
"""

from __future__ import annotations

import dataclasses

import flax.struct
import jax
import jax.numpy as jnp

from gensys.data import captions
from gensys.data.datasets import DatasetSpec
from gensys.gan.losses import generator_loss
from gensys.nets.dcgan import DCGANGenerator
from gensys.recipes.players import Players, apply_tracking_stats
from gensys.recipes.recipe import Recipe
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

FIGURE_ROWS = 8


@dataclasses.dataclass(frozen=True)
class TextToImageConfig(TextGANConfig):
    """The ``model`` section of a text-to-image config (with :class:`TextGANConfig`'s)."""

    matching_aware: bool = True  # CLS: mismatched captions count as fake
    interpolation_weight: float = 1.0  # INT
    interpolation_beta: float = 0.5


@flax.struct.dataclass
class TextToImageState:
    step: jax.Array
    text_side: TextSideState
    players: Players
    sample_captions: Captions


def build_text2image(config: TextToImageConfig, spec: DatasetSpec) -> TextConditionedGAN:
    """Builds GAN-INT-CLS for digit images of ``spec``."""
    size = config.image_side(spec)
    text_side = config.text_side()
    generator = DCGANGenerator(
        size, spec.image_shape[-1], config.width, condition_features=config.condition_features
    )
    discriminator = config.discriminator()
    optimizer = config.optimizer()

    def noise(key, n):
        return jax.random.normal(key, (n, config.latent_dim))

    def generate(state: TextToImageState, phi: jax.Array, z: jax.Array, key=None) -> jax.Array:
        del key  # the generator's only noise is z
        return generator.apply(state.players.generator, z, phi, train=False)

    def init(key: jax.Array, batch: dict) -> TextToImageState:
        text_key, caption_key, g_key, d_key = jax.random.split(key, 4)
        x = resized(batch["image"], size)
        side, text, phi = text_side.init(text_key, caption_key, x, batch["label"])
        g_vars = generator.init(g_key, noise(g_key, x.shape[0]), phi, train=False)
        d_vars = discriminator.init(d_key, x, phi, train=False)
        players = Players.create(g_vars, d_vars, optimizer)
        return TextToImageState(jnp.zeros((), jnp.int32), side, players, text)

    def train_step(state: TextToImageState, batch: dict, key: jax.Array):
        caption_key, z_key, int_key = jax.random.split(key, 3)
        x, mask = resized(batch["image"], size), batch["mask"]
        side, phi, phi_mismatched, metrics = text_side.train(
            state.text_side, caption_key, x, batch["label"], mask
        )
        z = noise(z_key, x.shape[0])
        fake, g_vars = apply_tracking_stats(generator, state.players.generator, z, phi, train=True)
        beta = config.interpolation_beta
        phi_int = beta * phi + (1.0 - beta) * jnp.roll(phi, 1, axis=0)
        z_int = noise(int_key, x.shape[0])

        def objective(variables, d_vars):
            fake, variables = apply_tracking_stats(generator, variables, z, phi, train=True)
            out, _ = apply_tracking_stats(discriminator, d_vars, fake, phi, train=True)
            per_example = generator_loss(config.loss, out)
            values = {"g_matched": per_example}
            if config.interpolation_weight > 0:
                between, variables = apply_tracking_stats(
                    generator, variables, z_int, phi_int, train=True
                )
                out_int, _ = apply_tracking_stats(
                    discriminator, d_vars, between, phi_int, train=True
                )
                # The rolled partner of a padded example may be real; the mask is the pair's.
                values["g_interpolated"] = generator_loss(config.loss, out_int) * jnp.roll(mask, 1)
                per_example = per_example + config.interpolation_weight * values["g_interpolated"]
            return per_example, (variables, values)

        players, stage_metrics = players_step(
            state.players, g_vars, fake, discriminator, optimizer, config.loss, x, phi,
            phi_mismatched, mask, objective, matching_aware=config.matching_aware,
        )  # fmt: skip
        metrics.update(stage_metrics)
        metrics["train/loss"] = metrics["train/g_loss"]
        new_state = TextToImageState(state.step + 1, side, players, state.sample_captions)
        return new_state, metrics

    def eval_step(state: TextToImageState, batch: dict, key: jax.Array) -> dict:
        caption_key, z_key = jax.random.split(key)
        x, mask = resized(batch["image"], size), batch["mask"]
        text, phi, phi_mismatched = text_side.described(
            state.text_side, caption_key, x, batch["label"]
        )
        fake = generate(state, phi, noise(z_key, x.shape[0]))
        scores = [
            discriminator.apply(state.players.discriminator, image, condition, train=False)
            for image, condition in ((x, phi), (x, phi_mismatched), (fake, phi))
        ]
        return {
            "d_real": scores[0],
            "d_mismatch": scores[1],
            "d_fake": scores[2],
            **judged(config.loss, *scores),
            "match_accuracy": text_side.hits(state.text_side, x, phi, text, mask),
            **attribute_agreement(fake, text.classes),
        }

    def figures(state: TextToImageState, batch: dict, key: jax.Array) -> dict:
        caption_key, z_key = jax.random.split(key)
        x = resized(batch["image"], size)
        text, _ = captions_of(caption_key, x, batch["label"])
        phi = text_side.embed(state.text_side, text.cycled(FIGURE_ROWS))
        z = noise(z_key, FIGURE_ROWS)
        grid = generate(state, jnp.repeat(phi, FIGURE_ROWS, axis=0), jnp.tile(z, (FIGURE_ROWS, 1)))
        steps = jnp.linspace(0.0, 1.0, FIGURE_ROWS)[None, :, None]
        between = (1.0 - steps) * phi[:, None] + steps * jnp.roll(phi, -1, axis=0)[:, None]
        lines = generate(
            state, between.reshape(-1, phi.shape[-1]), jnp.repeat(z, FIGURE_ROWS, axis=0)
        )
        shape = (FIGURE_ROWS, FIGURE_ROWS, *grid.shape[1:])
        return {"captions": grid.reshape(shape), "interpolations": lines.reshape(shape)}

    def sample(state: TextToImageState, key: jax.Array, num: int) -> jax.Array:
        text = state.sample_captions.cycled(num)
        return generate(state, text_side.embed(state.text_side, text), noise(key, num))

    recipe = Recipe(
        name="text2image",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        full_batches=True,  # DCGAN's batch norm
    )
    return TextConditionedGAN(recipe, text_side, generate, config.latent_dim)


def attribute_agreement(images: jax.Array, classes: jax.Array) -> dict:
    """Per example, whether ``images`` have the thickness and slant their caption classes
    ask for (1.0 or 0.0)."""
    thickness, slant = captions.attribute_classes(images)
    want_thickness, want_slant, _ = captions.class_parts(classes)
    return {
        "thickness_agreement": (thickness == want_thickness).astype(jnp.float32),
        "slant_agreement": (slant == want_slant).astype(jnp.float32),
    }


def make_text2image_recipe(config: TextToImageConfig, spec: DatasetSpec) -> Recipe:
    """The GAN-INT-CLS recipe (the ``text2image`` family)."""
    return build_text2image(config, spec).recipe
