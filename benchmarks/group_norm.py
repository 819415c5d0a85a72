"""GroupNorm + SiLU: Flax's composition against :func:`gensys.nets.group_norm.group_norm_silu`.

    python -m benchmarks.group_norm

Times, on gensys's default CPU devices (one per core, the batch sharded over them, as the
training step runs), the forward pass and the forward + backward pass of
``nn.silu(nn.GroupNorm(G)(x + shift))`` and of the fused operation with its hand-written
gradient and with autodiff of the same forward, at the residual blocks' widest shapes of
the matched DDPM UNet of ``benchmarks/vs_pytorch.py`` (batch 64, 32x32, 32 to 96
channels). Medians of 20 calls after a warm-up call. Results:
``benchmarks/results/group_norm.{md,json}``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from absl import app, flags

from benchmarks.common import median_ms, start_runtime

_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed calls per measurement.")

# (batch, side, channels): the UNet's 32x32 residual blocks take 32, 64 and 96 channels.
SHAPES = [(64, 32, 32), (64, 32, 64), (64, 32, 96)]


def measure(batch: int, side: int, channels: int, repeats: int) -> dict:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from gensys.nets.group_norm import group_norm_silu
    from gensys.nets.unet import num_groups
    from gensys.train import sharding

    mesh = sharding.make_mesh()
    data = sharding.batch_sharded(mesh)
    groups = num_groups(channels)
    keys = jax.random.split(jax.random.key(0), 4)
    x = jax.device_put(jax.random.normal(keys[0], (batch, side, side, channels)), data)
    shift = jax.device_put(jax.random.normal(keys[1], (batch, channels)), data)
    scale = 1 + 0.1 * jax.random.normal(keys[2], (channels,))
    bias = 0.1 * jax.random.normal(keys[3], (channels,))
    flax_norm = nn.GroupNorm(num_groups=groups)

    variants = {
        "flax": lambda x, s, b, e: nn.silu(
            flax_norm.apply({"params": {"scale": s, "bias": b}}, x + e[:, None, None, :])
        ),
        "fused, autodiff": lambda x, s, b, e: group_norm_silu(x, s, b, groups, e),
        "fused, hand-written gradient": lambda x, s, b, e: group_norm_silu(
            x, s, b, groups, e, custom_gradient=True
        ),
    }
    row = {"shape": [batch, side, side, channels], "groups": groups}
    for name, fn in variants.items():
        forward = jax.jit(fn)
        both = jax.jit(jax.grad(lambda x, s, b, e, f=fn: jnp.sum(f(x, s, b, e) ** 2), (0, 1, 2, 3)))
        row[name] = {
            "forward_ms": median_ms(forward, x, scale, bias, shift, repeats=repeats),
            "forward_backward_ms": median_ms(both, x, scale, bias, shift, repeats=repeats),
        }
    return row


def main(argv) -> None:
    del argv
    from gensys.train import runtime

    start_runtime(cpu_devices=runtime.cpu_device_count_for(64))
    import jax

    rows = [measure(*shape, repeats=_REPEATS.value) for shape in SHAPES]
    results = {
        "command": "python -m benchmarks.group_norm",
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.processor() or platform.machine(),
        "jax": jax.__version__,
        "devices": len(jax.devices()),
        "rows": rows,
    }
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    (out / "group_norm.json").write_text(json.dumps(results, indent=2) + "\n")
    names = ["flax", "fused, autodiff", "fused, hand-written gradient"]
    lines = [
        "# GroupNorm + SiLU (+ shift): Flax's composition against the fused operation",
        "",
        f"Measured by `{results['command']}` on {results['date']} (JAX {results['jax']}, "
        f"{results['devices']} CPU devices, the batch sharded over them). Medians of "
        f"{_REPEATS.value} calls, milliseconds.",
        "",
        "| shape | groups | " + " | ".join(f"{n} fwd | {n} fwd+bwd" for n in names) + " |",
        "|---|---|" + "---|---|" * len(names),
    ]
    for row in rows:
        cells = " | ".join(
            f"{row[n]['forward_ms']:.2f} | {row[n]['forward_backward_ms']:.2f}" for n in names
        )
        lines.append(f"| {'x'.join(map(str, row['shape']))} | {row['groups']} | {cells} |")
    lines.append("")
    (out / "group_norm.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
