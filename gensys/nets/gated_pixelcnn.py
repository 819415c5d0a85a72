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
Single-channel images.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets.levels import intensity
from gensys.nets.pixelcnn import logits_head


def _shift_down(x: jax.Array) -> jax.Array:
    return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def _shift_right(x: jax.Array) -> jax.Array:
    return jnp.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


def _gate(x: jax.Array) -> jax.Array:
    filter_, gate = jnp.split(x, 2, axis=-1)
    return jnp.tanh(filter_) * jax.nn.sigmoid(gate)


class GatedLayer(nn.Module):
    features: int
    kernel_size: int
    first: bool = False

    @nn.compact
    def __call__(self, v, h, condition):
        k, f = self.kernel_size, self.features
        # Vertical: rows i - k//2 .. i, columns j - k//2 .. j + k//2.
        padded = jnp.pad(v, ((0, 0), (k // 2, 0), (k // 2, k // 2), (0, 0)))
        v_pre = nn.Conv(2 * f, (k // 2 + 1, k), padding="VALID")(padded)
        # Horizontal: columns j - k//2 .. j of row i (the first layer shifts j out).
        source = _shift_right(h) if self.first else h
        h_padded = jnp.pad(source, ((0, 0), (0, 0), (k // 2, 0), (0, 0)))
        h_pre = nn.Conv(2 * f, (1, k // 2 + 1), padding="VALID")(h_padded)
        h_pre = h_pre + nn.Dense(2 * f)(_shift_down(v_pre))
        if condition is not None:
            v_pre = v_pre + nn.Dense(2 * f, use_bias=False)(condition)[:, None, None]
            h_pre = h_pre + nn.Dense(2 * f, use_bias=False)(condition)[:, None, None]
        v_out = _gate(v_pre)
        h_out = nn.Dense(f)(_gate(h_pre))
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
        if onehot.shape[3] != 1:
            raise ValueError(f"GatedPixelCNN here models one channel, got {onehot.shape[3]}")
        condition = None
        if self.num_classes is not None:
            if labels is None:
                raise ValueError("a class-conditional GatedPixelCNN needs labels")
            condition = jax.nn.one_hot(labels, self.num_classes)
        x = intensity(onehot)[..., 0, None]
        v, h = x, x
        for i in range(self.num_layers):
            size = self.first_kernel_size if i == 0 else self.kernel_size
            v, h = GatedLayer(self.features, size, first=i == 0)(v, h, condition)
        return logits_head(h, self.features, self.num_levels)
