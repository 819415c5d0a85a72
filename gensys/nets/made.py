"""MADE, the masked autoencoder for distribution estimation (Germain et al. 2015).

An MLP ``x -> hidden -> logits`` whose weight matrices are multiplied by the masks of
:func:`gensys.autoregressive.masks.made_masks`, so that the logits of input ``d``
depend only on the inputs before ``d`` in the mask set's ordering: one pass gives all
``D`` conditionals. ``mask_index`` (traceable) picks one of ``num_masks`` sets; training
on a random set per step is the paper's order- and connectivity-agnostic training, and
averaging the sets' probabilities is its ensemble at test time (Sec. 4.2). Outputs are
categorical over ``L`` levels: each input's output mask is repeated over its ``L``
logits.

``direct=True`` adds the paper's direct input-to-output connection (its code's
``direct_input_connect``; masked by :func:`~gensys.autoregressive.masks.direct_masks`).
Without it an output sees its immediate predecessors only through the few hidden units
whose degree falls between them: with ``H`` hidden units of degrees drawn from
``1..D-1``, input ``d - 1`` reaches output ``d`` through ``H / (D - 1)`` units on average
(0.64 for 500 units on MNIST), so the pixel left of each pixel, the best single
predictor, is all but invisible, and MADE trails a fully visible sigmoid belief network.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.autoregressive.masks import direct_masks, made_masks
from gensys.nets.levels import intensity


class MaskedDense(nn.Module):
    """``x @ (kernel * mask) + bias`` with the mask given per call (a constant array)."""

    features: int
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features))
        out = x @ (kernel * mask)
        if self.use_bias:
            out = out + self.param("bias", nn.initializers.zeros, (self.features,))
        return out


class MADE(nn.Module):
    image_shape: tuple[int, int, int]
    num_levels: int
    hidden: tuple[int, ...] = (500,)
    num_masks: int = 1
    order_agnostic: bool = False
    mask_seed: int = 0
    direct: bool = False  # a masked input-to-output layer beside the hidden ones
    real_inputs: bool = False  # inputs are real values [..., 1], not one-hot levels

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
        # Real-valued data (RNADE / MADE with a Gaussian mixture) arrives as [..., 1] values.
        values = onehot[..., 0] if self.real_inputs else intensity(onehot)
        x = values.reshape(onehot.shape[0], -1)
        h = x
        for width, mask in zip(self.hidden, masks[:-1], strict=True):
            h = nn.relu(MaskedDense(width)(h, jnp.asarray(mask)[mask_index]))
        output_mask = jnp.repeat(jnp.asarray(masks[-1])[mask_index], self.num_levels, axis=-1)
        logits = MaskedDense(output_mask.shape[-1])(h, output_mask)
        if self.direct:
            orders, _ = self.masks()
            # One mask when every set shares the natural order (a [K, D, D] constant else).
            direct = direct_masks(orders if self.order_agnostic else orders[:1])
            mask = jnp.asarray(direct)[mask_index if self.order_agnostic else 0]
            direct_layer = MaskedDense(
                output_mask.shape[-1],
                use_bias=False,
                kernel_init=nn.initializers.zeros,
                name="direct",
            )
            logits = logits + direct_layer(x, jnp.repeat(mask, self.num_levels, axis=-1))
        # num_levels outputs a pixel: its levels' logits, or a mixture's parameters.
        return logits.reshape(*onehot.shape[:-1], self.num_levels)
