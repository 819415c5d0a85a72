"""GANs as a :class:`~gensys.recipes.recipe.Recipe`: both players in one jitted step.

One ``train_step`` makes ``d_steps`` discriminator (critic) updates and then one
generator update (Goodfellow et al. 2014, Alg. 1; ``d_steps = 5`` for WGAN and
WGAN-GP), or the generator update first with ``g_first``. The loop's batch holds the
``d_steps`` real minibatches side by side:
with ``data.batch_size = d_steps * m`` each discriminator update sees its own
``m`` real examples and ``m`` fresh fakes, and the generator update ``m`` fakes,
as in the papers. The losses are :mod:`gensys.gan.losses` (``minimax``,
``nonsaturating``, ``lsgan``, ``wgan`` with weight clipping, ``wgan_gp`` with
the per-example gradient penalty, ``hinge``), optionally with R1 on the reals and R2
on the fakes (Mescheder et al. 2018), either applied lazily every ``penalty_every``
discriminator updates and scaled by it (Karras et al. 2020), and with spectral
normalisation of every discriminator layer (``d_spectral_norm``, Miyato et al. 2018: its
power-iteration vectors are discriminator state, in the checkpoint). The generator's loss
can add ``g_l1_weight`` times the mean absolute difference between its fakes and the
step's real images (pixels in [0, 1]), and the MLP players take any activation of
:data:`gensys.nets.mlp.ACTIVATIONS`, batch norm in the generator and a sigmoid output.

Two Adam optimizers (DCGAN's lr 2e-4 and beta1 0.5 by default), and an EMA of
the generator's variables (weights and batch-norm statistics) that ``sample``
and ``eval_step`` use; both optimizer states and the EMA are in the state, so
checkpoints resume exactly.

Metrics: ``train/d_loss``, ``train/g_loss`` (``train/loss`` is the
discriminator's), ``train/d_real`` and ``train/d_fake`` (mean outputs),
``train/real_accuracy`` (reals called real) and ``train/fake_accuracy`` (fakes
called fake), both players' gradient norms, and the penalties. A monitor warns
when the discriminator wins (both accuracies above ``dominance_threshold``) for
``dominance_patience`` log intervals in a row.

Evaluation draws one fake per eval example from each generator, the EMA one and the raw
one (the same noise for both), and reports the same discriminator statistics for each as
``ema/<name>`` and ``raw/<name>`` (``eval/ema/g_loss``, ``eval/raw/g_loss``): the average
of an oscillating generator can be worse than the generator itself (WGAN-GP on the ring).
On ``gaussians8`` each adds ``high_quality_fraction``, ``mode_<k>`` (high-quality
fraction at each mode) and ``modes_covered`` (:mod:`gensys.eval.mode_coverage`).
``sample`` draws from the EMA generator; the figure ``samples_raw`` from the raw one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp

from gensys.data import toy2d
from gensys.data.datasets import DatasetSpec
from gensys.eval.mode_coverage import mode_hits, modes_covered
from gensys.gan.losses import (
    called_real,
    clip_weights,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)
from gensys.gan.noise import draw_noise
from gensys.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gensys.nets.mlp import MLPDiscriminator, MLPGenerator
from gensys.recipes.gan_config import GANConfig, check_gan_config
from gensys.recipes.players import (
    Players,
    apply_tracking_stats,
    discriminator_step,
    generator_step,
    mean_metrics,
)
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import ema_decay_at, ema_update, make_optimizer


@flax.struct.dataclass
class GANState:
    """Both players (:class:`~gensys.recipes.players.Players`: variables, ``params`` and any
    ``batch_stats``, and optimizer states) and the generator's EMA; ``step`` counts
    generator updates."""

    step: jax.Array
    players: Players
    ema_generator: Any


def make_gan_recipe(config: GANConfig, spec: DatasetSpec) -> Recipe:
    """Builds the GAN recipe for data of ``spec``."""
    check_gan_config(config, spec)

    noise = functools.partial(draw_noise, config.prior)  # (key, shape) -> z ~ p(z)
    channels = spec.image_shape[-1]
    size = config.image_size
    image_shape = (size, size, channels) if size else spec.image_shape
    num_classes = spec.num_classes if config.class_conditional else None
    if config.network == "dcgan":
        generator = DCGANGenerator(image_shape[0], channels, config.width, num_classes)
        discriminator = DCGANDiscriminator(
            config.width, config.d_norm, num_classes, config.conditioning,
            spectral_norm=config.d_spectral_norm,
        )  # fmt: skip
        patches = config.penalty_convolutions == "patches" or (
            config.penalty_convolutions == "auto" and jax.default_backend() == "cpu"
        )
        # The same variables through convolutions whose second derivatives are fast here.
        penalty_critic = discriminator.clone(conv_as_patches=patches)
    else:
        output = "none" if spec.num_levels == 0 else config.g_output
        generator = MLPGenerator(
            config.g_hidden, image_shape, output, num_classes, config.activation,
            batch_norm=config.g_batch_norm,
        )  # fmt: skip
        discriminator = MLPDiscriminator(
            config.d_hidden, num_classes, config.conditioning, config.activation,
            spectral_norm=config.d_spectral_norm,
        )  # fmt: skip
        penalty_critic = discriminator

    def optimizer(learning_rate: float):
        sgd = config.optimizer == "sgd"
        return make_optimizer(
            learning_rate, grad_clip_norm=None, b1=config.beta1, b2=config.beta2,
            name=config.optimizer, momentum=config.momentum if sgd else 0.0,
        )  # fmt: skip

    g_optimizer = optimizer(config.g_learning_rate)
    d_optimizer = optimizer(config.d_learning_rate)
    modes = toy2d.GAUSSIANS8_MODES if spec.builder == "gaussians8" else None

    def images_of(batch) -> jax.Array:
        x = batch["image"]
        if size and x.shape[1:3] != (size, size):
            x = jax.image.resize(x, (x.shape[0], size, size, channels), "bilinear")
        return x

    def labels_of(batch) -> jax.Array | None:
        # Padding carries label -1; any valid class will do there (its mask is 0).
        return jnp.maximum(batch["label"], 0) if num_classes else None

    def init(key: jax.Array, batch: dict) -> GANState:
        g_key, d_key = jax.random.split(key)
        x, labels = images_of(batch), labels_of(batch)
        z = jnp.zeros((x.shape[0], config.latent_dim))
        g_vars = generator.init(g_key, z, labels, train=False)
        d_vars = discriminator.init(d_key, x, labels, train=False)
        players = Players.create(g_vars, d_vars, g_optimizer, d_optimizer)
        return GANState(step=jnp.zeros((), jnp.int32), players=players, ema_generator=g_vars)

    def judged(real_out, fake_out) -> dict[str, jax.Array]:
        """Per example: the discriminator's outputs and whether it calls each side right."""
        real_called_real, fake_called_real = called_real(config.loss, real_out, fake_out)
        return {
            "d_real": real_out,
            "d_fake": fake_out,
            "real_accuracy": real_called_real,
            "fake_accuracy": 1.0 - fake_called_real,
        }

    def clipped(params):
        return clip_weights(params, config.clip_value)

    def lazily(index: jax.Array, penalty: Callable[[], jax.Array], batch: int) -> jax.Array:
        """``k * penalty()`` on every k-th discriminator update (``index`` counts them from
        0) and zeros on the others, k = ``penalty_every`` (StyleGAN2's lazy regularisation,
        Karras et al. 2020, App. B): the same penalty in expectation at 1/k of its cost,
        since ``lax.cond`` runs only the branch taken. The k = 1 case is the penalty."""
        k = config.penalty_every
        if k == 1:
            return penalty()
        return jax.lax.cond(
            index % k == 0, lambda: k * penalty(), lambda: jnp.zeros((batch,), jnp.float32)
        )

    def d_update(players: Players, real, labels, mask, key, index) -> tuple[Players, dict]:
        """One discriminator update on ``real`` and as many fresh fakes (the generator's
        batch statistics move with the pass that makes them); ``index`` counts the
        discriminator updates of the run."""
        z_key, mix_key = jax.random.split(key)
        z = noise(z_key, (real.shape[0], config.latent_dim))
        fake, g_vars = apply_tracking_stats(generator, players.generator, z, labels, train=True)
        fake = jax.lax.stop_gradient(fake)
        aux = () if labels is None else (labels,)

        def objective(variables):
            real_out, variables = apply_tracking_stats(
                discriminator, variables, real, *aux, train=True
            )
            fake_out, variables = apply_tracking_stats(
                discriminator, variables, fake, *aux, train=True
            )
            per_example = discriminator_loss(config.loss, real_out, fake_out)
            values = judged(real_out, fake_out)

            def critic(x, *extra):
                return penalty_critic.apply(variables, x, *extra, train=True)

            if config.loss == "wgan_gp":
                mix = jax.random.uniform(mix_key, (real.shape[0],))
                values["gradient_penalty"] = gradient_penalty(critic, real, fake, mix, *aux)
                per_example = per_example + config.gp_weight * values["gradient_penalty"]
            # With penalty_every = k, r1 and r2 read k times the penalty on the penalised
            # updates and 0 between them: their mean over a log interval estimates it.
            if config.r1_weight > 0:
                values["r1"] = lazily(index, lambda: r1_penalty(critic, real, *aux), len(real))
                per_example = per_example + 0.5 * config.r1_weight * values["r1"]
            if config.r2_weight > 0:
                values["r2"] = lazily(index, lambda: r1_penalty(critic, fake, *aux), len(fake))
                per_example = per_example + 0.5 * config.r2_weight * values["r2"]
            return per_example, (variables, values)

        return discriminator_step(
            players.replace(generator=g_vars), objective, mask, d_optimizer,
            project=clipped if config.loss == "wgan" else None,
        )  # fmt: skip

    def train_step(state: GANState, batch: dict, key: jax.Array):
        x, labels, mask = images_of(batch), labels_of(batch), batch["mask"]
        k = config.d_steps
        if x.shape[0] % k:
            raise ValueError(
                f"data.batch_size ({x.shape[0]}) must be a multiple of d_steps ({k}): the batch "
                f"holds one real minibatch per discriminator step"
            )
        m = x.shape[0] // k

        def chunks(a):
            if a is None:
                return [None] * k
            return [a[i * m : (i + 1) * m] for i in range(k)]

        keys = jax.random.split(key, k + 1)
        last_real, last_labels = x[-m:], None if labels is None else labels[-m:]
        z = noise(keys[k], (m, config.latent_dim))

        def g_objective(variables, d_vars):
            fake, variables = apply_tracking_stats(generator, variables, z, last_labels, train=True)
            # The discriminator's batch statistics from this pass are not kept.
            out, _ = apply_tracking_stats(discriminator, d_vars, fake, last_labels, train=True)
            per_example, values = generator_loss(config.loss, out), {}
            if config.g_l1_weight > 0:
                # Pixels in [0, 1]; each fake is paired with the real image at its position,
                # so the term pulls every pixel towards the data's per-pixel median (on
                # MNIST, mostly the black background).
                l1 = jnp.mean(jnp.abs(fake - last_real).reshape(m, -1), axis=-1) / 2.0
                values["g_l1"] = l1
                per_example = per_example + config.g_l1_weight * l1
            return per_example, (variables, values)

        def g_update(players: Players) -> tuple[Players, dict]:
            return generator_step(players, g_objective, mask[-m:], g_optimizer)

        players = state.players
        if config.g_first:  # the generator moves against the discriminator of the last step
            players, g_metrics = g_update(players)
        # A Python loop, not lax.scan: the same convolutions inside an XLA while loop
        # (even one of a single trip, even with scan's unroll=True) ran 16x slower on
        # XLA:CPU (DCGAN digits step at batch 64: 1.77 s in a loop, 0.18 s unrolled).
        d_metrics = []
        for i, inputs in enumerate(zip(chunks(x), chunks(labels), chunks(mask), strict=True)):
            players, metrics = d_update(players, *inputs, keys[i], state.step * k + i)
            d_metrics.append(metrics)
        if not config.g_first:
            players, g_metrics = g_update(players)
        ema = ema_update(
            state.ema_generator, players.generator, ema_decay_at(state.step, config.ema_decay)
        )
        metrics = {**mean_metrics(d_metrics), **g_metrics}  # the d_steps updates averaged
        metrics["train/loss"] = metrics["train/d_loss"]
        return GANState(state.step + 1, players, ema), metrics

    def generators(state: GANState) -> dict[str, Any]:
        return {"ema": state.ema_generator, "raw": state.players.generator}

    def eval_step(state: GANState, batch: dict, key: jax.Array) -> dict:
        x, labels = images_of(batch), labels_of(batch)
        z = noise(key, (x.shape[0], config.latent_dim))
        d_vars = state.players.discriminator
        real_out = discriminator.apply(d_vars, x, labels, train=False)
        metrics = {}
        for name, g_vars in generators(state).items():
            fake = generator.apply(g_vars, z, labels, train=False)
            fake_out = discriminator.apply(d_vars, fake, labels, train=False)
            one = {**judged(real_out, fake_out), "g_loss": generator_loss(config.loss, fake_out)}
            if modes is not None:
                hits = mode_hits(fake.reshape(-1, 2), jnp.asarray(modes), toy2d.GAUSSIANS8_STD)
                one["high_quality_fraction"] = jnp.sum(hits, axis=-1)
                one.update({f"mode_{i}": hits[:, i] for i in range(hits.shape[1])})
            metrics.update({f"{name}/{k}": v for k, v in one.items()})
        return metrics

    def finalize_eval(means: dict[str, float]) -> dict[str, float]:
        if modes is None:
            return means
        for name in ("ema", "raw"):
            fractions = [means[f"{name}/mode_{i}"] for i in range(len(modes))]
            means = {**means, f"{name}/modes_covered": float(modes_covered(fractions))}
        return means

    def draw(g_vars, key: jax.Array, num: int) -> jax.Array:
        z = noise(key, (num, config.latent_dim))
        labels = jnp.arange(num) % num_classes if num_classes else None
        return generator.apply(g_vars, z, labels, train=False)

    def sample(state: GANState, key: jax.Array, num: int) -> jax.Array:
        return draw(state.ema_generator, key, num)

    def figures(state: GANState, batch: dict, key: jax.Array) -> dict[str, jax.Array]:
        """The raw generator's samples beside ``sample``'s EMA ones: 2,000 points on the
        2-D densities, else an 8 x 8 grid."""
        if spec.image_shape == (1, 1, 2):
            return {"samples_raw": draw(state.players.generator, key, 2000)[None]}
        raw = draw(state.players.generator, key, 64)
        return {"samples_raw": raw.reshape(8, 8, *raw.shape[1:])}

    return Recipe(
        name="gan",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        finalize_eval=finalize_eval,
        monitor=make_dominance_monitor(config.dominance_threshold, config.dominance_patience),
        full_batches=config.network == "dcgan",  # DCGAN's batch norm
    )


def make_dominance_monitor(threshold: float, patience: int):
    """A host-side check on the logged metrics: a message when the discriminator has called
    at least ``threshold`` of both reals and fakes right for ``patience`` log intervals in a
    row (and every ``patience`` intervals while it lasts)."""
    streak = 0

    def monitor(metrics: dict[str, float]) -> str | None:
        nonlocal streak
        real, fake = metrics.get("train/real_accuracy"), metrics.get("train/fake_accuracy")
        if real is None or fake is None:
            return None
        streak = streak + 1 if (real >= threshold and fake >= threshold) else 0
        if streak and streak % patience == 0:
            return (
                f"the discriminator has won for {streak} log intervals (reals called real "
                f"{real:.3f}, fakes called fake {fake:.3f}): the generator's gradient is weak. "
                f"Consider the non-saturating, hinge or WGAN-GP loss, a lower discriminator "
                f"learning rate, or R1."
            )
        return None

    return monitor
