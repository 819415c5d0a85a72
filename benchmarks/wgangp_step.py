"""What WGAN-GP's gradient penalty costs: the training step of
``experiments/configs/wgangp_digits.py`` with and without it.

    python -m benchmarks.wgangp_step [--repeats=5]

Times the engine's compiled step (two CPU devices, random images) of the config as it is
(5 critic updates of 64 digits at 32x32 and one generator update; on CPU the penalty's
critic computes its convolutions as patches times kernels, ``gensys.nets.patch_conv``), of
the same with XLA's own convolutions in the penalty (``model.penalty_convolutions=xla``),
with the ``wgan`` loss (no penalty; its weight clipping costs nothing measurable), and of one
critic update with each; and once more with the penalty's per-example input gradients
taken as the gradient of the batch's summed critic output instead of ``vmap`` over
examples (the same numbers when the critic treats examples independently, as the
penalty requires), to tell the cost of the double backward pass from that of ``vmap``.
Median of ``--repeats`` calls after a compiling and a warm-up one (the JSON also keeps
the compile seconds, which the persistent compilation cache makes meaningless on a
second run). Results:
``benchmarks/results/wgangp_step.{md,json}``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
from absl import app, flags

from benchmarks.common import experiment_config, start_runtime, typed

_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per variant.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")

VARIANTS = {
    "WGAN-GP, the config (5 critic updates + 1 generator update)": [],
    "WGAN-GP (5 + 1), XLA's convolutions in the penalty": ["model.penalty_convolutions=xla"],
    "WGAN, no penalty (5 + 1)": ["model.loss=wgan"],
    "WGAN-GP, 1 critic update + 1 generator update": ["model.d_steps=1", "data.batch_size=64"],
    "WGAN-GP (1 + 1), XLA's convolutions in the penalty": [
        "model.d_steps=1",
        "data.batch_size=64",
        "model.penalty_convolutions=xla",
    ],
    "WGAN, 1 + 1": ["model.loss=wgan", "model.d_steps=1", "data.batch_size=64"],
    "WGAN-GP (5 + 1), XLA's convolutions, input gradients of the summed output": [
        "model.penalty_convolutions=xla",
        "summed",
    ],
}


def summed_input_gradient_norms(critic, x, aux):
    """Per-example input-gradient norms from one gradient of the batch's summed output."""
    import jax
    import jax.numpy as jnp

    grads = jax.grad(lambda xs: jnp.sum(critic(xs, *aux)))(x)
    return jnp.sqrt(jnp.sum(jnp.square(grads.reshape(x.shape[0], -1)), axis=-1) + 1e-12)


def time_variant(overrides: list[str]) -> dict:
    import jax

    from gensys.data.datasets import get_spec
    from gensys.gan import losses
    from gensys.recipes import recipe_for
    from gensys.train import sharding
    from gensys.train.engine import Engine

    original = losses._input_gradient_norms
    if "summed" in overrides:
        losses._input_gradient_norms = summed_input_gradient_norms
    try:
        settings = [o for o in overrides if o != "summed"]
        config = typed(experiment_config("wgangp_digits", overrides=settings))
        engine = Engine(recipe_for(config), sharding.make_mesh())
        batch = engine.example_batch(get_spec("digits"), config.data.batch_size)
        images = np.random.default_rng(0).uniform(-1, 1, batch["image"].shape)
        batch["image"] = jax.device_put(images.astype(np.float32), batch["image"].sharding)
        state = engine.init(jax.random.key(0), batch)
        tick = time.perf_counter()
        step = engine._train_step.lower(state, batch, jax.random.key(1)).compile()
        compile_seconds = time.perf_counter() - tick
        state, _ = step(state, batch, jax.random.key(1))
        jax.block_until_ready(state)
        times = []
        for i in range(_REPEATS.value):
            tick = time.perf_counter()
            state, _ = step(state, batch, jax.random.key(2 + i))
            jax.block_until_ready(state)
            times.append(time.perf_counter() - tick)
    finally:
        losses._input_gradient_norms = original
    return {"compile_s": compile_seconds, "step_ms": 1000 * float(np.median(times))}


def main(argv):
    del argv
    start_runtime(2)
    import jax

    results = {label: time_variant(overrides) for label, overrides in VARIANTS.items()}
    lines = [
        "# What WGAN-GP's gradient penalty costs",
        "",
        f"`python -m benchmarks.wgangp_step --repeats={_REPEATS.value}` on "
        f"{platform.machine()}, {jax.device_count()} CPU devices, jax {jax.__version__}: "
        "the engine's compiled training step of `wgangp_digits` (DCGAN players at 32x32, "
        "layer norm in the critic, batches of 64), median of the timed calls.",
        "",
        "| variant | step (ms) |",
        "|---|---|",
        *(f"| {k} | {v['step_ms']:.0f} |" for k, v in results.items()),
    ]
    out = Path(_OUT.value)
    (out / "wgangp_step.json").write_text(json.dumps(results, indent=1))
    (out / "wgangp_step.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
