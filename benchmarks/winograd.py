"""A direction tried for the UNet's speed on CPU: the 3x3 stride-1 SAME convolution by
Winograd's minimal filtering, F(2x2, 3x3) (Lavin & Gray 2016, "Fast Algorithms for
Convolutional Neural Networks"), timed against XLA's own convolution.

    python -m benchmarks.winograd [--reps=15]

Times the forward convolution and its gradient (input and kernel) at the three 3x3
shapes of the matched UNet of ``benchmarks/vs_pytorch.py`` (batch 64: 32x32 with 32
channels, 16x16 and 8x8 with 64), both implementations interleaved, the minimum over
``--reps`` calls each; checks the values against ``lax.conv_general_dilated`` and writes
``benchmarks/results/winograd.{json,md}``. It is not in the library: it did not win.

Each 2x2 block of outputs comes from a 4x4 tile of the (padded) input ``d`` and the 3x3
kernel ``g`` as

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A

with the elementwise product ``(.)`` summed over input channels: 16 matrix products
``[N, C_in] x [C_in, C_out]`` over the ``N = B H W / 4`` tiles, 16 multiplies a tile per
channel pair where the direct convolution takes 36 (2.25x fewer). The transforms are
small constant matrices (entries 0, +-1, +-1/2), so in float32 the result matches the
direct convolution to a few ulp of its magnitude (measured in the tests); F(4x4, 3x3)
would save 4x but its transforms' larger entries cost precision.

Everything is ``jnp``, so JAX differentiates it: the gradients are the same transforms
transposed, and forward mode works too. The value equals
``lax.conv_general_dilated(x, kernel, (1, 1), "SAME")`` (NHWC, HWIO) up to rounding; odd
image sides are padded to even and cropped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from benchmarks.common import machine, start_runtime

_REPS = flags.DEFINE_integer("reps", 15, "Timed calls of each implementation per shape.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")
SHAPES = [(64, 32, 32, 32), (64, 16, 64, 64), (64, 8, 64, 64)]  # batch, side, C_in, C_out

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


def main(argv):
    del argv
    start_runtime(1)
    implementations = {"xla": xla_conv3x3, "winograd": winograd_conv3x3}
    rows = []
    for batch, side, c_in, c_out in SHAPES:
        x = jax.random.normal(jax.random.key(0), (batch, side, side, c_in))
        kernel = 0.1 * jax.random.normal(jax.random.key(1), (3, 3, c_in, c_out))
        reference = jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
            precision="highest",
        )  # fmt: skip
        calls = {}
        for name, conv in implementations.items():
            forward = jax.jit(conv)
            gradient = jax.jit(
                jax.grad(lambda x, k, conv=conv: jnp.sum(conv(x, k) ** 2), argnums=(0, 1))
            )
            error = float(jnp.max(jnp.abs(forward(x, kernel) - reference)))
            jax.block_until_ready(gradient(x, kernel))
            calls[name] = {"forward": forward, "gradient": gradient, "max_abs_error": error}
        times = {name: {"forward": [], "gradient": []} for name in calls}
        for _ in range(_REPS.value):
            for name, fns in calls.items():
                for kind in ("forward", "gradient"):
                    tick = time.perf_counter()
                    jax.block_until_ready(fns[kind](x, kernel))
                    times[name][kind].append(time.perf_counter() - tick)
        row = {"shape": [batch, side, c_in, c_out],
               "reference_max_abs": float(jnp.max(jnp.abs(reference)))}  # fmt: skip
        for name in calls:
            row[name] = {
                "forward_ms": 1e3 * min(times[name]["forward"]),
                "gradient_ms": 1e3 * min(times[name]["gradient"]),
                "max_abs_error": calls[name]["max_abs_error"],
            }
        print(row, flush=True)
        rows.append(row)
    out = Path(_OUT.value)
    result = {"machine": machine(), "reps": _REPS.value, "rows": rows}
    (out / "winograd.json").write_text(json.dumps(result, indent=1))
    (out / "winograd.md").write_text(render(result))
    print(render(result))


def render(result: dict) -> str:
    lines = [
        "# Winograd F(2x2, 3x3) against XLA's convolution on CPU",
        "",
        f"`python -m benchmarks.winograd` on {result['machine']} (1 host device); minimum "
        f"of {result['reps']} interleaved calls; gradient = input and kernel gradients of "
        "sum(y^2). Error: max |y - y_ref| against `lax.conv_general_dilated` at "
        "`precision=highest`.",
        "",
        "| batch, side, C_in, C_out | XLA forward ms | Winograd forward ms | XLA gradient ms "
        "| Winograd gradient ms | XLA error | Winograd error | max abs y |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        x, w = r["xla"], r["winograd"]
        lines.append(
            f"| {', '.join(map(str, r['shape']))} | {x['forward_ms']:.2f} | "
            f"{w['forward_ms']:.2f} | {x['gradient_ms']:.2f} | {w['gradient_ms']:.2f} | "
            f"{x['max_abs_error']:.1e} | {w['max_abs_error']:.1e} | "
            f"{r['reference_max_abs']:.1f} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
