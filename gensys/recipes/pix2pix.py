"""pix2pix (Isola et al. 2017) as a :class:`~gensys.recipes.recipe.Recipe`: image-to-image
translation with a conditional adversarial loss plus L1.

Pairs come from the data's own images by a task of :mod:`gensys.data.paired`
(``edges``, ``inpaint``, ``super_resolution``): the target ``y`` is the image, the
input ``x = task(y)``. Each step (one discriminator update, then one generator update,
Adam 2e-4 with beta1 0.5, as in the paper) minimises

    D:  E[ l_D(D(x, y), D(x, G(x))) ]                    (per patch, averaged)
    G:  E[ l_G(D(x, G(x))) ] + lambda E[ |y - G(x)|_1 ]   (lambda = 100)

with ``l_D``, ``l_G`` any loss of :mod:`gensys.gan.losses` (the paper's is the
non-saturating one). The discriminator is a PatchGAN on ``(x, image)`` pairs, the
translator a U-Net with dropout as its only noise (:mod:`gensys.nets.pix2pix`).

``sample`` translates the inputs made from the first training batch (kept in the state,
so a restored run samples the same conditions); ``figures`` draws ``translations``:
input, output and target side by side for the eval examples. ``eval_step`` reports the
per-example L1 error (``l1``, mean absolute difference in ``[-1, 1]`` units) and the
discriminator's view of both.
"""

from __future__ import annotations

import dataclasses

import flax.struct
import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.data.paired import TASKS, make_input
from gensys.gan.losses import LOSSES, called_real, discriminator_loss, generator_loss
from gensys.nets.pix2pix import PatchDiscriminator, UNetTranslator, translator_depth
from gensys.recipes.players import Players, apply_tracking_stats, two_player_step
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import make_optimizer


@dataclasses.dataclass(frozen=True)
class Pix2PixConfig:
    """The ``model`` section of a pix2pix config."""

    task: str = "edges"  # edges, inpaint, super_resolution
    image_size: int | None = 16  # resize the data (bilinear) to this square side
    loss: str = "nonsaturating"
    l1_weight: float = 100.0  # lambda
    g_width: int = 32
    g_max_width: int = 128
    min_size: int = 1
    dropout_layers: int = 2
    d_widths: tuple[int, ...] = (32, 64)
    learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999


@flax.struct.dataclass
class Pix2PixState:
    """Both players (:class:`~gensys.recipes.players.Players`) and the conditions
    ``sample`` uses."""

    step: jax.Array
    players: Players
    sample_inputs: jax.Array


def _check(config: Pix2PixConfig, spec: DatasetSpec) -> None:
    if config.task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {config.task!r}")
    if config.loss not in LOSSES or config.loss == "wgan_gp":
        raise ValueError(f"loss must be one of {LOSSES} but wgan_gp, got {config.loss!r}")
    if spec.num_levels == 0:
        raise ValueError("pix2pix needs image data, not 2-D points")
    if config.l1_weight < 0:
        raise ValueError(f"l1_weight must be >= 0, got {config.l1_weight}")
    size = config.image_size or spec.image_shape[0]
    if config.image_size is None and spec.image_shape[0] != spec.image_shape[1]:
        raise ValueError(f"pix2pix needs square images, got {spec.image_shape}")
    translator_depth(size, config.min_size)


