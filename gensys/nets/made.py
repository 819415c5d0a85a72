"""MADE, the masked autoencoder for distribution estimation (Germain et al. 2015).

An MLP ``x -> hidden -> logits`` whose weight matrices are multiplied by the masks of
:func:`gensys.autoregressive.masks.made_masks`, so that the logits of input ``d``
depend only on the inputs before ``d`` in the mask set's ordering: one pass gives all
``D`` conditionals. ``mask_index`` (traceable) picks one of ``num_masks`` sets; training
on a random set per step is the paper's order- and connectivity-agnostic training, and
averaging the sets' probabilities is its ensemble at test time (Sec. 4.2). Outputs are
categorical over ``L`` levels: each input's output mask is repeated over its ``L``
logits.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.autoregressive.masks import made_masks
from gensys.nets.levels import intensity


class MaskedDense(nn.Module):
    """``x @ (kernel * mask) + bias`` with the mask given per call (a constant array)."""

    features: int

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return x @ (kernel * mask) + bias


class MADE(nn.Module):
    image_shape: tuple[int, int, int]
    num_levels: int
    hidden: tuple[int, ...] = (500,)
    num_masks: int = 1
    order_agnostic: bool = False
    mask_seed: int = 0

    def masks(self):
        """``(orders [K, D], masks)`` of :func:`made_masks` for this network."""
        dims = math.prod(self.image_shape)
        return made_masks(
            dims,
            tuple(self.hidden),
            self.num_masks,
            order_agnostic=self.order_agnostic,
            seed=self.mask_seed,
        )

    @nn.compact
    def __call__(
        self, onehot: jax.Array, labels: jax.Array | None = None, mask_index: jax.Array | int = 0
    ) -> jax.Array:
        _, masks = self.masks()
        h = intensity(onehot).reshape(onehot.shape[0], -1)
        for width, mask in zip(self.hidden, masks[:-1], strict=True):
            h = nn.relu(MaskedDense(width)(h, jnp.asarray(mask)[mask_index]))
        output_mask = jnp.repeat(jnp.asarray(masks[-1])[mask_index], self.num_levels, axis=-1)
        logits = MaskedDense(output_mask.shape[-1])(h, output_mask)
        return logits.reshape(onehot.shape)
