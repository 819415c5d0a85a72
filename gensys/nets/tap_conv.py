"""A 2-D convolution whose gradients are fast on XLA:CPU, and its Flax layer.

The value is ``lax.conv_general_dilated`` (NHWC input, HWIO kernel, SAME
padding, stride 1 or 2); only the backward pass differs. On the CPU, XLA
computes the kernel gradient as a convolution whose "kernel" is the whole
output gradient (an ``H x W`` window), which measured 2.2 to 2.5 times the
forward convolution's time at the DDPM UNet's shapes, and the input gradient
as a transposed convolution at about twice the forward time. Here instead

    dL/dW[i, j] = sum_{b, h, w} x_pad[b, s h + i, s w + j, :]^T dL/dy[b, h, w, :]

is one ``[C_in, N] x [N, C_out]`` matrix product per kernel tap (i, j) over the
``N = B H_out W_out`` output positions (a strided slice of the padded input,
no im2col buffer), and for stride 1 the input gradient is the forward
convolution of ``dL/dy`` with the kernel flipped in space and transposed in
channels. Both measured about the forward time (timed ad hoc with ``jax.profiler`` at
the DDPM UNet's shapes; the whole step is timed by ``benchmarks/vs_pytorch.py``).
On other platforms (GPU, TPU) XLA's own gradients are used:
``lax.platform_dependent`` chooses when the program is lowered.

At jaxlib 0.10.2 XLA:CPU runs its own convolution gradients through YNNPACK, and the
per-tap kernel gradient no longer pays at the whole-step level: the matched DDPM UNet's
training step (batch 64 on 2 CPU devices, medians of 8 steps, two interleaved runs) took
1.553 s with it and 1.563 s with XLA's, and compiled in 12.8 s against 9.6 s. Alone it
still wins at some shapes and loses at others (batch 64 over 2 devices: 38 against 54 ms
at 32x32, 96 -> 32 channels; 25 against 22 ms at 16x16, 128 -> 64). So
``kernel_gradient="xla"`` keeps the flipped-convolution input gradient with XLA's kernel
gradient, which :class:`gensys.nets.unet.UNet` uses: XLA's own input gradient, a
transposed convolution, was not compiled to YNNPACK's kernels inside the loop of an ODE
likelihood (the flow-matching recipe's evaluation ran 4.7x slower with it, and 17x under
the test suite's low optimisation level).

The layer :class:`Conv` is a drop-in for ``nn.Conv`` (SAME padding): the same
parameters (``kernel`` ``[kh, kw, in, out]``, ``bias``), dtype rules and module
name, so checkpoints of either load in the other.

The fast gradients are a ``jax.custom_vjp``, which has no forward mode: ``jax.jvp``
(and ``jax.jacfwd``, ``jax.linearize``) through it fails. So they are an explicit
option, ``fast_cpu_gradients=True``; the default is XLA's own convolution, which every
transformation supports. (A ``custom_jvp`` whose tangent map has these transposes would
serve both, but JAX has no public ``custom_transpose`` to give them.)
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """XLA's SAME padding ``(low, high)`` for one spatial axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), "SAME", dimension_numbers=_DIMENSIONS
    )


def _kernel_grad_by_taps(x: jax.Array, dy: jax.Array, kernel_shape, stride: int) -> jax.Array:
    """``dL/dW`` as one matrix product per tap (see the module docstring)."""
    kh, kw, c_in, c_out = kernel_shape
    _, h_out, w_out, _ = dy.shape
    pads = [_same_padding(x.shape[1], kh, stride), _same_padding(x.shape[2], kw, stride)]
    x_pad = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    dy_rows = dy.reshape(-1, c_out)
    taps = []
    for i in range(kh):
        for j in range(kw):
            window = x_pad[
                :,
                i : i + stride * (h_out - 1) + 1 : stride,
                j : j + stride * (w_out - 1) + 1 : stride,
                :,
            ]
            taps.append(
                jax.lax.dot_general(
                    window.reshape(-1, c_in),
                    dy_rows,
                    (((0,), (0,)), ((), ())),
                    preferred_element_type=jnp.float32,
                )
            )
    return jnp.stack(taps).reshape(kernel_shape)


