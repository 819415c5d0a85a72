"""The DDPM UNet: residual blocks with a time embedding, GroupNorm and self-attention.

Architecture of Ho et al. 2020 (Appendix B), itself a PixelCNN++-style
Wide-ResNet UNet: ``num_res_blocks`` residual blocks per resolution, a
downsampling by 2 between resolutions, self-attention at the resolutions listed
in ``attention_resolutions``, and a mirrored upsampling path with skip
connections. The last convolution of each residual block and of the network is
initialised to zero, so the initial network predicts zero noise and each block
starts as the identity.

Parameters are float32; ``dtype`` sets the compute dtype (bf16 opt-in).
The time embedding is always computed in float32. Each GroupNorm followed by SiLU (and,
in a residual block, the time-embedding shift before it) is one
:class:`gensys.nets.group_norm.GroupNormSiLU` with ``nn.GroupNorm``'s parameter names,
so checkpoints of the composition load. ``fast_cpu_gradients=True`` gives those, on the
CPU backend only (GPUs and TPUs keep XLA's own gradients), their hand-written backward
pass and the convolutions the input gradient of :mod:`gensys.nets.tap_conv` (the flipped
forward convolution) beside XLA's own kernel gradient, at the price of forward-mode
differentiation (``jax.jvp`` through the network); the default lets JAX differentiate
everything, which supports every transformation.
Measured on XLA:CPU for the matched benchmark UNet (batch 64 on two devices, two
interleaved runs of 8 steps against the plain ``nn.GroupNorm`` and per-tap UNet): training
step 1.88 -> 1.57 s. XLA's own input gradient is as fast in a training step but, inside
the loop of an ODE likelihood, was not compiled to YNNPACK's kernels: 4.7x slower there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.nets import tap_conv
from gensys.nets.embeddings import sinusoidal_embedding
from gensys.nets.group_norm import GroupNormSiLU


def num_groups(channels: int, max_groups: int = 32, min_group_size: int = 4) -> int:
    """GroupNorm groups for ``channels``: at most 32, each of at least 4 channels.

    The time embedding is added as a per-channel shift before a GroupNorm; in a
    group of one channel the normalisation subtracts that shift away entirely,
    so narrow layers must not get one group per channel. At 128 channels and
    more this is the 32 groups of Ho et al.
    """
    groups = max(1, min(max_groups, channels // min_group_size))
    while channels % groups:
        groups -= 1
    return groups


def _conv(features: int, kernel_size=(3, 3), *, fast: bool, **kwargs) -> nn.Module:
    """``nn.Conv``'s layer; with ``fast`` its input gradient is the flipped forward
    convolution (see :mod:`gensys.nets.tap_conv`), its kernel gradient XLA's own."""
    return tap_conv.Conv(
        features, kernel_size, fast_cpu_gradients=fast, kernel_gradient="xla", **kwargs
    )


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, plus the projected time embedding, twice, with a skip."""

    out_channels: int
    dropout: float = 0.0
    dtype: jnp.dtype = jnp.float32
    fast_cpu_gradients: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, temb: jax.Array, *, train: bool) -> jax.Array:
        in_channels = x.shape[-1]
        fast = self.fast_cpu_gradients
        h = GroupNormSiLU(num_groups(in_channels), dtype=self.dtype, custom_gradient=fast,
                          name="GroupNorm_0")(x)  # fmt: skip
        h = _conv(self.out_channels, fast=fast, dtype=self.dtype)(h)
        time_shift = nn.Dense(self.out_channels, dtype=self.dtype)(nn.silu(temb))
        h = GroupNormSiLU(num_groups(self.out_channels), dtype=self.dtype, custom_gradient=fast,
                          name="GroupNorm_1")(h, time_shift)  # fmt: skip
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
        zero_init = nn.initializers.zeros
        h = _conv(
            self.out_channels,
            fast=fast,
            kernel_init=zero_init,
            dtype=self.dtype,
        )(h)
        if in_channels != self.out_channels:
            x = _conv(
                self.out_channels,
                (1, 1),
                fast=fast,
                dtype=self.dtype,
            )(x)
        return x + h


class QKVProjection(nn.Module):
    """Queries, keys and values ``y W_q + b_q, y W_k + b_k, y W_v + b_v`` from one ``nn.Dense``.

    The parameters are one ``nn.Dense(3 * features)`` (``kernel [in, 3 features]``,
    ``bias [3 features]``, the blocks in the order q, k, v) and its initialisation, so the
    tree and its values are those of the dense layer whose output is split three ways.
    Three products instead of one product and a split: the split's gradient, three
    zero-padded blocks summed and transposed for the kernel's gradient, was 36 ms of a
    1.8 s training step per attention block on XLA:CPU.
    """

    features: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, y: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        f = self.features
        kernel = self.param("kernel", nn.linear.default_kernel_init, (y.shape[-1], 3 * f))
        bias = self.param("bias", nn.initializers.zeros_init(), (3 * f,))
        y, kernel, bias = nn.dtypes.promote_dtype(y, kernel, bias, dtype=self.dtype)
        return tuple(
            y @ kernel[:, i * f : (i + 1) * f] + bias[i * f : (i + 1) * f] for i in range(3)
        )


class AttentionBlock(nn.Module):
    """Single-head self-attention over the spatial positions, with a residual connection."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, h, w, c = x.shape
        y = nn.GroupNorm(num_groups=num_groups(c), dtype=self.dtype)(x)
        q, k, v = QKVProjection(c, dtype=self.dtype, name="Dense_0")(y.reshape(b, h * w, c))
        logits = jnp.einsum("bqc,bkc->bqk", q, k).astype(jnp.float32) / math.sqrt(c)
        weights = jax.nn.softmax(logits, axis=-1).astype(self.dtype)
        y = jnp.einsum("bqk,bkc->bqc", weights, v).reshape(b, h, w, c)
        y = nn.Dense(c, kernel_init=nn.initializers.zeros, dtype=self.dtype, name="Dense_1")(y)
        return x + y


