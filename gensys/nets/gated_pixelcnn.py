"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
Decoders"), with optional class conditioning.

Two stacks remove the PixelCNN's blind spot (their Fig. 1-2):

- the vertical stack convolves ``(k//2 + 1) x k`` kernels over the rows above and the
  current row, so its receptive field grows as a full rectangle above;
- the horizontal stack convolves ``1 x (k//2 + 1)`` kernels over the current row up to
  the current pixel (excluding it in the first layer) and receives the vertical stack
  shifted down by one row, so it sees only finished rows from it.

Each layer gates ``tanh(W_f * x + V_f h) * sigmoid(W_g * x + V_g h)`` (eq. 4; ``h`` a
class embedding), and the horizontal stack is residual after its first layer.

Colour images (``C`` channels, features in groups ``k mod C`` as in
:mod:`gensys.nets.pixelcnn`): the vertical stack reaches the horizontal one only shifted
down a row, so it needs no channel mask; the horizontal stack's tap on the current pixel
and its 1x1 layers are masked by group (type B), and the first layer, whose horizontal
convolution sees only the pixels to the left, adds the current pixel's earlier channels
through a 1x1 layer of type A. ``features`` must be a multiple of ``C`` so that the
gate's two halves keep each feature's group.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gensys.autoregressive.masks import channel_mask
from gensys.nets.levels import intensity
from gensys.nets.pixelcnn import ChannelMaskedDense, logits_head, masked_conv, pixel_dense


def _shift_down(x: jax.Array) -> jax.Array:
    return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def _shift_right(x: jax.Array) -> jax.Array:
    return jnp.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


def _gate(x: jax.Array) -> jax.Array:
    filter_, gate = jnp.split(x, 2, axis=-1)
    return jnp.tanh(filter_) * jax.nn.sigmoid(gate)


class RowConv(nn.Module):
    """A ``1 x width`` VALID convolution whose last tap, the current pixel, is masked by
    channel group (type B): the horizontal stack's convolution on colour images."""

    features: int
    width: int
    channels: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        mask = np.ones((1, self.width, x.shape[-1], self.features), np.float32)
        mask[0, -1] = channel_mask(x.shape[-1], self.features, self.channels, "B")
        return masked_conv(self, x, mask, "VALID")


class GatedLayer(nn.Module):
    features: int
    kernel_size: int
    first: bool = False
    channels: int = 1

    @nn.compact
    def __call__(self, v, h, condition):
        k, f, channels = self.kernel_size, self.features, self.channels
        # Vertical: rows i - k//2 .. i, columns j - k//2 .. j + k//2.
        padded = jnp.pad(v, ((0, 0), (k // 2, 0), (k // 2, k // 2), (0, 0)))
        v_pre = nn.Conv(2 * f, (k // 2 + 1, k), padding="VALID")(padded)
        # Horizontal: columns j - k//2 .. j of row i (the first layer shifts j out).
        source = _shift_right(h) if self.first else h
        h_padded = jnp.pad(source, ((0, 0), (0, 0), (k // 2, 0), (0, 0)))
        if channels == 1 or self.first:
            h_pre = nn.Conv(2 * f, (1, k // 2 + 1), padding="VALID")(h_padded)
        else:
            h_pre = RowConv(2 * f, k // 2 + 1, channels)(h_padded)
        if self.first and channels > 1:
            # The current pixel's channels before each group's own.
            h_pre = h_pre + ChannelMaskedDense(2 * f, channels, "A")(h)
        h_pre = h_pre + nn.Dense(2 * f)(_shift_down(v_pre))
        if condition is not None:
            v_pre = v_pre + nn.Dense(2 * f, use_bias=False)(condition)[:, None, None]
            h_pre = h_pre + nn.Dense(2 * f, use_bias=False)(condition)[:, None, None]
        v_out = _gate(v_pre)
        h_out = pixel_dense(f, channels)(_gate(h_pre))
        return v_out, h_out if self.first else h + h_out


class GatedPixelCNN(nn.Module):
    num_levels: int
    features: int = 64
    num_layers: int = 8
    kernel_size: int = 3
    first_kernel_size: int = 7
    num_classes: int | None = None

    @nn.compact
    def __call__(self, onehot: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        channels = onehot.shape[3]
        condition = None
        if self.num_classes is not None:
            if labels is None:
                raise ValueError("a class-conditional GatedPixelCNN needs labels")
            condition = jax.nn.one_hot(labels, self.num_classes)
        x = intensity(onehot)  # [B, H, W, C]
        v, h = x, x
        for i in range(self.num_layers):
            size = self.first_kernel_size if i == 0 else self.kernel_size
            v, h = GatedLayer(self.features, size, i == 0, channels)(v, h, condition)
        return logits_head(h, self.features, self.num_levels, channels)
