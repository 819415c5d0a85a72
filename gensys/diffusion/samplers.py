"""Ancestral DDPM sampling.

``p_theta(x_{t-1} | x_t) = N(mu_tilde(x_t, x0_hat), beta_tilde_t I)`` with the
fixed-small variance and ``x0_hat = (x_t - sqrt(1 - a_t) eps_theta) / sqrt(a_t)``
clipped to the data range (Ho et al. 2020, Algorithm 2, written through the
posterior as in their released code).

Every sampler takes any ``model_fn(x_t, t) -> eps_hat``, so a user's own network
plugs in. Noise is drawn from per-example keys, so a sample does not depend on
the batch it was drawn in (nor on how the batch is sharded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.process import predict_x0_from_eps, q_posterior
from gensys.diffusion.schedules import NoiseSchedule

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]


def per_example_keys(key: jax.Array, num: int) -> jax.Array:
    """``[fold_in(key, 0), ..., fold_in(key, num - 1)]``: keys that do not depend on ``num``."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num, dtype=jnp.uint32))


def ddpm_step(
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    x_t: jax.Array,
    t: jax.Array,
    noise: jax.Array,
    *,
    clip_x0: bool = True,
) -> jax.Array:
    """One ancestral step ``x_t -> x_{t-1} = mu_tilde + sqrt(beta_tilde_t) z``.

    Args:
        schedule: the noise schedule.
        model_fn: ``(x_t [B, ...], t (B,)) -> eps_hat [B, ...]``.
        x_t: current sample ``[B, ...]``.
        t: integer timesteps ``(B,)``; no noise is added where ``t == 0``.
        noise: ``z ~ N(0, I)`` shaped like ``x_t``.
        clip_x0: clip the predicted ``x_0`` to ``[-1, 1]``.
    """
    checks.check_floating(x_t, "x_t")
    checks.check_same_shape(noise, x_t, "noise", "x_t")
    eps_hat = model_fn(x_t, t)
    checks.check_same_shape(eps_hat, x_t, "model_fn(x_t, t)", "x_t")
    x0_hat = predict_x0_from_eps(schedule, x_t, t, eps_hat)
    if clip_x0:
        x0_hat = jnp.clip(x0_hat, -1.0, 1.0)
    mean, _, log_variance = q_posterior(schedule, x0_hat, x_t, t)
    nonzero = (t > 0).astype(x_t.dtype).reshape(t.shape + (1,) * (x_t.ndim - 1))
    return mean + nonzero * jnp.exp(0.5 * log_variance) * noise


def ddpm_sample(
    key: jax.Array,
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    shape: Sequence[int],
    *,
    clip_x0: bool = True,
    dtype: jnp.dtype = jnp.float32,
) -> jax.Array:
    """Draws samples by running the full reverse chain ``T - 1, ..., 0`` under ``lax.scan``.

    Example ``i`` uses key ``key_i = fold_in(key, i)``: ``x_T`` from
    ``fold_in(key_i, T)`` and the noise of step ``t`` from ``fold_in(key_i, t)``,
    so sample ``i`` is the same whatever the batch size or device count.

    Args:
        key: PRNG key.
        schedule: the noise schedule.
        model_fn: ``(x_t, t) -> eps_hat``.
        shape: ``(B, ...)`` of the samples, e.g. ``(64, 8, 8, 1)``.
        clip_x0: clip predicted ``x_0`` to ``[-1, 1]`` at every step.

    Returns:
        Samples of ``shape``, in the model's data range (``[-1, 1]`` when clipped).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 1 or shape[0] < 1:
        raise ValueError(f"shape must start with a positive batch size, got {shape}")
    keys = per_example_keys(key, shape[0])

    def per_example_normal(step: jax.Array | int) -> jax.Array:
        def one(k: jax.Array) -> jax.Array:
            return jax.random.normal(jax.random.fold_in(k, step), shape[1:], dtype)

        return jax.vmap(one)(keys)

    x_init = per_example_normal(schedule.num_timesteps)

    def body(x: jax.Array, t_scalar: jax.Array) -> tuple[jax.Array, None]:
        t = jnp.full((shape[0],), t_scalar, dtype=jnp.int32)
        x = ddpm_step(schedule, model_fn, x, t, per_example_normal(t_scalar), clip_x0=clip_x0)
        return x, None

    timesteps = jnp.arange(schedule.num_timesteps - 1, -1, -1, dtype=jnp.int32)
    x, _ = jax.lax.scan(body, x_init, timesteps)
    return x
