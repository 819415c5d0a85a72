"""Transposed convolution vs its sub-pixel form, and the DCGAN digits training step.

    python -m benchmarks.upsampling

Times, on one CPU device, the forward pass and the forward + backward pass of
the three 4x4 / stride-2 upsampling layers of the DCGAN digits generator (batch
64) as ``flax.linen.ConvTranspose`` and as
:class:`gensys.nets.subpixel.SubPixelConvTranspose` (same parameters, same
function), then the whole ``dcgan_digits`` training step. Medians of 20 calls
after a warm-up call. Results: ``benchmarks/results/upsampling.{md,json}``.
"""

from __future__ import annotations

import importlib
import json
import platform
from pathlib import Path

from absl import app, flags

from benchmarks.common import median_ms

_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed calls per measurement.")

LAYERS = [(128, 64, 4), (64, 32, 8), (32, 1, 16)]  # (C_in, C_out, input side)


def main(argv):
    del argv
    from gensys.train import runtime

    runtime.enable_compilation_cache()
    runtime.set_cpu_devices(1)

    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from gensys.data.datasets import get_spec
    from gensys.nets.subpixel import SubPixelConvTranspose
    from gensys.recipes.gan import GANConfig, make_gan_recipe
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    repeats = _REPEATS.value
    rows = []
    for c_in, c_out, side in LAYERS:
        x = jax.random.normal(jax.random.key(0), (64, side, side, c_in))
        row = {"layer": f"{c_in}->{c_out} @ {side}x{side}"}
        for name, module in [
            ("conv_transpose", nn.ConvTranspose(c_out, (4, 4), strides=(2, 2), padding="SAME")),
            ("subpixel", SubPixelConvTranspose(c_out)),
        ]:
            params = module.init(jax.random.key(1), x)
            forward = jax.jit(module.apply)
            grad = jax.jit(jax.grad(lambda p, x, m=module: jnp.sum(m.apply(p, x) ** 2), (0, 1)))
            row[f"{name}_forward_ms"] = median_ms(forward, params, x, repeats=repeats)
            row[f"{name}_forward_backward_ms"] = median_ms(grad, params, x, repeats=repeats)
        rows.append(row)
        print(row)

    raw = importlib.import_module("experiments.configs.dcgan_digits").get_config()
    config = from_mapping(ExperimentConfig, raw)
    recipe = make_gan_recipe(GANConfig(**config.model), get_spec("digits"))
    batch = {
        "image": jax.random.uniform(jax.random.key(0), (64, 8, 8, 1), minval=-1, maxval=1),
        "label": jnp.zeros(64, jnp.int32),
        "mask": jnp.ones(64),
    }
    state = jax.jit(recipe.init)(jax.random.key(1), batch)
    step = jax.jit(recipe.train_step)
    step_ms = median_ms(step, state, batch, jax.random.key(2), repeats=repeats)
    print(f"dcgan_digits training step: {step_ms:.1f} ms")

    machine = f"{platform.processor() or platform.machine()}, 1 CPU device"
    lines = [
        "# Upsampling: transposed convolution vs sub-pixel convolution\n",
        f"`python -m benchmarks.upsampling` on {machine}; batch 64, medians of {repeats} calls.\n",
        "| layer | ConvTranspose fwd ms | sub-pixel fwd ms | ConvTranspose fwd+bwd ms "
        "| sub-pixel fwd+bwd ms |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layer']} | {r['conv_transpose_forward_ms']:.2f} | "
            f"{r['subpixel_forward_ms']:.2f} | {r['conv_transpose_forward_backward_ms']:.2f} | "
            f"{r['subpixel_forward_backward_ms']:.2f} |"
        )
    lines.append(f"\nDCGAN digits training step (as shipped): {step_ms:.1f} ms\n")
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    (out / "upsampling.md").write_text("\n".join(lines))
    (out / "upsampling.json").write_text(
        json.dumps({"layers": rows, "dcgan_digits_step_ms": step_ms}, indent=1)
    )
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
