"""Training objectives for diffusion models.

Reference: Ho, Jain, Abbeel. Denoising Diffusion Probabilistic Models. 2020,
Algorithm 1 and the simplified objective L_simple (eq. 14):
``L_simple = E_{t ~ U{0..T-1}, x_0, eps ~ N(0, I)} || eps - eps_theta(x_t, t) ||^2``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.process import q_sample
from gensys.diffusion.schedules import NoiseSchedule

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]


def sample_timesteps(key: jax.Array, batch: int, num_timesteps: int) -> jax.Array:
    """Timesteps drawn uniformly from ``{0, ..., T - 1}``, int32, shape ``(batch,)``."""
    return jax.random.randint(key, (batch,), 0, num_timesteps, dtype=jnp.int32)


def eps_prediction_loss(
    key: jax.Array, schedule: NoiseSchedule, model_fn: ModelFn, x0: jax.Array
) -> jax.Array:
    """Per-example L_simple: the mean squared error of the predicted noise.

    Draws ``t`` uniformly and ``eps ~ N(0, I)``, forms ``x_t`` by
    :func:`~gensys.diffusion.process.q_sample`, and returns
    ``mean_{pixels} (eps - model_fn(x_t, t))^2`` for each example.

    Args:
        key: PRNG key.
        schedule: the noise schedule.
        model_fn: ``(x_t [B, ...], t (B,)) -> eps_hat [B, ...]``.
        x0: clean data ``[B, ...]``.

    Returns:
        Per-example losses, float32, shape ``(B,)``.
    """
    checks.check_floating(x0, "x0")
    t_key, noise_key = jax.random.split(key)
    t = sample_timesteps(t_key, x0.shape[0], schedule.num_timesteps)
    noise = jax.random.normal(noise_key, x0.shape, dtype=x0.dtype)
    x_t = q_sample(schedule, x0, t, noise)
    eps_hat = model_fn(x_t, t)
    checks.check_same_shape(eps_hat, x0, "model_fn(x_t, t)", "x0")
    sq = jnp.square(eps_hat.astype(jnp.float32) - noise.astype(jnp.float32))
    return jnp.mean(sq.reshape(x0.shape[0], -1), axis=-1)
