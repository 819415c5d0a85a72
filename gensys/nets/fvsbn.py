"""The fully visible sigmoid belief network (Frey 1998; Neal 1992), with categorical outputs.

``logits_i = b_i + sum_{j < i} W_{j i} x_j`` in raster order: a logistic regression of
each pixel on the pixels before it (a softmax over the levels ``L`` when ``L > 2``,
which for binary data is the classic sigmoid). ``W`` is ``[D, D, L]``, masked to
``j < i``; ``x_j`` is the pixel's intensity in ``[0, 1]``.

Cached sampling keeps the running logits of every pixel ``[B, D, L]`` and adds one row
of ``W`` per drawn pixel: ``O(D L)`` a step instead of ``O(D^2 L)``.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gensys.nets.levels import intensity


class FVSBN(nn.Module):
    image_shape: tuple[int, int, int]
    num_levels: int

    def setup(self):
        dims = math.prod(self.image_shape)
        self.weights = self.param("weights", nn.initializers.zeros, (dims, dims, self.num_levels))
        self.bias = self.param("bias", nn.initializers.zeros, (dims, self.num_levels))
        self.before = jnp.asarray(np.triu(np.ones((dims, dims), np.float32), k=1))[..., None]

    def __call__(self, onehot: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        x = intensity(onehot).reshape(onehot.shape[0], -1)
        logits = jnp.einsum("bj,jil->bil", x, self.weights * self.before) + self.bias
        return logits.reshape(onehot.shape)

    def init_cache(self, num: int) -> jax.Array:
        return jnp.broadcast_to(self.bias, (num, *self.bias.shape))

    def step(self, cache: jax.Array, t: jax.Array, previous: jax.Array):
        """Adds pixel ``t - 1`` (one-hot ``previous [B, L]``) and returns pixel ``t``'s logits."""
        # Row t - 1 of the masked W: its weights into the pixels after t - 1.
        row = jax.lax.dynamic_index_in_dim(self.weights, t - 1, keepdims=False)
        row = row * (jnp.arange(row.shape[0]) > t - 1)[:, None]
        x = jnp.where(t > 0, intensity(previous), 0.0)
        cache = cache + x[:, None, None] * row[None]
        return jax.lax.dynamic_index_in_dim(cache, t, axis=1, keepdims=False), cache
