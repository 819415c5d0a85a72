"""Flow matching through the recipe: it learns the digits' velocity field, samples, and its
exact likelihood beats the uniform model's."""

import jax
import jax.numpy as jnp
import numpy as np

from gensys.data.datasets import DATASETS, load_split
from gensys.recipes.flow_matching import (
    FlowMatchingConfig,
    FlowSamplerConfig,
    make_flow_matching_recipe,
)

SPEC = DATASETS["digits"]
TINY = dict(channels=16, channel_mults=(1, 2), num_res_blocks=1, warmup_steps=20,
            learning_rate=2e-3, ema_decay=0.9, eval_ode_steps=8,
            eval_ode_divergence="hutchinson")  # fmt: skip
STEPS = 150


def test_flow_matching_learns_the_digits(data_cache):
    images = load_split("digits", "train", cache_dir=data_cache).images
    x = jnp.asarray(images[:256], jnp.float32) / 8.0 - 1.0  # 17 levels in [-1, 1]
    recipe = make_flow_matching_recipe(
        FlowMatchingConfig(**TINY), SPEC, FlowSamplerConfig("heun", 8)
    )
    batch = lambda i: {"image": x[(i * 64) % 256 : (i * 64) % 256 + 64], "mask": jnp.ones(64)}  # noqa: E731
    state = jax.jit(recipe.init)(jax.random.key(0), batch(0))
    step = jax.jit(recipe.train_step)
    evaluate = jax.jit(recipe.eval_step)
    before = evaluate(state, batch(0), jax.random.key(1))
    for i in range(STEPS):
        state, metrics = step(state, batch(i), jax.random.fold_in(jax.random.key(2), i))
    after = evaluate(state, batch(0), jax.random.key(1))
    before, after = ({k: float(jnp.mean(v)) for k, v in m.items()} for m in (before, after))
    # Measured (seed 0): loss 1.71 -> 0.57 and 4.84 -> 2.35 bits/dim (8 Heun steps of the ODE,
    # Hutchinson's divergence; the exact one gives 2.32 but costs 64 times as many backward
    # passes), below the uniform model's 4.09 and independent pixels' 2.40.
    assert after["loss"] < 0.9 < before["loss"]
    assert after["bpd"] < 3.5 < 4.09 < before["bpd"]
    samples = jax.jit(recipe.sample, static_argnums=2)(state, jax.random.key(3), 16)
    assert samples.shape == (16, 8, 8, 1) and np.all(np.abs(np.asarray(samples)) <= 1)
