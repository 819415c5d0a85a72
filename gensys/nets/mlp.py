"""Fully connected networks: the encoder and decoder of the MLP VAE and autoencoder."""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


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
        act = {"tanh": jnp.tanh, "relu": nn.relu, "silu": nn.silu}[self.activation]
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
