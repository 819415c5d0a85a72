"""StackGAN's networks (Zhang et al. 2017): conditioning augmentation and the two
generators. Both stages' discriminators are DCGAN's with a vector condition
(:mod:`gensys.nets.dcgan`, conditioning ``"spatial"``).

- :class:`ConditioningAugmentation`: a text embedding ``phi [B, E]`` -> a dense layer ->
  ``(mu, log sigma^2)`` of size ``c_dim`` -> ``c = mu + sigma * eps``. Sampling ``c``
  instead of using ``phi`` fills the conditioning manifold around the few training
  captions; the recipe adds ``KL(N(mu, sigma^2) || N(0, I))`` to the generator's loss.
- :class:`StageIGenerator`: its own conditioning augmentation, then DCGAN's generator
  on ``[z, c]`` to a low-resolution image.
- :class:`StageIIGenerator`: its own conditioning augmentation; the stage-I image
  ``[B, s, s, C]`` -> a 3x3 convolution (``width``) with ReLU -> the stage-II condition
  ``c`` replicated over the map and concatenated in depth -> a 3x3 convolution with
  batch norm and ReLU -> ``num_residual`` residual blocks -> ``log2(size / s)`` 2x
  up-sampling layers (sub-pixel transposed convolutions halving the width, batch norm,
  ReLU) -> a 3x3 convolution to the image's channels and tanh. The paper's stage II
  first down-samples its 64x64 input to 16x16; ours starts from a stage-I image of 8x8
  and keeps its resolution.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets.dcgan import DCGAN_INIT, DCGANGenerator, concat_tiled
from gensys.nets.sizes import doublings
from gensys.nets.subpixel import SubPixelConvTranspose
from gensys.vae.latent import reparameterize


class ConditioningAugmentation(nn.Module):
    """``phi [B, E]`` and a key -> ``(c, mean, log_var)``, each ``[B, c_dim]``."""

    c_dim: int = 16

    @nn.compact
    def __call__(self, phi: jax.Array, key: jax.Array):
        h = nn.Dense(2 * self.c_dim, kernel_init=DCGAN_INIT)(phi.astype(jnp.float32))
        mean, log_var = jnp.split(h, 2, axis=-1)
        return reparameterize(key, mean, log_var), mean, log_var


class StageIGenerator(nn.Module):
    """``z [B, D]``, ``phi [B, E]`` and a key -> ``(images [B, size, size, C], mean,
    log_var)``; the last two are the conditioning augmentation's, for its KL term."""

    size: int
    channels: int
    width: int = 32
    c_dim: int = 16

    @nn.compact
    def __call__(self, z: jax.Array, phi: jax.Array, key: jax.Array, train: bool = True):
        c, mean, log_var = ConditioningAugmentation(self.c_dim)(phi, key)
        h = jnp.concatenate([z.astype(jnp.float32), c], axis=-1)
        return DCGANGenerator(self.size, self.channels, self.width)(h, None, train), mean, log_var


class _ResidualBlock(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        h = x
        for i in range(2):
            h = nn.Conv(x.shape[-1], (3, 3), use_bias=False, kernel_init=DCGAN_INIT)(h)
            h = nn.BatchNorm(use_running_average=not train, momentum=0.9)(h)
            h = nn.relu(h) if i == 0 else h
        return nn.relu(x + h)


def upsampling_layers(stage1_size: int, size: int) -> int:
    """``log2(size / stage1_size)``; ``ValueError`` unless it is a whole number >= 1."""
    layers = doublings(size, stage1_size)
    if layers is None:
        raise ValueError(
            f"stage II's image side ({size}) must be the stage-I side ({stage1_size}) times a "
            f"power of 2 >= 2"
        )
    return layers


class StageIIGenerator(nn.Module):
    """Stage-I images ``[B, s, s, C]``, ``phi [B, E]`` and a key -> ``(images [B, size,
    size, channels] in (-1, 1), mean, log_var)``."""

    size: int
    channels: int
    width: int = 64
    num_residual: int = 2
    c_dim: int = 16

    @nn.compact
    def __call__(self, low: jax.Array, phi: jax.Array, key: jax.Array, train: bool = True):
        layers = upsampling_layers(low.shape[1], self.size)
        c, mean, log_var = ConditioningAugmentation(self.c_dim)(phi, key)
        h = nn.relu(nn.Conv(self.width, (3, 3), kernel_init=DCGAN_INIT)(low.astype(jnp.float32)))
        h = nn.Conv(self.width, (3, 3), use_bias=False, kernel_init=DCGAN_INIT)(concat_tiled(h, c))
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
        for _ in range(self.num_residual):
            h = _ResidualBlock()(h, train)
        width = self.width
        for _ in range(layers):
            width = max(width // 2, 8)
            h = SubPixelConvTranspose(width, use_bias=False, kernel_init=DCGAN_INIT)(h)
            h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
        out = jnp.tanh(nn.Conv(self.channels, (3, 3), kernel_init=DCGAN_INIT)(h))
        return out, mean, log_var
