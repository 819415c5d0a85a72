"""DCGAN generator and discriminator (Radford et al. 2016), with class conditioning.

- Generator: ``z`` (+ a learned label embedding, Mirza & Osindero 2014) ->
  a dense projection to ``4 x 4 x (width * 2^(L-1))`` -> ``L - 1`` transposed
  4x4 convolutions of stride 2 that halve the channels, each with batch norm
  and ReLU -> a last transposed convolution to the image's channels and tanh.
  (The transposed convolutions run as equivalent sub-pixel convolutions,
  :mod:`gensys.nets.subpixel`: same parameters, a 1.3x faster training step here.)
  Images are square with side ``4 * 2^L`` (8, 16, 32, 64, ...). A vector condition
  ``[B, E]`` (a text embedding, Reed et al. 2016) is compressed by a dense layer to
  ``condition_features`` with LeakyReLU(0.2) and concatenated to ``z`` likewise.
- Discriminator: strided 4x4 convolutions that double the channels from
  ``width`` down to 4x4, LeakyReLU(0.2), normalization on every layer but the
  first (``norm="batch"``; WGAN-GP's critic takes ``"layer"``, ``"instance"`` or ``"none"``,
  since batch norm couples the examples the per-example penalty differentiates),
  then a linear output. Conditioning: ``"concat"`` feeds the label embedding as
  extra input channels; ``"projection"`` adds ``<embed(y), phi(x)>`` to the
  output (Miyato & Koyama 2018); ``"spatial"`` takes a vector condition, compresses it
  as the generator does, replicates it over the last 4x4 feature map, concatenates it
  in depth and mixes the two by a 1x1 convolution with LeakyReLU before the output
  (Reed et al. 2016's matching-aware discriminator).
  ``spectral_norm=True`` divides each of its convolutions and its output layer by their
  largest singular value (Miyato et al. 2018, :mod:`gensys.nets.spectral_norm`).
- Every convolution and dense kernel starts from N(0, 0.02), batch norm scales
  from N(1, 0.02), as the DCGAN paper prescribes.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets.embeddings import LabelProjection
from gensys.nets.patch_conv import PatchConv
from gensys.nets.sizes import doublings
from gensys.nets.spectral_norm import spectrally_normalized
from gensys.nets.subpixel import SubPixelConvTranspose

DCGAN_INIT = nn.initializers.normal(0.02)
NORMS = ("batch", "layer", "instance", "none")
CONDITIONINGS = ("concat", "projection", "spatial")


def _bn_scale_init(key, shape, dtype=jnp.float32):
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def dcgan_stages(size: int) -> int:
    """``L`` with ``size = 4 * 2^L``; ``ValueError`` for sizes DCGAN cannot make."""
    stages = doublings(size, 4)
    if stages is None:
        raise ValueError(
            f"DCGAN networks need square images of side 4 * 2^L (8, 16, 32, 64, ...), got {size}; "
            f"set the GAN's image_size to resize the data"
        )
    return stages


def concat_tiled(h: jax.Array, c: jax.Array) -> jax.Array:
    """Feature maps ``[B, H, W, F]`` with a vector ``[B, E]`` replicated over every position
    and concatenated in depth: ``[B, H, W, F + E]``."""
    return jnp.concatenate([h, jnp.broadcast_to(c[:, None, None], (*h.shape[:3], c.shape[-1]))], -1)


def compress_condition(condition: jax.Array, features: int) -> jax.Array:
    """A vector condition ``[B, E]`` -> ``LeakyReLU_0.2(Dense(condition))`` ``[B, features]``."""
    h = nn.Dense(features, kernel_init=DCGAN_INIT, name="condition")(condition.astype(jnp.float32))
    return nn.leaky_relu(h, 0.2)


class DCGANGenerator(nn.Module):
    """``z [B, D]`` (+ labels ``(B,)``, or with ``condition_features`` a vector ``[B, E]``)
    -> images ``[B, size, size, channels]`` in ``(-1, 1)``."""

    size: int
    channels: int
    width: int = 64
    num_classes: int | None = None
    embed_dim: int = 32
    condition_features: int | None = None

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        stages = dcgan_stages(self.size)
        h = z.astype(jnp.float32)
        if self.num_classes is not None:
            h = jnp.concatenate([h, nn.Embed(self.num_classes, self.embed_dim)(labels)], axis=-1)
        elif self.condition_features is not None:
            h = jnp.concatenate([h, compress_condition(labels, self.condition_features)], axis=-1)
        top = self.width * 2 ** (stages - 1)
        h = nn.Dense(4 * 4 * top, use_bias=False, kernel_init=DCGAN_INIT)(h)
        h = h.reshape(-1, 4, 4, top)
        h = nn.relu(self._norm(h, train))
        for i in range(stages - 1):
            features = top // 2 ** (i + 1)
            h = SubPixelConvTranspose(features, use_bias=False, kernel_init=DCGAN_INIT)(h)
            h = nn.relu(self._norm(h, train))
        h = SubPixelConvTranspose(self.channels, kernel_init=DCGAN_INIT)(h)
        return jnp.tanh(h)

    def _norm(self, h, train):
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, scale_init=_bn_scale_init)(
            h
        )


class DCGANDiscriminator(nn.Module):
    """``x [B, size, size, C]`` (+ labels ``(B,)``, or for ``"spatial"`` a vector ``[B, E]``)
    -> logits or critic values ``(B,)``."""

    width: int = 64
    norm: str = "batch"
    num_classes: int | None = None
    conditioning: str = "projection"
    embed_dim: int = 32
    condition_features: int = 32  # "spatial"
    spectral_norm: bool = False  # every convolution and the output layer
    # The convolutions as patches times kernels (gensys.nets.patch_conv): the same variables
    # and function, for the penalties' double backward pass on CPU.
    conv_as_patches: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        def layer(module: nn.Module, h: jax.Array) -> jax.Array:
            return spectrally_normalized(self, module, h, enabled=self.spectral_norm, train=train)

        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}")
        stages = dcgan_stages(x.shape[1])
        h = x.astype(jnp.float32)
        conditional = self.num_classes is not None
        if conditional and self.conditioning == "concat":
            h = concat_tiled(h, nn.Embed(self.num_classes, self.embed_dim)(labels))
        convolution = PatchConv if self.conv_as_patches else nn.Conv
        # Named as Flax names nn.Conv layers, so both forms share one set of variables.
        for i in range(stages):
            conv = convolution(
                self.width * 2**i, (4, 4), strides=(2, 2), padding="SAME", kernel_init=DCGAN_INIT,
                name=f"Conv_{i}",
            )  # fmt: skip
            h = layer(conv, h)
            if i > 0:
                h = self._norm(h, train)
            h = nn.leaky_relu(h, 0.2)
        if self.conditioning == "spatial":
            c = compress_condition(labels, self.condition_features)
            h = concat_tiled(h, c)
            features = self.width * 2 ** (stages - 1)
            conv = convolution(features, (1, 1), kernel_init=DCGAN_INIT, name=f"Conv_{stages}")
            h = layer(conv, h)
            h = nn.leaky_relu(self._norm(h, train), 0.2)
        features = h.reshape(h.shape[0], -1)
        out = layer(nn.Dense(1, kernel_init=DCGAN_INIT), features)[:, 0]
        if conditional and self.conditioning == "projection":
            out = out + LabelProjection(self.num_classes)(features, labels)
        return out

    def _norm(self, h, train):
        if self.norm == "batch":
            return nn.BatchNorm(
                use_running_average=not train, momentum=0.9, scale_init=_bn_scale_init
            )(h)
        if self.norm == "layer":
            return nn.LayerNorm()(h)
        if self.norm == "instance":
            # Per example and channel over the feature map (Ulyanov et al. 2016): like layer
            # norm it keeps examples independent, as WGAN-GP's per-example penalty needs.
            return nn.InstanceNorm()(h)
        return h
