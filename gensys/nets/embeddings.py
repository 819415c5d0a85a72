"""Embeddings: sinusoidal timesteps, and the projection discriminator's label term."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


def sinusoidal_embedding(t: jax.Array, dim: int, max_period: float = 10_000.0) -> jax.Array:
    """Transformer-style sinusoidal embedding of (possibly fractional) timesteps.

    ``emb[:, i] = sin(t * w_i)`` for the first half and ``cos(t * w_i)`` for the
    second, with ``w_i = max_period^(-i / (dim / 2))`` (Vaswani et al. 2017, as
    used by Ho et al. 2020). Always computed in float32: in bfloat16 the
    timestep 999 rounds to 1000.

    Args:
        t: timesteps, shape ``(B,)``.
        dim: embedding width (even).

    Returns:
        float32 array ``[B, dim]``.
    """
    if dim % 2 != 0 or dim < 2:
        raise ValueError(f"dim must be a positive even number, got {dim}")
    if t.ndim != 1:
        raise ValueError(f"t must have shape (B,), got {t.shape}")
    half = dim // 2
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
    args = t.astype(jnp.float32)[:, None] * freqs[None, :]
    return jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)


class LabelProjection(nn.Module):
    """The projection discriminator's class term ``<embed(y), phi(x)>``, ``(B,)``
    (Miyato & Koyama 2018): features ``[B, F]``, integer labels ``(B,)``."""

    num_classes: int

    @nn.compact
    def __call__(self, features: jax.Array, labels: jax.Array) -> jax.Array:
        init = nn.initializers.normal(0.02)
        embedded = nn.Embed(self.num_classes, features.shape[-1], embedding_init=init)(labels)
        return jnp.sum(embedded * features, axis=-1)
