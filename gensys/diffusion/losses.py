"""Training objectives for diffusion models.

- L_simple (Ho, Jain, Abbeel 2020, Algorithm 1, eq. 14):
  ``E_{t ~ U{0..T-1}, x_0, eps ~ N(0, I)} || eps - eps_theta(x_t, t) ||^2``;
- the same regression for x0 and v targets, with the weightings of
  :mod:`gensys.diffusion.parameterization` (simple, SNR, min-SNR-gamma);
- the hybrid loss for learned variances (Nichol & Dhariwal 2021, section 3.1):
  ``L_simple + lambda L_vlb`` with ``lambda = 0.001``, where the single-sample
  estimate of ``L_vlb`` is ``T L_t`` (``L_t`` in bits per dimension) and the mean
  output is frozen (stop-gradient) inside ``L_t`` so the bound trains only the variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.denoiser import split_learned_variance
from gensys.diffusion.likelihood import vlb_term
from gensys.diffusion.parameterization import loss_weight, resolve_prediction, training_target
from gensys.diffusion.process import extract, q_sample
from gensys.diffusion.schedules import NoiseSchedule

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]


def sample_timesteps(key: jax.Array, batch: int, num_timesteps: int) -> jax.Array:
    """Timesteps drawn uniformly from ``{0, ..., T - 1}``, int32, shape ``(batch,)``."""
    return jax.random.randint(key, (batch,), 0, num_timesteps, dtype=jnp.int32)


def eps_prediction_loss(
    key: jax.Array, schedule: NoiseSchedule, model_fn: ModelFn, x0: jax.Array
) -> jax.Array:
    """Per-example L_simple ``(B,)``: :func:`diffusion_loss` with epsilon prediction."""
    return diffusion_loss(key, schedule, model_fn, x0)


def diffusion_loss(
    key: jax.Array,
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    x0: jax.Array,
    *,
    parameterization: str | None = None,
    weighting: str = "simple",
    min_snr_gamma: float = 5.0,
    learned_variance: bool | None = None,
    hybrid_lambda: float = 0.001,
    num_levels: int = 256,
) -> jax.Array:
    """Per-example training loss ``(B,)`` at one uniform ``t`` and ``eps ~ N(0, I)`` each.

    ``weight(SNR_t) * mean_pixels (output - target)^2``, plus for a
    ``learned_variance`` model (output ``[..., 2C]``) ``hybrid_lambda * T * L_t`` in
    bits per dimension with the mean output frozen.

    Args:
        key: PRNG key.
        schedule: the noise schedule.
        model_fn: ``(x_t [B, ...], t (B,)) -> output`` in ``parameterization``.
        x0: clean data ``[B, ...]`` in ``[-1, 1]``.
        num_levels: data levels, for the discretized decoder of ``L_0``.
    """
    parameterization, learned_variance = resolve_prediction(
        model_fn, parameterization, learned_variance
    )
    checks.check_floating(x0, "x0")
    t_key, noise_key = jax.random.split(key)
    batch, nd = x0.shape[0], x0.ndim
    t = sample_timesteps(t_key, batch, schedule.num_timesteps)
    noise = jax.random.normal(noise_key, x0.shape, dtype=x0.dtype)
    x_t = q_sample(schedule, x0, t, noise)
    output = model_fn(x_t, t)
    raw = output
    if learned_variance:
        output, _ = split_learned_variance(output, x0.shape[-1])
    checks.check_same_shape(output, x0, "model_fn(x_t, t)", "x0")
    alpha = extract(schedule.sqrt_alpha_bars, t, nd)
    sigma = extract(schedule.sqrt_one_minus_alpha_bars, t, nd)
    target = training_target(parameterization, x0, noise, alpha, sigma)
    sq = jnp.square(output.astype(jnp.float32) - target.astype(jnp.float32))
    snr = extract(schedule.alpha_bars, t, 1) / (1.0 - extract(schedule.alpha_bars, t, 1))
    weight = loss_weight(weighting, parameterization, snr, gamma=min_snr_gamma)
    loss = weight * jnp.mean(sq.reshape(batch, -1), axis=-1)
    if learned_variance:
        channels = x0.shape[-1]
        frozen = jnp.concatenate(
            [jax.lax.stop_gradient(raw[..., :channels]), raw[..., channels:]], axis=-1
        )
        vb_nats = vlb_term(
            schedule, frozen, x0, x_t, t,
            parameterization=parameterization, learned_variance=True, num_levels=num_levels,
        )  # fmt: skip
        vb_bpd = vb_nats / (math.prod(x0.shape[1:]) * math.log(2.0))
        loss = loss + hybrid_lambda * schedule.num_timesteps * vb_bpd
    return loss
