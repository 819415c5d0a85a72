"""A convolution computed as image patches times the kernel matrix (im2col), for second
derivatives on CPU.

    y[n, u, v, o] = sum_{a, b, c} x_pad[n, s u + a, s v + b, c] K[a, b, c, o] + bias[o]
                  = (P K_mat)[n, u, v, o],   P[n, u, v, (a, b, c)] = x_pad[n, s u + a, s v + b, c]

The patch tensor ``P`` is gathered by ``kh * kw`` strided slices of the padded input and
concatenated along the channels in ``(a, b, c)`` order, which is the row-major order of the
kernel ``[kh, kw, C, O]`` read as a ``[kh kw C, O]`` matrix. Its first and second derivatives
are slices, pads and matrix products only.

Why: WGAN-GP's penalty and R1 / R2 differentiate the critic's input gradient with respect to
its parameters. On XLA:CPU that double backward pass of ``lax.conv_general_dilated`` runs
convolutions with dilated kernels and batch-as-feature layouts that have no fast path: for
the DCGAN digits critic (three 4x4 / stride-2 convolutions, 32 -> 64 -> 128 features, batch
64, one CPU core) the penalty's parameter gradient took 358 ms with XLA's convolutions and
42 ms in this form, while the plain loss's gradient (60 ms) is slower in this form (320 ms):
so gensys uses it inside the penalties only, on CPU (``python -m benchmarks.wgangp_step``).

:class:`PatchConv` has ``flax.linen.Conv``'s parameters (``kernel [kh, kw, C, O]``,
``bias [O]``, the same initialisers), so the two are interchangeable on one set of
variables; tests check the outputs and both derivatives agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from gensys.checks import check_rank


def conv_as_patches(
    x: jax.Array,
    kernel: jax.Array,
    strides: Sequence[int] = (1, 1),
    padding: str | Sequence[tuple[int, int]] = "SAME",
) -> jax.Array:
    """``lax.conv_general_dilated(x, kernel, strides, padding)`` for NHWC inputs and HWIO
    kernels, as patches times the kernel matrix (module docstring).

    Args:
        x: ``[N, H, W, C]``.
        kernel: ``[kh, kw, C, O]``.
        strides: ``(sh, sw)``.
        padding: ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))``.
    """
    check_rank(x, 4, "x")
    check_rank(kernel, 4, "kernel")
    kh, kw, c, out = kernel.shape
    if x.shape[-1] != c:
        raise ValueError(f"x has {x.shape[-1]} channels, the kernel takes {c}")
    sh, sw = strides
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(x.shape[1:3], (kh, kw), (sh, sw), padding)
    (top, bottom), (left, right) = padding
    padded = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    ho = (padded.shape[1] - kh) // sh + 1
    wo = (padded.shape[2] - kw) // sw + 1
    columns = [
        padded[:, a : a + sh * (ho - 1) + 1 : sh, b : b + sw * (wo - 1) + 1 : sw, :]
        for a in range(kh)
        for b in range(kw)
    ]
    patches = jnp.concatenate(columns, axis=-1)  # [N, ho, wo, kh * kw * C] in (a, b, c) order
    return patches @ kernel.reshape(kh * kw * c, out)


class PatchConv(nn.Module):
    """``flax.linen.Conv`` (NHWC, no dilation, one feature group) computed by
    :func:`conv_as_patches`, with the same parameters."""

    features: int
    kernel_size: Sequence[int]
    strides: Sequence[int] = (1, 1)
    padding: str | Sequence[tuple[int, int]] = "SAME"
    use_bias: bool = True
    kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
    bias_init: Callable[..., Any] = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        shape = (*self.kernel_size, x.shape[-1], self.features)
        kernel = self.param("kernel", self.kernel_init, shape, jnp.float32)
        y = conv_as_patches(x.astype(jnp.float32), kernel, self.strides, self.padding)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32)
        return y
