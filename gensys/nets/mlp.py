"""Fully connected networks: the MLP VAE's encoder and decoder, the MLP GAN's two players."""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets.embeddings import LabelProjection
from gensys.nets.spectral_norm import spectrally_normalized

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "silu": nn.silu,
    "leaky_relu": lambda x: nn.leaky_relu(x, 0.2),
    "gelu": lambda x: nn.gelu(x, approximate=False),  # the exact erf form (PyTorch's default)
}
GENERATOR_OUTPUTS = ("tanh", "sigmoid", "none")


class MLP(nn.Module):
    """``[B, ...] -> [B, out]``: flatten, ``Dense + activation`` per hidden width, a linear head.

    Attributes:
        hidden: widths of the hidden layers.
        out: output width.
        activation: applied after every hidden layer (default ``tanh``, as in
            Kingma & Welling 2014 and Burda et al. 2016).
    """

    hidden: Sequence[int]
    out: int
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        h = x.reshape(x.shape[0], -1).astype(jnp.float32)
        for width in self.hidden:
            h = act(nn.Dense(width)(h))
        return nn.Dense(self.out)(h)


class GaussianEncoder(nn.Module):
    """``x [B, ...] (+ one-hot label) -> (mean, log_var)`` of ``q(z | x)``, each ``[B, latent]``."""

    hidden: Sequence[int]
    latent_dim: int
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array, condition: jax.Array | None = None):
        h = x.reshape(x.shape[0], -1).astype(jnp.float32)
        if condition is not None:
            h = jnp.concatenate([h, condition], axis=-1)
        out = MLP(self.hidden, 2 * self.latent_dim, self.activation)(h)
        return out[:, : self.latent_dim], out[:, self.latent_dim :]


class Decoder(nn.Module):
    """``z [..., latent] (+ condition) -> [..., *shape, channels_per_pixel]`` parameters of p(x|z).

    Leading axes of ``z`` (batch, importance samples) are kept; ``out_per_pixel``
    is 1 for Bernoulli logits or a fixed-variance mean, 2 for mean and log scale.
    """

    hidden: Sequence[int]
    image_shape: tuple[int, int, int]
    out_per_pixel: int = 1
    activation: str = "tanh"

    @nn.compact
    def __call__(self, z: jax.Array, condition: jax.Array | None = None) -> jax.Array:
        lead = z.shape[:-1]
        h = z.reshape(-1, z.shape[-1])
        if condition is not None:
            h = jnp.concatenate([h, condition.reshape(-1, condition.shape[-1])], axis=-1)
        size = math.prod(self.image_shape)
        out = MLP(self.hidden, size * self.out_per_pixel, self.activation)(h)
        return out.reshape(*lead, *self.image_shape[:-1], self.image_shape[-1] * self.out_per_pixel)


class MLPGenerator(nn.Module):
    """The MLP GAN's generator (Goodfellow et al. 2014): ``z [B, D]`` (+ labels ``(B,)``,
    one-hot and concatenated as in Mirza & Osindero 2014) -> ``[B, *image_shape]``.

    ``output="tanh"`` for images in ``[-1, 1]``; ``"sigmoid"`` for pixel intensities
    ``p = sigmoid(h)`` in ``[0, 1]``, returned as ``2 p - 1`` in gensys's ``[-1, 1]``;
    ``"none"`` for unbounded data (the 2-D toy densities). ``batch_norm`` puts batch
    normalisation between each hidden layer's Dense and its activation (Ioffe & Szegedy
    2015; its running statistics follow ``train``, which is otherwise unused).
    """

    hidden: Sequence[int]
    image_shape: tuple[int, int, int]
    output: str = "tanh"
    num_classes: int | None = None
    activation: str = "leaky_relu"
    batch_norm: bool = False

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        if self.output not in GENERATOR_OUTPUTS:
            raise ValueError(f"output must be one of {GENERATOR_OUTPUTS}, got {self.output!r}")
        act = ACTIVATIONS[self.activation]
        h = z.astype(jnp.float32)
        if self.num_classes is not None:
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes)], axis=-1)
        size = math.prod(self.image_shape)
        if not self.batch_norm:
            h = MLP(self.hidden, size, self.activation)(h)
        else:
            for width in self.hidden:
                h = nn.Dense(width)(h)
                h = act(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
            h = nn.Dense(size)(h)
        if self.output == "tanh":
            h = jnp.tanh(h)
        elif self.output == "sigmoid":
            h = 2.0 * jax.nn.sigmoid(h) - 1.0
        return h.reshape(-1, *self.image_shape)


class MLPDiscriminator(nn.Module):
    """The MLP GAN's discriminator: ``x [B, ...]`` (+ labels) -> logits ``(B,)``.

    Labels enter as a concatenated one-hot (``conditioning="concat"``) or through the
    projection term on the last hidden layer (``"projection"``, Miyato & Koyama 2018).
    """

    hidden: Sequence[int]
    num_classes: int | None = None
    conditioning: str = "projection"
    activation: str = "leaky_relu"
    spectral_norm: bool = False  # every dense layer (Miyato et al. 2018)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        def layer(module: nn.Module, h: jax.Array) -> jax.Array:
            return spectrally_normalized(self, module, h, enabled=self.spectral_norm, train=train)

        act = ACTIVATIONS[self.activation]
        h = x.reshape(x.shape[0], -1).astype(jnp.float32)
        conditional = self.num_classes is not None
        if conditional and self.conditioning == "concat":
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes)], axis=-1)
        for width in self.hidden:
            h = act(layer(nn.Dense(width), h))
        out = layer(nn.Dense(1), h)[:, 0]
        if conditional and self.conditioning == "projection":
            out = out + LabelProjection(self.num_classes)(h, labels)
        return out
