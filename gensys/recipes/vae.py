"""VAEs and autoencoders as a :class:`~gensys.recipes.recipe.Recipe`.

- VAE (Kingma & Welling 2014): Gaussian encoder, reparameterized ``z``, the
  closed-form KL, and a decoder for the data at hand: ``bernoulli`` (binary
  data, logits), ``logistic`` (discretized logistic over the data's levels,
  Salimans et al. 2017) or ``gaussian`` (a continuous density; fixed or learned
  variance). Trains on ``-ELBO`` with ``beta`` on the KL (Higgins et al. 2017)
  and a linear KL warm-up (Bowman et al. 2016; Sonderby et al. 2016).
- Conditional VAE (Sohn et al. 2015): the one-hot label enters encoder and decoder.
- Networks: ``network="mlp"`` (fully connected, as in the papers above) or
  ``"conv"`` (stride-2 convolutions with ``channels`` per stage, then the
  ``hidden`` MLP; :mod:`gensys.nets.conv`).
- Autoencoder (``autoencoder=True``): ``z`` is the encoder mean, the loss the
  reconstruction term alone; its samples decode ``z ~ N(0, I)``, which an
  autoencoder never learned to do (that gap is what the VAE closes).

``eval_step`` reports per example: ``elbo`` and ``kl`` (nats), and for VAEs the
importance-weighted bound with ``iwae_samples`` draws as ``nll_nats`` and
``bpd`` (Burda et al. 2016); the loop averages them into ``eval/*``.

``figures`` draws from the first eval examples: ``reconstructions`` (rows of
originals above their reconstructions at the posterior mean), ``interpolations``
(decoded straight lines between the posterior means of two examples, the
examples at either end, as in Kingma & Welling 2014), for a conditional VAE
``class_samples`` (a row per class, a column per shared ``z``: the label sets the
digit, ``z`` its style; Sohn et al. 2015), and for a VAE with a 2-D latent the
``latent_map`` (decoder means over the prior's 5 %..95 % quantiles on a 15 x 15
grid; Kingma & Welling 2014, Fig. 4).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.nets.conv import ConvDecoder, ConvGaussianEncoder, check_conv_shape
from gensys.nets.mlp import ACTIVATIONS, Decoder, GaussianEncoder
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import (
    TrainState,
    apply_gradients,
    fresh_train_state,
    make_optimizer,
    masked_mean,
)
from gensys.vae.bounds import elbo, iwae_bound
from gensys.vae.decoders import (
    DECODERS,
    bernoulli_log_likelihood,
    discretized_logistic_log_likelihood,
    gaussian_log_likelihood,
)

NETWORKS = ("mlp", "conv")
INTERPOLATION_STEPS = 10
LATENT_MAP_SIZE = 15


@dataclasses.dataclass(frozen=True)
class VAEConfig:
    """The ``model`` section of a VAE / autoencoder config."""

    latent_dim: int = 16
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "tanh"
    network: str = "mlp"  # mlp or conv
    channels: tuple[int, ...] = (32, 64)  # conv: widths of the stride-2 stages
    decoder: str = "logistic"  # bernoulli, logistic, gaussian
    gaussian_log_var: float | None = None  # fixed decoder log-variance; None: learned
    autoencoder: bool = False
    class_conditional: bool = False
    beta: float = 1.0
    kl_warmup_steps: int = 0
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    decay_steps: int = 0  # > 0: cosine decay of the learning rate to 1 % by this step
    grad_clip_norm: float = 10.0
    ema_decay: float = 0.999
    iwae_samples: int = 100  # K of eval/nll_nats (5000 for the literature's figures)
    iwae_chunk: int = 100


def _check(config: VAEConfig, spec: DatasetSpec) -> None:
    if config.decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {config.decoder!r}")
    if config.decoder == "bernoulli" and spec.num_levels != 2:
        raise ValueError(
            f"the bernoulli decoder needs binary data, this dataset has {spec.num_levels} levels"
        )
    if config.network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {config.network!r}")
    if config.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
    if config.network == "conv":
        check_conv_shape(spec.image_shape, config.channels)
    if config.class_conditional and spec.num_classes is None:
        raise ValueError("class_conditional=True needs a labelled dataset")
    if config.latent_dim < 1 or config.iwae_samples < 1:
        raise ValueError("latent_dim and iwae_samples must be >= 1")


def make_vae_recipe(config: VAEConfig, spec: DatasetSpec) -> Recipe:
    """Builds the VAE (or autoencoder) recipe for images of ``spec.image_shape``."""
    _check(config, spec)
    learned_scale = config.decoder == "logistic" or (
        config.decoder == "gaussian" and config.gaussian_log_var is None
    )
    out_per_pixel = 2 if learned_scale else 1
    decoder_hidden = tuple(reversed(config.hidden))
    if config.network == "conv":
        encoder = ConvGaussianEncoder(
            config.channels, config.hidden, config.latent_dim, config.activation
        )
        decoder = ConvDecoder(
            config.channels, decoder_hidden, spec.image_shape, out_per_pixel, config.activation
        )
    else:
        encoder = GaussianEncoder(config.hidden, config.latent_dim, config.activation)
        decoder = Decoder(decoder_hidden, spec.image_shape, out_per_pixel, config.activation)
    optimizer = make_optimizer(
        config.learning_rate,
        warmup_steps=config.warmup_steps,
        grad_clip_norm=config.grad_clip_norm,
        decay_steps=config.decay_steps,
    )
    dims = math.prod(spec.image_shape)
    channels = spec.image_shape[-1]

    def data_of(levels: jax.Array) -> jax.Array:
        """Levels to the decoder's data space: {0, 1} for Bernoulli, [-1, 1] otherwise."""
        levels = levels.astype(jnp.float32)
        if config.decoder == "bernoulli":
            return levels
        return levels * (2.0 / (spec.num_levels - 1)) - 1.0

    def condition_of(batch) -> jax.Array | None:
        if not config.class_conditional:
            return None
        return jax.nn.one_hot(batch["label"], spec.num_classes)

    def log_likelihood(params, x, z, condition):
        """``log p(x | z)`` summed over pixels: x ``[B, H, W, C]``, z ``[B, K, D]``; ``[B, K]``."""
        if condition is not None:
            condition = jnp.broadcast_to(condition[:, None], (*z.shape[:2], condition.shape[-1]))
        out = decoder.apply(params["decoder"], z, condition)
        x = x[:, None]
        if config.decoder == "bernoulli":
            return bernoulli_log_likelihood(x, out)
        mean = out[..., :channels]
        if config.decoder == "logistic":
            return discretized_logistic_log_likelihood(
                x, mean, out[..., channels:], spec.num_levels
            )
        log_var = out[..., channels:] if learned_scale else config.gaussian_log_var
        return gaussian_log_likelihood(x, mean, log_var)

    def encode(params, x, condition):
        return encoder.apply(params["encoder"], x, condition)

    def init(key: jax.Array, batch: dict) -> TrainState:
        enc_key, dec_key = jax.random.split(key)
        x = data_of(batch["image"])
        condition = condition_of(batch)
        enc = encoder.init(enc_key, x, condition)
        z = jnp.zeros((x.shape[0], config.latent_dim))
        dec = decoder.init(dec_key, z, condition)
        params = {"encoder": enc, "decoder": dec}
        return fresh_train_state(params, optimizer)

    def objective(params, batch, key, kl_weight):
        x, condition = data_of(batch["image"]), condition_of(batch)
        mean, log_var = encode(params, x, condition)

        def log_px(x, z):
            return log_likelihood(params, x, z, condition)

        if config.autoencoder:
            reconstruction = log_px(x, mean[:, None])[:, 0]
            kl = jnp.zeros_like(reconstruction)
            return {"elbo": reconstruction, "reconstruction": reconstruction, "kl": kl}
        return elbo(key, x, mean, log_var, log_px, beta=kl_weight)

    def kl_weight_at(step):
        if config.kl_warmup_steps <= 0:
            return jnp.float32(config.beta)
        ramp = jnp.minimum(1.0, (step.astype(jnp.float32) + 1.0) / config.kl_warmup_steps)
        return config.beta * ramp

    def train_step(state: TrainState, batch: dict, key: jax.Array):
        weight = kl_weight_at(state.step)

        def loss_fn(params):
            terms = objective(params, batch, key, weight)
            return masked_mean(-terms["elbo"], batch["mask"]), terms

        (loss, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        metrics = {
            "train/loss": loss,
            "train/kl": masked_mean(terms["kl"], batch["mask"]),
            "train/reconstruction": masked_mean(terms["reconstruction"], batch["mask"]),
            "train/kl_weight": weight,
        }
        return apply_gradients(state, grads, optimizer, config.ema_decay), metrics

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        params = state.ema_params
        elbo_key, iwae_key = jax.random.split(key)
        terms = objective(params, batch, elbo_key, 1.0)
        metrics = {"elbo": terms["elbo"], "kl": terms["kl"]}
        if not config.autoencoder:
            x, condition = data_of(batch["image"]), condition_of(batch)
            mean, log_var = encode(params, x, condition)
            bound = iwae_bound(
                iwae_key, x, mean, log_var,
                lambda x, z: log_likelihood(params, x, z, condition),
                num_samples=config.iwae_samples, chunk_size=config.iwae_chunk,
            )  # fmt: skip
            metrics["nll_nats"] = -bound
            metrics["bpd"] = -bound / (dims * math.log(2.0))
        return metrics

    def shown(x: jax.Array) -> jax.Array:
        """Data-space images in ``[-1, 1]`` for pictures."""
        return 2.0 * x - 1.0 if config.decoder == "bernoulli" else x

    def decoded_mean(params, z: jax.Array, condition: jax.Array | None) -> jax.Array:
        """The decoder's mean image in ``[-1, 1]`` for ``z [N, D]``: ``[N, H, W, C]``."""
        if condition is not None:
            condition = condition[:, None]
        out = decoder.apply(params["decoder"], z[:, None], condition)[:, 0]
        if config.decoder == "bernoulli":
            return shown(jax.nn.sigmoid(out))
        return jnp.clip(out[..., :channels], -1.0, 1.0)

    def sample(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        z = jax.random.normal(key, (num, config.latent_dim))
        condition = None
        if config.class_conditional:
            condition = jax.nn.one_hot(jnp.arange(num) % spec.num_classes, spec.num_classes)
        return decoded_mean(state.ema_params, z, condition)

    def figures(state: TrainState, batch: dict, key: jax.Array) -> dict[str, jax.Array]:
        params = state.ema_params
        x, condition = data_of(batch["image"]), condition_of(batch)
        mean, _ = encode(params, x, condition)
        n, shape = x.shape[0], spec.image_shape
        columns = 8 if n % 8 == 0 else n
        originals = shown(x).reshape(-1, columns, *shape)
        reconstructions = decoded_mean(params, mean, condition).reshape(-1, columns, *shape)
        # Rows of originals, each above its reconstructions.
        out = {
            "reconstructions": jnp.stack([originals, reconstructions], 1).reshape(
                -1, columns, *shape
            )
        }

        half = n // 2
        w = jnp.linspace(0.0, 1.0, INTERPOLATION_STEPS)[None, :, None]
        path_z = (1.0 - w) * mean[:half, None] + w * mean[half : 2 * half, None]
        path_c = None
        if condition is not None:  # the label moves along with z (one-hot to one-hot)
            path_c = (1.0 - w) * condition[:half, None] + w * condition[half : 2 * half, None]
            path_c = path_c.reshape(-1, condition.shape[-1])
        path = decoded_mean(params, path_z.reshape(-1, config.latent_dim), path_c)
        ends = shown(x)
        out["interpolations"] = jnp.concatenate(
            [
                ends[:half, None],
                path.reshape(half, INTERPOLATION_STEPS, *shape),
                ends[half : 2 * half, None],
            ],
            axis=1,
        )

        if config.class_conditional:
            k = spec.num_classes
            z = jax.random.normal(key, (10, config.latent_dim))
            labels = jax.nn.one_hot(jnp.repeat(jnp.arange(k), 10), k)
            images = decoded_mean(params, jnp.tile(z, (k, 1)), labels)
            out["class_samples"] = images.reshape(k, 10, *shape)
        elif config.latent_dim == 2 and not config.autoencoder:
            g = LATENT_MAP_SIZE
            quantiles = jax.scipy.stats.norm.ppf(jnp.linspace(0.05, 0.95, g))
            z1, z2 = jnp.meshgrid(quantiles, quantiles[::-1])  # z2 grows upwards
            images = decoded_mean(params, jnp.stack([z1, z2], -1).reshape(-1, 2), None)
            out["latent_map"] = images.reshape(g, g, *shape)
        return out

    return Recipe(
        name="ae" if config.autoencoder else "vae",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        representation="levels",
    )