class UNet(nn.Module):
    """Noise-prediction UNet ``(x_t [B, H, W, C], t (B,), labels (B,)?) -> [B, H, W, out]``.

    Attributes:
        channels: base width.
        channel_mults: width multiplier per resolution; ``len`` sets the depth.
        num_res_blocks: residual blocks per resolution on the way down.
        attention_resolutions: spatial sizes (e.g. ``(16,)``) that get self-attention.
        dropout: dropout rate inside residual blocks.
        num_classes: if set, a class embedding is added to the time embedding;
            label ``num_classes`` is the "no label" class used for unconditional use.
        out_channels: output channels (defaults to the input's).
        dtype: compute dtype.
    """

    channels: int = 64
    channel_mults: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: Sequence[int] = ()
    dropout: float = 0.0
    num_classes: int | None = None
    out_channels: int | None = None
    dtype: jnp.dtype = jnp.float32
    fast_cpu_gradients: bool = False

    @nn.compact
    def __call__(
        self,
        x: jax.Array,
        t: jax.Array,
        labels: jax.Array | None = None,
        *,
        train: bool = False,
    ) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"x must be NHWC with rank 4, got shape {x.shape}")
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must have shape ({x.shape[0]},), got {t.shape}")
        num_levels = len(self.channel_mults)
        factor = 2 ** (num_levels - 1)
        if x.shape[1] % factor or x.shape[2] % factor:
            raise ValueError(
                f"image size {x.shape[1:3]} must be divisible by {factor} "
                f"for {num_levels} resolutions"
            )
        out_channels = self.out_channels or x.shape[-1]
        fast = self.fast_cpu_gradients  # the layers keep XLA's gradients off the CPU
        temb_dim = 4 * self.channels
        temb = sinusoidal_embedding(t, self.channels)
        temb = nn.Dense(temb_dim)(temb)
        temb = nn.Dense(temb_dim)(nn.silu(temb))
        if self.num_classes is not None:
            if labels is None:
                labels = jnp.full((x.shape[0],), self.num_classes, dtype=jnp.int32)
            temb = temb + nn.Embed(self.num_classes + 1, temb_dim)(labels)
        temb = temb.astype(self.dtype)

        h = _conv(self.channels, fast=fast, dtype=self.dtype)(x.astype(self.dtype))
        skips = [h]
        for level, mult in enumerate(self.channel_mults):
            for _ in range(self.num_res_blocks):
                h = ResBlock(self.channels * mult, self.dropout, self.dtype, fast)(
                    h, temb, train=train
                )
                if h.shape[1] in self.attention_resolutions:
                    h = AttentionBlock(self.dtype)(h)
                skips.append(h)
            if level != num_levels - 1:
                h = _conv(
                    h.shape[-1],
                    fast=fast,
                    strides=(2, 2),
                    dtype=self.dtype,
                )(h)
                skips.append(h)

        h = ResBlock(h.shape[-1], self.dropout, self.dtype, fast)(h, temb, train=train)
        h = AttentionBlock(self.dtype)(h)
        h = ResBlock(h.shape[-1], self.dropout, self.dtype, fast)(h, temb, train=train)

        for level, mult in reversed(list(enumerate(self.channel_mults))):
            for _ in range(self.num_res_blocks + 1):
                h = jnp.concatenate([h, skips.pop()], axis=-1)
                h = ResBlock(self.channels * mult, self.dropout, self.dtype, fast)(
                    h, temb, train=train
                )
                if h.shape[1] in self.attention_resolutions:
                    h = AttentionBlock(self.dtype)(h)
            if level != 0:
                b, hh, ww, c = h.shape
                h = jax.image.resize(h, (b, 2 * hh, 2 * ww, c), method="nearest")
                h = _conv(c, fast=fast, dtype=self.dtype)(h)

        h = GroupNormSiLU(
            num_groups(h.shape[-1]),
            dtype=self.dtype,
            custom_gradient=fast,
            name="GroupNorm_0",
        )(h)
        zero_init = nn.initializers.zeros
        h = _conv(
            out_channels,
            fast=fast,
            kernel_init=zero_init,
            dtype=self.dtype,
        )(h)
        return h.astype(jnp.float32)
