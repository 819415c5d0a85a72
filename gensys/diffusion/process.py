"""The DDPM forward process, its closed form, and the Gaussian posterior.

All functions are pure, take a :class:`~gensys.diffusion.schedules.NoiseSchedule`
and integer timesteps ``t`` of shape ``(B,)``, and are jit / vmap / grad
compatible. Images are ``[B, ...]`` (NHWC for pictures); coefficients are
broadcast over every axis after the batch.

Reference: Ho, Jain, Abbeel. Denoising Diffusion Probabilistic Models. 2020,
equations (2), (4), (6), (7) and (15).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.schedules import NoiseSchedule


def extract(coef: jax.Array, t: jax.Array, ndim: int) -> jax.Array:
    """``coef[t]`` shaped ``[B, 1, ..., 1]`` to broadcast against a rank-``ndim`` array.

    An out-of-range ``t`` gives NaN instead of JAX's silent clamping to the last entry,
    or, for a negative ``t``, NumPy-style wrapping to ``coef[T + t]``, which ``mode="fill"``
    keeps: so a bad timestep cannot pass unnoticed under jit.
    """
    in_range = (t >= 0) & (t < coef.shape[0])
    values = jnp.where(in_range, coef.at[jnp.where(in_range, t, 0)].get(), jnp.nan)
    return values.reshape(t.shape + (1,) * (ndim - 1))


def _check_inputs(schedule: NoiseSchedule, x: jax.Array, t: jax.Array, x_name: str) -> None:
    checks.check_floating(x, x_name)
    if x.ndim < 1:
        raise ValueError(f"{x_name} must have a leading batch axis, got shape {x.shape}")
    checks.check_timesteps(t, schedule.num_timesteps, x.shape[0])


def q_mean_variance(
    schedule: NoiseSchedule, x0: jax.Array, t: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Mean and variance of ``q(x_t | x_0) = N(sqrt(a_t) x_0, (1 - a_t) I)``.

    Returns the mean, shaped like ``x0``, and the variance, shaped ``[B, 1, ..., 1]``.
    """
    _check_inputs(schedule, x0, t, "x0")
    mean = extract(schedule.sqrt_alpha_bars, t, x0.ndim) * x0
    variance = 1.0 - extract(schedule.alpha_bars, t, x0.ndim)
    return mean, variance


def q_sample(schedule: NoiseSchedule, x0: jax.Array, t: jax.Array, noise: jax.Array) -> jax.Array:
    """Samples ``x_t ~ q(x_t | x_0)`` in closed form: ``sqrt(a_t) x_0 + sqrt(1 - a_t) noise``.

    Args:
        schedule: the noise schedule.
        x0: clean data, ``[B, ...]``.
        t: integer timesteps in ``[0, T)``, ``(B,)``.
        noise: standard normal noise shaped like ``x0`` (explicit so tests are exact).
    """
    _check_inputs(schedule, x0, t, "x0")
    checks.check_same_shape(noise, x0, "noise", "x0")
    return (
        extract(schedule.sqrt_alpha_bars, t, x0.ndim) * x0
        + extract(schedule.sqrt_one_minus_alpha_bars, t, x0.ndim) * noise
    )


def q_step_sample(
    schedule: NoiseSchedule, x_prev: jax.Array, t: jax.Array, noise: jax.Array
) -> jax.Array:
    """One forward step ``x_t ~ q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)``.

    Iterating this from ``t = 0`` gives the closed form of :func:`q_sample`.
    """
    _check_inputs(schedule, x_prev, t, "x_prev")
    checks.check_same_shape(noise, x_prev, "noise", "x_prev")
    beta = extract(schedule.betas, t, x_prev.ndim)
    return jnp.sqrt(1.0 - beta) * x_prev + jnp.sqrt(beta) * noise


def q_posterior(
    schedule: NoiseSchedule, x0: jax.Array, x_t: jax.Array, t: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The posterior ``q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde I)``.

    ``mu_tilde = c1_t x_0 + c2_t x_t`` (Ho et al. eq. 7). At ``t = 0`` the
    variance is 0 and the mean is ``x_0``.

    Returns:
        ``(mean, variance, log_variance_clipped)``: the mean shaped like ``x_t``,
        the variance and its clipped log shaped ``[B, 1, ..., 1]``.
    """
    _check_inputs(schedule, x_t, t, "x_t")
    checks.check_same_shape(x0, x_t, "x0", "x_t")
    nd = x_t.ndim
    mean = (
        extract(schedule.posterior_mean_coef1, t, nd) * x0
        + extract(schedule.posterior_mean_coef2, t, nd) * x_t
    )
    variance = extract(schedule.posterior_variance, t, nd)
    log_variance = extract(schedule.posterior_log_variance_clipped, t, nd)
    return mean, variance, log_variance


def predict_x0_from_eps(
    schedule: NoiseSchedule, x_t: jax.Array, t: jax.Array, eps: jax.Array
) -> jax.Array:
    """``x_0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)``, the inverse of :func:`q_sample`."""
    _check_inputs(schedule, x_t, t, "x_t")
    checks.check_same_shape(eps, x_t, "eps", "x_t")
    nd = x_t.ndim
    return (
        extract(schedule.sqrt_recip_alpha_bars, t, nd) * x_t
        - extract(schedule.sqrt_recipm1_alpha_bars, t, nd) * eps
    )


def predict_eps_from_x0(
    schedule: NoiseSchedule, x_t: jax.Array, t: jax.Array, x0: jax.Array
) -> jax.Array:
    """``eps = (x_t - sqrt(a_t) x_0) / sqrt(1 - a_t)``, inverting :func:`predict_x0_from_eps`."""
    _check_inputs(schedule, x_t, t, "x_t")
    checks.check_same_shape(x0, x_t, "x0", "x_t")
    nd = x_t.ndim
    return (extract(schedule.sqrt_recip_alpha_bars, t, nd) * x_t - x0) / extract(
        schedule.sqrt_recipm1_alpha_bars, t, nd
    )