def _input_grad_by_flipped_conv(dy: jax.Array, kernel: jax.Array) -> jax.Array:
    """Stride 1, odd kernel: ``dL/dx`` is the SAME convolution with the flipped kernel."""
    return _conv(dy, jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2), 1)


def _make_conv(stride: int, kernel_by_taps: bool) -> Callable[[jax.Array, jax.Array], jax.Array]:
    @jax.custom_vjp
    def conv(x, kernel):
        return _conv(x, kernel, stride)

    def forward(x, kernel):
        return _conv(x, kernel, stride), (x, kernel)

    def xla_grads(x, kernel, dy):
        return jax.vjp(lambda a, k: _conv(a, k, stride), x, kernel)[1](dy)

    def cpu_grads(x, kernel, dy):
        if kernel_by_taps:
            dk = _kernel_grad_by_taps(x, dy, kernel.shape, stride).astype(kernel.dtype)
        else:
            dk = jax.vjp(lambda k: _conv(x, k, stride), kernel)[1](dy)[0]
        if stride == 1 and kernel.shape[0] % 2 and kernel.shape[1] % 2:
            return _input_grad_by_flipped_conv(dy, kernel).astype(x.dtype), dk
        # Only the input gradient from XLA: the kernel's is dk already.
        return jax.vjp(lambda a: _conv(a, kernel, stride), x)[1](dy)[0], dk

    def backward(residuals, dy):
        x, kernel = residuals
        return jax.lax.platform_dependent(x, kernel, dy, cpu=cpu_grads, default=xla_grads)

    conv.defvjp(forward, backward)
    return conv


_CONVS = {(s, taps): _make_conv(s, taps) for s in (1, 2) for taps in (True, False)}
KERNEL_GRADIENTS = ("taps", "xla")


def conv2d(
    x: jax.Array,
    kernel: jax.Array,
    stride: int = 1,
    *,
    fast_cpu_gradients: bool = False,
    kernel_gradient: str = "taps",
) -> jax.Array:
    """SAME convolution ``[B, H, W, C_in] * [kh, kw, C_in, C_out] -> [B, H/s, W/s, C_out]``.

    Equal to ``lax.conv_general_dilated`` in value and gradient (up to float
    rounding); ``stride`` is 1 or 2. ``fast_cpu_gradients``: reverse-mode gradients on
    CPU by the flipped convolution (input) and, with ``kernel_gradient="taps"``, the
    per-tap products (kernel; ``"xla"``: XLA's own); no forward mode then (see the module
    docstring).
    """
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride}")
    if kernel_gradient not in KERNEL_GRADIENTS:
        raise ValueError(
            f"kernel_gradient must be one of {KERNEL_GRADIENTS}, got {kernel_gradient!r}"
        )
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[-1] != kernel.shape[2]:
        raise ValueError(
            f"expected x [B, H, W, C] and kernel [kh, kw, C, out] with matching C, "
            f"got {x.shape} and {kernel.shape}"
        )
    if not fast_cpu_gradients:
        return _conv(x, kernel, stride)
    return _CONVS[stride, kernel_gradient == "taps"](x, kernel)


class Conv(nn.Module):
    """``nn.Conv`` (SAME padding, stride 1 or 2) computed with :func:`conv2d`, with its
    fast CPU gradients when ``fast_cpu_gradients``."""

    features: int
    kernel_size: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    use_bias: bool = True
    dtype: jnp.dtype | None = None
    kernel_init: Callable = nn.linear.default_kernel_init
    bias_init: Callable = nn.initializers.zeros_init()
    fast_cpu_gradients: bool = False
    kernel_gradient: str = "taps"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.strides[0] != self.strides[1]:
            raise ValueError(f"strides must be equal on both axes, got {self.strides}")
        kernel = self.param(
            "kernel", self.kernel_init, (*self.kernel_size, x.shape[-1], self.features)
        )
        bias = self.param("bias", self.bias_init, (self.features,)) if self.use_bias else None
        x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
        y = conv2d(
            x, kernel, self.strides[0], fast_cpu_gradients=self.fast_cpu_gradients,
            kernel_gradient=self.kernel_gradient,
        )  # fmt: skip
        return y if bias is None else y + bias
