"""Winograd's F(2x2, 3x3) for the 3x3 stride-1 SAME convolution (Lavin & Gray 2016), the
candidate timed by ``benchmarks/winograd.py``, and XLA's convolution it is timed against.

Each 2x2 block of outputs comes from a 4x4 tile of the (padded) input ``d`` and the 3x3
kernel ``g`` as ``Y = A^T [ (G g G^T) (.) (B^T d B) ] A``, the product ``(.)`` summed over
input channels: 16 matrix products ``[N, C_in] x [C_in, C_out]`` over the ``N = B H W / 4``
tiles, 16 multiplies a tile per channel pair against the direct convolution's 36. All
``jnp``, so JAX differentiates it (the gradients are the transposed transforms). Equals
``lax.conv_general_dilated(x, kernel, (1, 1), "SAME")`` (NHWC, HWIO) up to rounding; odd
sides are padded to even and cropped.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# F(2x2, 3x3) transforms.
B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float32)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)


def transformed_kernel(kernel: jax.Array) -> jax.Array:
    """``G g G^T`` for each channel pair: ``[3, 3, C_in, C_out] -> [16, C_in, C_out]``."""
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"Winograd F(2x2, 3x3) takes 3x3 kernels, got {kernel.shape}")
    g = jnp.asarray(G, kernel.dtype)
    u = jnp.einsum("pi,ijco,qj->pqco", g, kernel, g)
    return u.reshape(16, *kernel.shape[2:])


def winograd_conv3x3(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """``x [B, H, W, C_in]`` convolved with ``kernel [3, 3, C_in, C_out]``, stride 1, SAME
    padding (cross-correlation, as ``lax.conv_general_dilated``), by F(2x2, 3x3)."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[-1] != kernel.shape[2]:
        raise ValueError(f"need x [B, H, W, C] and kernel [3, 3, C, O], got {x.shape} and "
                         f"{kernel.shape}")  # fmt: skip
    batch, height, width, _ = x.shape
    tiles_h, tiles_w = -(-height // 2), -(-width // 2)
    # SAME padding (1 each side) plus what makes the sides even.
    padded = jnp.pad(
        x, ((0, 0), (1, 1 + 2 * tiles_h - height), (1, 1 + 2 * tiles_w - width), (0, 0))
    )
    # B^T d B from the 16 strided views d[u, v] = padded[2i + u, 2j + v]: rows first.
    views = [
        [padded[:, u : u + 2 * tiles_h : 2, v : v + 2 * tiles_w : 2] for v in range(4)]
        for u in range(4)
    ]
    b_t = B_T.tolist()
    rows = [[_combine(b_t[p], [views[u][v] for u in range(4)]) for v in range(4)]
            for p in range(4)]  # fmt: skip
    v = jnp.stack([_combine(b_t[q], rows[p]) for p in range(4) for q in range(4)])
    v = v.reshape(16, -1, x.shape[-1])  # [16, N, C_in]
    m = jnp.matmul(v, transformed_kernel(kernel).astype(x.dtype))  # [16, N, C_out]
    m = m.reshape(4, 4, batch, tiles_h, tiles_w, -1)
    a_t = A_T.tolist()
    cols = [[_combine(a_t[i], [m[p, q] for p in range(4)]) for q in range(4)] for i in range(2)]
    y = jnp.stack([jnp.stack([_combine(a_t[j], cols[i]) for j in range(2)]) for i in range(2)])
    # y[i, j, b, th, tw, o] is output (2 th + i, 2 tw + j).
    y = jnp.transpose(y, (2, 3, 0, 4, 1, 5)).reshape(batch, 2 * tiles_h, 2 * tiles_w, -1)
    return y[:, :height, :width]


def _combine(coefficients, arrays):
    """``sum_k c_k a_k`` skipping the zero coefficients (the transforms are sparse)."""
    total = None
    for c, a in zip(coefficients, arrays, strict=True):
        if c == 0:
            continue
        term = a if c == 1 else (-a if c == -1 else c * a)
        total = term if total is None else total + term
    return total


def xla_conv3x3(x: jax.Array, kernel: jax.Array) -> jax.Array:
    return jax.lax.conv_general_dilated(
        x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
