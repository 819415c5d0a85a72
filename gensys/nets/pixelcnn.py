"""PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", Sec. 3.4, 3.5).

A masked 7x7 convolution of type A, residual blocks ``h -> 1x1 (h/2) -> masked 3x3 B
(h/2) -> 1x1 (h)`` with ReLUs (their Fig. 5), then two 1x1 layers to ``L`` logits per
pixel. Stacking masked 3x3 kernels leaves a blind spot: pixels above and to the right of
the current one that no path reaches (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders", Fig. 1); the gated PixelCNN of
:mod:`gensys.nets.gated_pixelcnn` removes it.

Colour images (``C`` channels) split every layer's features into ``C`` groups (feature
``k`` in group ``k mod C``, :mod:`gensys.autoregressive.masks`): the masked convolutions
and the 1x1 layers mask the centre tap by group, so channel ``c`` of a pixel is predicted
from the pixels before it and the channels before ``c`` of the pixel itself (their
Sec. 3.4). With one channel the layers are the plain ones.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gensys.autoregressive.masks import channel_mask, raster_kernel_mask
from gensys.nets.levels import intensity


def masked_conv(module: nn.Module, x: jax.Array, mask: np.ndarray, padding: str) -> jax.Array:
    """``module``'s convolution (its ``kernel`` shaped like ``mask``, ``bias``) with the
    kernel multiplied by the 0/1 ``mask [kh, kw, in, out]``."""
    kernel = module.param("kernel", nn.initializers.lecun_normal(), mask.shape)
    bias = module.param("bias", nn.initializers.zeros, (mask.shape[-1],))
    out = jax.lax.conv_general_dilated(
        x, kernel * jnp.asarray(mask), (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return out + bias


class MaskedConv(nn.Module):
    """A 'SAME' convolution whose kernel is multiplied by the raster mask of ``mask_type``
    over ``channels`` channel groups."""

    features: int
    kernel_size: tuple[int, int]
    mask_type: str = "B"
    channels: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        mask = raster_kernel_mask(
            self.kernel_size, self.mask_type, x.shape[-1], self.features, self.channels
        )
        return masked_conv(self, x, mask, "SAME")


class ChannelMaskedDense(nn.Module):
    """A 1x1 layer whose input feature ``i`` reaches output ``o`` only as
    :func:`~gensys.autoregressive.masks.channel_mask` allows (``nn.Dense``'s parameters)."""

    features: int
    channels: int
    mask_type: str = "B"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        mask = channel_mask(x.shape[-1], self.features, self.channels, self.mask_type)
        return x @ (kernel * jnp.asarray(mask)) + bias


def pixel_dense(features: int, channels: int) -> nn.Module:
    """A 1x1 layer of type B: ``nn.Dense`` for one channel, channel-masked for colour."""
    return nn.Dense(features) if channels == 1 else ChannelMaskedDense(features, channels)


def logits_head(h: jax.Array, features: int, num_levels: int, channels: int = 1) -> jax.Array:
    """``ReLU -> 1x1 -> ReLU -> 1x1`` to ``[B, H, W, C, L]`` logits (a 1x1 layer sees only
    its own position, so it keeps the autoregressive property). The last layer's output
    ``l C + c`` (group ``c``) is level ``l`` of channel ``c``."""
    h = pixel_dense(features, channels)(nn.relu(h))
    logits = pixel_dense(num_levels * channels, channels)(nn.relu(h))
    logits = logits.reshape(*logits.shape[:-1], num_levels, channels)
    return jnp.swapaxes(logits, -1, -2)


class PixelCNN(nn.Module):
    num_levels: int
    features: int = 64
    num_layers: int = 7  # residual blocks after the type-A layer
    kernel_size: int = 3
    first_kernel_size: int = 7

    @nn.compact
    def __call__(self, onehot: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        channels = onehot.shape[3]
        x = intensity(onehot)  # [B, H, W, C]
        first = (self.first_kernel_size, self.first_kernel_size)
        square = (self.kernel_size, self.kernel_size)
        h = MaskedConv(self.features, first, "A", channels)(x)
        for _ in range(self.num_layers):
            r = pixel_dense(self.features // 2, channels)(nn.relu(h))
            r = MaskedConv(self.features // 2, square, "B", channels)(nn.relu(r))
            h = h + pixel_dense(self.features, channels)(nn.relu(r))
        return logits_head(h, self.features, self.num_levels, channels)
