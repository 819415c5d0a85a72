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
import numpy as np

from gensys import checks
from gensys.diffusion.process import extract, predict_eps_from_x0, predict_x0_from_eps, q_posterior
from gensys.diffusion.schedules import NoiseSchedule
from gensys.diffusion.spacing import checked_steps, respace

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]


def per_example_keys(key: jax.Array, num: int) -> jax.Array:
    """``[fold_in(key, 0), ..., fold_in(key, num - 1)]``: keys that do not depend on ``num``."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num, dtype=jnp.uint32))


def _per_example_normal(key: jax.Array, shape: Sequence[int], dtype) -> Callable:
    """``step -> [z_0, ..., z_{B-1}]``, each ``N(0, I)`` from ``fold_in(fold_in(key, i), step)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 1 or shape[0] < 1:
        raise ValueError(f"shape must start with a positive batch size, got {shape}")
    keys = per_example_keys(key, shape[0])

    def normal(step: jax.Array | int) -> jax.Array:
        return jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, step), shape[1:], dtype))(
            keys
        )

    return normal


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
    timesteps: np.ndarray | None = None,
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
        timesteps: optionally a subsequence of training steps (e.g. from
            :func:`~gensys.diffusion.spacing.timestep_spacing`): the chain then runs
            on the respaced schedule (improved DDPM) and the model sees the
            original timesteps.
        clip_x0: clip predicted ``x_0`` to ``[-1, 1]`` at every step.

    Returns:
        Samples of ``shape``, in the model's data range (``[-1, 1]`` when clipped).
    """
    if timesteps is not None:
        model_t = jnp.asarray(np.sort(np.asarray(timesteps)), jnp.int32)
        schedule, full_model_fn = respace(schedule, timesteps), model_fn

        def model_fn(x_t, i):
            return full_model_fn(x_t, model_t[i])

    per_example_normal = _per_example_normal(key, shape, dtype)
    x_init = per_example_normal(schedule.num_timesteps)
    batch = x_init.shape[0]

    def body(x: jax.Array, t_scalar: jax.Array) -> tuple[jax.Array, None]:
        t = jnp.full((batch,), t_scalar, dtype=jnp.int32)
        x = ddpm_step(schedule, model_fn, x, t, per_example_normal(t_scalar), clip_x0=clip_x0)
        return x, None

    timesteps = jnp.arange(schedule.num_timesteps - 1, -1, -1, dtype=jnp.int32)
    x, _ = jax.lax.scan(body, x_init, timesteps)
    return x


def _alpha_bar_or_one(schedule: NoiseSchedule, t: jax.Array, ndim: int) -> jax.Array:
    """``alpha_bar_t`` shaped for broadcasting, with ``alpha_bar_{-1} = 1`` (the clean data)."""
    value = extract(schedule.alpha_bars, jnp.maximum(t, 0), ndim)
    return jnp.where((t >= 0).reshape(value.shape), value, 1.0)


def ddim_step(
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    x_t: jax.Array,
    t: jax.Array,
    t_prev: jax.Array,
    noise: jax.Array,
    *,
    eta: float | jax.Array = 0.0,
    clip_x0: bool = True,
) -> jax.Array:
    """One DDIM step from ``t`` to an earlier step ``t_prev`` (``-1`` for the clean data).

    Song, Meng, Ermon. Denoising Diffusion Implicit Models. ICLR 2021, eq. (12):
    with ``a = alpha_bar_t`` and ``a' = alpha_bar_{t_prev}``,

        sigma = eta * sqrt((1 - a') / (1 - a)) * sqrt(1 - a / a')
        x_prev = sqrt(a') x0_hat + sqrt(1 - a' - sigma^2) eps_hat + sigma z.

    ``eta = 0`` is deterministic; ``eta = 1`` between consecutive steps has
    exactly the DDPM posterior variance. When ``x0_hat`` is clipped, ``eps_hat``
    is recomputed from the clipped ``x0_hat`` so the two stay consistent.
    """
    checks.check_floating(x_t, "x_t")
    checks.check_same_shape(noise, x_t, "noise", "x_t")
    checks.check_timesteps(t, schedule.num_timesteps, x_t.shape[0], "t")
    checks.check_integer(t_prev, "t_prev")
    checks.check_shape(t_prev, (x_t.shape[0],), "t_prev")
    eps_hat = model_fn(x_t, t)
    checks.check_same_shape(eps_hat, x_t, "model_fn(x_t, t)", "x_t")
    x0_hat = predict_x0_from_eps(schedule, x_t, t, eps_hat)
    if clip_x0:
        x0_hat = jnp.clip(x0_hat, -1.0, 1.0)
        eps_hat = predict_eps_from_x0(schedule, x_t, t, x0_hat)
    a = extract(schedule.alpha_bars, t, x_t.ndim)
    a_prev = _alpha_bar_or_one(schedule, t_prev, x_t.ndim)
    sigma = eta * jnp.sqrt((1.0 - a_prev) / (1.0 - a)) * jnp.sqrt(1.0 - a / a_prev)
    direction = jnp.sqrt(jnp.maximum(1.0 - a_prev - sigma**2, 0.0))
    return jnp.sqrt(a_prev) * x0_hat + direction * eps_hat + sigma * noise


def _descending_pairs(timesteps: np.ndarray, num_timesteps: int) -> tuple[jax.Array, jax.Array]:
    """``(t, t_prev)`` for each step in sampling order; the last ``t_prev`` is -1 (clean data)."""
    steps = checked_steps(timesteps, num_timesteps)[::-1]
    return jnp.asarray(steps, jnp.int32), jnp.asarray(np.append(steps[1:], -1), jnp.int32)


def _ddim_chain(
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    x_start: jax.Array,
    timesteps: np.ndarray,
    noise_at: Callable[[jax.Array], jax.Array],
    eta: float | jax.Array,
    clip_x0: bool,
) -> jax.Array:
    """DDIM steps from ``x_start`` at the largest of ``timesteps`` down to the clean data."""
    t_seq, t_prev_seq = _descending_pairs(timesteps, schedule.num_timesteps)
    batch = x_start.shape[0]

    def body(x, pair):
        t, t_prev = pair
        x = ddim_step(
            schedule,
            model_fn,
            x,
            jnp.full((batch,), t),
            jnp.full((batch,), t_prev),
            noise_at(t),
            eta=eta,
            clip_x0=clip_x0,
        )
        return x, None

    x, _ = jax.lax.scan(body, x_start, (t_seq, t_prev_seq))
    return x


def ddim_sample(
    key: jax.Array,
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    shape: Sequence[int],
    timesteps: np.ndarray,
    *,
    eta: float | jax.Array = 0.0,
    clip_x0: bool = True,
    dtype: jnp.dtype = jnp.float32,
) -> jax.Array:
    """DDIM sampling over ``timesteps`` (e.g. ``timestep_spacing(1000, 50)``) under ``lax.scan``.

    Starts from ``x_T ~ N(0, I)`` at the largest timestep and ends at the clean
    data after the smallest. Keys are per example, as in :func:`ddpm_sample`.
    """
    per_example_normal = _per_example_normal(key, shape, dtype)
    x_init = per_example_normal(schedule.num_timesteps)
    return _ddim_chain(schedule, model_fn, x_init, timesteps, per_example_normal, eta, clip_x0)


def ddim_invert(
    schedule: NoiseSchedule, model_fn: ModelFn, x0: jax.Array, timesteps: np.ndarray
) -> jax.Array:
    """Deterministic DDIM encoding of ``x0`` to the largest of ``timesteps``.

    Runs the eta = 0 update upwards: ``x_next = sqrt(a_next) x0_hat + sqrt(1 - a_next) eps_hat``
    with ``eps_hat`` evaluated at the current (lower) step. :func:`ddim_sample`
    with ``eta = 0`` and the same ``timesteps``, started from this code instead
    of noise, reconstructs ``x0`` up to the discretisation error.
    """
    checks.check_floating(x0, "x0")
    t_seq, t_prev_seq = _descending_pairs(timesteps, schedule.num_timesteps)
    batch = x0.shape[0]

    def body(x, pair):
        t_next, t_cur = pair
        t_next_b, t_cur_b = jnp.full((batch,), t_next), jnp.full((batch,), t_cur)
        a_cur = _alpha_bar_or_one(schedule, t_cur_b, x.ndim)
        # At the clean end (t_cur = -1) the "noise" of x_0 is undefined; the model
        # is asked at the first step instead, as in the DDIM paper's encoder.
        eps_hat = model_fn(x, jnp.maximum(t_cur_b, 0))
        x0_hat = (x - jnp.sqrt(1.0 - a_cur) * eps_hat) / jnp.sqrt(a_cur)
        a_next = extract(schedule.alpha_bars, t_next_b, x.ndim)
        return jnp.sqrt(a_next) * x0_hat + jnp.sqrt(1.0 - a_next) * eps_hat, None

    x, _ = jax.lax.scan(body, x0, (t_seq[::-1], t_prev_seq[::-1]))
    return x


def ddim_decode(
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    x_T: jax.Array,
    timesteps: np.ndarray,
    *,
    clip_x0: bool = False,
) -> jax.Array:
    """The deterministic (eta = 0) DDIM chain from a given ``x_T``; inverts :func:`ddim_invert`."""
    checks.check_floating(x_T, "x_T")
    zeros = jnp.zeros_like(x_T)
    return _ddim_chain(schedule, model_fn, x_T, timesteps, lambda t: zeros, 0.0, clip_x0)
