"""PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", Sec. 3.4, 3.5).

A masked 7x7 convolution of type A, residual blocks ``h -> 1x1 (h/2) -> masked 3x3 B
(h/2) -> 1x1 (h)`` with ReLUs (their Fig. 5), then two 1x1 layers to ``L`` logits per
pixel. Stacking masked 3x3 kernels leaves a blind spot: pixels above and to the right of
the current one that no path reaches (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders", Fig. 1); the gated PixelCNN of
:mod:`gensys.nets.gated_pixelcnn` removes it. Single-channel images.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.autoregressive.masks import raster_kernel_mask
from gensys.nets.levels import intensity


class MaskedConv(nn.Module):
    """A 'SAME' convolution whose kernel is multiplied by the raster mask of ``mask_type``."""

    features: int
    kernel_size: tuple[int, int]
    mask_type: str = "B"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel",
            nn.initializers.lecun_normal(),
            (*self.kernel_size, x.shape[-1], self.features),
        )
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        kernel = kernel * jnp.asarray(raster_kernel_mask(self.kernel_size, self.mask_type))
        out = jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        return out + bias


def logits_head(h: jax.Array, features: int, num_levels: int) -> jax.Array:
    """``ReLU -> 1x1 -> ReLU -> 1x1`` to ``[B, H, W, 1, L]`` logits (a 1x1 layer sees only
    its own position, so it keeps the autoregressive property)."""
    h = nn.Dense(features)(nn.relu(h))
    logits = nn.Dense(num_levels)(nn.relu(h))
    return logits[..., None, :]


class PixelCNN(nn.Module):
    num_levels: int
    features: int = 64
    num_layers: int = 7  # residual blocks after the type-A layer
    kernel_size: int = 3
    first_kernel_size: int = 7

    @nn.compact
    def __call__(self, onehot: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        x = intensity(onehot)[..., 0, None] if onehot.shape[3] == 1 else None
        if x is None:
            raise ValueError(f"PixelCNN here models one channel, got {onehot.shape[3]}")
        first = (self.first_kernel_size, self.first_kernel_size)
        h = MaskedConv(self.features, first, "A")(x)
        for _ in range(self.num_layers):
            r = nn.Dense(self.features // 2)(nn.relu(h))
            r = MaskedConv(self.features // 2, (self.kernel_size, self.kernel_size))(nn.relu(r))
            h = h + nn.Dense(self.features)(nn.relu(r))
        return logits_head(h, self.features, self.num_levels)
