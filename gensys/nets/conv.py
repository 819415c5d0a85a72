"""Convolutional encoder and decoder of the VAE and autoencoder.

The encoder halves the resolution at every stage (3x3 convolutions of stride
2, as in the DCGAN discriminator of Radford et al. 2016 and most convolutional
VAEs), then an :class:`~gensys.nets.mlp.MLP` head maps the features (and an
optional one-hot condition) to ``(mean, log_var)``. The decoder mirrors it: an
MLP from ``z`` to a ``[H / 2^L, W / 2^L, channels[-1]]`` map, then 4x4
transposed convolutions of stride 2 back to full resolution (computed as
sub-pixel convolutions, :mod:`gensys.nets.subpixel`); the last one emits
the per-pixel parameters. ``H`` and ``W`` must be divisible by ``2^L``
(``L = len(channels)``): 8x8 digits and 28x28 MNIST take two stages.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets.mlp import ACTIVATIONS, MLP
from gensys.nets.subpixel import SubPixelConvTranspose


def check_conv_shape(image_shape: Sequence[int], channels: Sequence[int]) -> tuple[int, int]:
    """The bottleneck resolution ``(H / 2^L, W / 2^L)``; ``ValueError`` when it is not whole."""
    if not channels:
        raise ValueError("a convolutional network needs at least one stage (channels=())")
    factor = 2 ** len(channels)
    height, width = image_shape[0], image_shape[1]
    if height % factor or width % factor:
        raise ValueError(
            f"images of {height}x{width} cannot be halved {len(channels)} times "
            f"(channels={tuple(channels)}); use fewer stages"
        )
    return height // factor, width // factor


class ConvGaussianEncoder(nn.Module):
    """``x [B, H, W, C] (+ one-hot condition) -> (mean, log_var)``, each ``[B, latent]``.

    Attributes:
        channels: output channels of the stride-2 stages, in order.
        hidden: widths of the MLP head after the convolutions (may be empty).
        latent_dim: size of ``z``.
        activation: after every convolution and hidden layer.
    """

    channels: Sequence[int]
    hidden: Sequence[int]
    latent_dim: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, condition: jax.Array | None = None):
        check_conv_shape(x.shape[1:], self.channels)
        act = ACTIVATIONS[self.activation]
        h = x.astype(jnp.float32)
        for width in self.channels:
            h = act(nn.Conv(width, (3, 3), strides=(2, 2), padding="SAME")(h))
        h = h.reshape(h.shape[0], -1)
        if condition is not None:
            h = jnp.concatenate([h, condition], axis=-1)
        out = MLP(self.hidden, 2 * self.latent_dim, self.activation)(h)
        return out[:, : self.latent_dim], out[:, self.latent_dim :]


class ConvDecoder(nn.Module):
    """``z [..., latent] (+ condition) -> [..., H, W, C * out_per_pixel]`` parameters of p(x|z).

    Leading axes of ``z`` (batch, importance samples) are kept, as in
    :class:`~gensys.nets.mlp.Decoder`.

    Attributes:
        channels: the encoder's stage widths; the decoder runs them in reverse.
        hidden: MLP widths from ``z`` to the bottleneck map (may be empty).
        image_shape: ``(H, W, C)`` of the data.
        out_per_pixel: 1 for logits or a fixed-variance mean, 2 for mean and log scale.
        activation: after every hidden layer and transposed convolution but the last.
    """

    channels: Sequence[int]
    hidden: Sequence[int]
    image_shape: tuple[int, int, int]
    out_per_pixel: int = 1
    activation: str = "relu"

    @nn.compact
    def __call__(self, z: jax.Array, condition: jax.Array | None = None) -> jax.Array:
        bottom_h, bottom_w = check_conv_shape(self.image_shape, self.channels)
        act = ACTIVATIONS[self.activation]
        lead = z.shape[:-1]
        h = z.reshape(-1, z.shape[-1])
        if condition is not None:
            h = jnp.concatenate([h, condition.reshape(-1, condition.shape[-1])], axis=-1)
        top = self.channels[-1]
        h = act(MLP(self.hidden, bottom_h * bottom_w * top, self.activation)(h))
        h = h.reshape(-1, bottom_h, bottom_w, top)
        for width in reversed(self.channels[:-1]):
            h = act(SubPixelConvTranspose(width)(h))
        out_channels = self.image_shape[-1] * self.out_per_pixel
        h = SubPixelConvTranspose(out_channels)(h)
        return h.reshape(*lead, *self.image_shape[:-1], out_channels)
