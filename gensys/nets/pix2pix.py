"""pix2pix's networks (Isola et al. 2017): a U-Net translator and a PatchGAN discriminator.

- :class:`UNetTranslator`: an encoder of 4x4 stride-2 convolutions (LeakyReLU 0.2, batch
  norm on all but the first) down to ``1 x 1`` or ``min_size``, and a mirrored decoder of
  4x4 stride-2 transposed convolutions (batch norm, ReLU; dropout 0.5 on the first
  ``dropout_layers``, pix2pix's only noise, active at training *and* sampling time as in
  the paper) whose every layer is concatenated with the encoder layer of the same size
  (the skip connections), then a transposed convolution to the image channels and tanh.
  No ``z``: Isola et al. found the generator learned to ignore it.
- :class:`PatchDiscriminator`: ``[condition, image]`` stacked as channels, 4x4
  convolutions (stride 2, then stride 1), LeakyReLU 0.2, batch norm but on the first;
  one logit per overlapping patch ``[B, h, w]`` (the "70x70 PatchGAN" at this scale:
  each logit sees a window, not the whole image).

Weights from N(0, 0.02) as in DCGAN and pix2pix.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets.dcgan import DCGAN_INIT, _bn_scale_init
from gensys.nets.sizes import doublings
from gensys.nets.subpixel import SubPixelConvTranspose


def _batch_norm(h: jax.Array, train: bool) -> jax.Array:
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, scale_init=_bn_scale_init)(h)


def _down(h: jax.Array, features: int, strides: int = 2) -> jax.Array:
    return nn.Conv(
        features, (4, 4), strides=(strides, strides), padding="SAME", kernel_init=DCGAN_INIT
    )(h)


def translator_depth(size: int, min_size: int = 1) -> int:
    """Encoder layers that halve a ``size`` square down to ``min_size``; ``ValueError``
    unless ``size = min_size * 2^L`` with ``L >= 2``."""
    depth = doublings(size, min_size, at_least=2)
    if depth is None:
        raise ValueError(
            f"the U-Net translator needs square images of side min_size * 2^L with L >= 2 "
            f"(min_size={min_size}), got {size}; set image_size to resize the data"
        )
    return depth


class UNetTranslator(nn.Module):
    """``x [B, S, S, C_in] -> y [B, S, S, channels]`` in ``(-1, 1)``.

    Attributes:
        channels: output channels.
        width: features of the first encoder layer; doubled per layer up to ``max_width``.
        max_width: the widest layer.
        min_size: the bottleneck's side.
        dropout_layers: decoder layers (from the bottleneck) with dropout 0.5.
    """

    channels: int
    width: int = 32
    max_width: int = 256
    min_size: int = 1
    dropout_layers: int = 3

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        depth = translator_depth(x.shape[1], self.min_size)
        widths = [min(self.width * 2**i, self.max_width) for i in range(depth)]
        h = x.astype(jnp.float32)
        skips = []
        for i, features in enumerate(widths):
            h = _down(h, features)
            if 0 < i < depth - 1:  # neither the first nor the bottleneck (1x1 at batch 1)
                h = _batch_norm(h, train)
            h = nn.leaky_relu(h, 0.2)
            skips.append(h)
        skips.pop()  # the bottleneck itself
        for i, features in enumerate(reversed(widths[:-1])):
            h = SubPixelConvTranspose(features, use_bias=False, kernel_init=DCGAN_INIT)(h)
            h = _batch_norm(h, train)
            if i < self.dropout_layers:
                h = nn.Dropout(0.5, deterministic=False)(h)
            h = nn.relu(h)
            h = jnp.concatenate([h, skips.pop()], axis=-1)
        h = SubPixelConvTranspose(self.channels, kernel_init=DCGAN_INIT)(h)
        return jnp.tanh(h)


class PatchDiscriminator(nn.Module):
    """``(condition, image)`` each ``[B, S, S, C]`` -> patch logits ``[B, h, w]``.

    Attributes:
        widths: features of the stride-2 layers, then one stride-1 layer of twice the last.
    """

    widths: Sequence[int] = (32, 64)

    @nn.compact
    def __call__(self, condition: jax.Array, image: jax.Array, *, train: bool) -> jax.Array:
        h = jnp.concatenate([condition, image], axis=-1).astype(jnp.float32)
        for i, features in enumerate(self.widths):
            h = _down(h, features)
            if i > 0:
                h = _batch_norm(h, train)
            h = nn.leaky_relu(h, 0.2)
        h = nn.leaky_relu(_batch_norm(_down(h, 2 * self.widths[-1], strides=1), train), 0.2)
        return _down(h, 1, strides=1)[..., 0]