def make_pix2pix_recipe(config: Pix2PixConfig, spec: DatasetSpec) -> Recipe:
    """Builds the pix2pix recipe for images of ``spec``."""
    _check(config, spec)
    channels = spec.image_shape[-1]
    size = config.image_size or spec.image_shape[0]
    generator = UNetTranslator(
        channels, config.g_width, config.g_max_width, config.min_size, config.dropout_layers
    )
    discriminator = PatchDiscriminator(tuple(config.d_widths))
    optimizer = make_optimizer(
        config.learning_rate, grad_clip_norm=None, b1=config.beta1, b2=config.beta2
    )

    def targets_of(batch) -> jax.Array:
        y = batch["image"]
        if y.shape[1:3] != (size, size):
            y = jax.image.resize(y, (y.shape[0], size, size, channels), "bilinear")
        return y

    def translate(g_vars, x, key, train):
        return apply_tracking_stats(generator, g_vars, x, train=train, rngs={"dropout": key})

    def init(key: jax.Array, batch: dict) -> Pix2PixState:
        g_key, d_key, input_key = jax.random.split(key, 3)
        y = targets_of(batch)
        x = make_input(config.task, input_key, y)
        g_vars = generator.init({"params": g_key, "dropout": g_key}, x, train=False)
        d_vars = discriminator.init(d_key, x, y, train=False)
        players = Players.create(g_vars, d_vars, optimizer)
        return Pix2PixState(step=jnp.zeros((), jnp.int32), players=players, sample_inputs=x)

    def patch_mean(values: jax.Array) -> jax.Array:
        return jnp.mean(values.reshape(values.shape[0], -1), axis=-1)

    def per_patch(loss_fn, *logits: jax.Array) -> jax.Array:
        """A per-example GAN loss taken on every patch logit, then averaged per example."""
        values = loss_fn(config.loss, *(z.ravel() for z in logits))
        return patch_mean(values.reshape(logits[0].shape))

    def train_step(state: Pix2PixState, batch: dict, key: jax.Array):
        input_key, g_key = jax.random.split(key)
        y, mask = targets_of(batch), batch["mask"]
        x = make_input(config.task, input_key, y)
        fake, _ = translate(state.players.generator, x, g_key, train=True)
        fake = jax.lax.stop_gradient(fake)

        def d_objective(variables):
            real_out, variables = apply_tracking_stats(discriminator, variables, x, y, train=True)
            fake_out, variables = apply_tracking_stats(
                discriminator, variables, x, fake, train=True
            )
            real_called_real, fake_called_real = called_real(
                config.loss, patch_mean(real_out), patch_mean(fake_out)
            )
            values = {"real_accuracy": real_called_real, "fake_accuracy": 1.0 - fake_called_real}
            return per_patch(discriminator_loss, real_out, fake_out), (variables, values)

        def g_objective(variables, d_vars):
            out, variables = translate(variables, x, g_key, train=True)
            # The discriminator's batch statistics from this pass are not kept.
            logits, _ = apply_tracking_stats(discriminator, d_vars, x, out, train=True)
            adversarial = per_patch(generator_loss, logits)
            l1 = patch_mean(jnp.abs(out - y))
            total = adversarial + config.l1_weight * l1
            return total, (variables, {"g_adversarial": adversarial, "l1": l1})

        players, metrics = two_player_step(state.players, d_objective, g_objective, mask, optimizer)
        metrics["train/loss"] = metrics["train/g_loss"]
        return Pix2PixState(state.step + 1, players, state.sample_inputs), metrics

    def translations(state: Pix2PixState, batch: dict, key: jax.Array):
        input_key, g_key = jax.random.split(key)
        y = targets_of(batch)
        x = make_input(config.task, input_key, y)
        out, _ = translate(state.players.generator, x, g_key, train=False)
        return x, out, y

    def eval_step(state: Pix2PixState, batch: dict, key: jax.Array) -> dict:
        x, out, y = translations(state, batch, key)
        d_vars = state.players.discriminator
        real_out = patch_mean(discriminator.apply(d_vars, x, y, train=False))
        fake_out = patch_mean(discriminator.apply(d_vars, x, out, train=False))
        real_called_real, fake_called_real = called_real(config.loss, real_out, fake_out)
        return {
            "l1": patch_mean(jnp.abs(out - y)),
            "d_real": real_out,
            "d_fake": fake_out,
            "real_accuracy": real_called_real,
            "fake_accuracy": 1.0 - fake_called_real,
        }

    def figures(state: Pix2PixState, batch: dict, key: jax.Array) -> dict:
        x, out, y = translations(state, batch, key)
        return {"translations": jnp.stack([x, out, y], axis=1)}

    def sample(state: Pix2PixState, key: jax.Array, num: int) -> jax.Array:
        bank = state.sample_inputs
        x = bank[jnp.arange(num) % bank.shape[0]]
        out, _ = translate(state.players.generator, x, key, train=False)
        return out

    return Recipe(
        name="pix2pix",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        sample_tag=config.task,
        full_batches=True,  # batch norm in both players
    )
