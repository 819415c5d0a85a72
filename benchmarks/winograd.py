"""A direction tried for the UNet's speed on CPU: the 3x3 stride-1 SAME convolution by
Winograd's minimal filtering, F(2x2, 3x3) (Lavin & Gray 2016; :mod:`benchmarks.winograd_conv`),
timed against XLA's own convolution.

    python -m benchmarks.winograd [--reps=15]

Times the forward convolution and its gradient (input and kernel) at the three 3x3
shapes of the matched UNet of ``benchmarks/vs_pytorch.py`` (batch 64: 32x32 with 32
channels, 16x16 and 8x8 with 64), both implementations interleaved, the minimum over
``--reps`` calls each; checks the values against ``lax.conv_general_dilated`` and writes
``benchmarks/results/winograd.{json,md}``. It is not in the library: it did not win.
F(4x4, 3x3) would save 4x the multiplies, but its transforms' larger entries cost
precision, and F(2x2) already loses on time: not tried.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from absl import app, flags

from benchmarks.common import machine, start_runtime
from benchmarks.winograd_conv import winograd_conv3x3, xla_conv3x3

_REPS = flags.DEFINE_integer("reps", 15, "Timed calls of each implementation per shape.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")
SHAPES = [(64, 32, 32, 32), (64, 16, 64, 64), (64, 8, 64, 64)]  # batch, side, C_in, C_out


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
