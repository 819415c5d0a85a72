"""The DDPM variational bound as bits per dimension (Ho et al. 2020, eq. 5; Nichol & Dhariwal 2021).

For data ``x_0`` on ``L`` evenly spaced levels in ``[-1, 1]`` and ``T`` steps
(0-indexed, ``t = 0`` the least noisy):

    -log p(x_0) <= L_prior + sum_{t=1}^{T-1} L_t + L_0
    L_prior = KL(q(x_{T-1} | x_0) || N(0, I))
    L_t     = E_q KL(q(x_{t-1} | x_t, x_0) || p_theta(x_{t-1} | x_t))
    L_0     = -E_q log p_theta(x_0 | x_0-level bin | x_{t=0}),  a discretized Gaussian

``p_theta(x_{t-1} | x_t) = N(mu_tilde(x_t, x0_hat), Sigma)`` with the
fixed-small variance (the clipped ``log beta~_t``) or, for learned variances,
``exp(f log beta_t + (1 - f) log beta~_t)``. Everything is in nats summed over
dimensions per example; :func:`vlb_bits_per_dim` divides by ``D ln 2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.denoiser import ModelFn, denoise_output
from gensys.diffusion.parameterization import resolve_prediction
from gensys.diffusion.process import extract, q_posterior, q_sample
from gensys.diffusion.sample_loop import per_example_normal
from gensys.diffusion.schedules import NoiseSchedule
from gensys.distributions import discretized_gaussian_log_likelihood, normal_kl


def model_log_variance(
    schedule: NoiseSchedule, t: jax.Array, ndim: int, fraction: jax.Array | None = None
) -> jax.Array:
    """``log Sigma_t``: the clipped ``log beta~_t`` or ``f log beta_t + (1 - f) log beta~_t``."""
    small = extract(schedule.posterior_log_variance_clipped, t, ndim)
    if fraction is None:
        return small
    large = jnp.log(extract(schedule.betas, t, ndim))
    return fraction * large + (1.0 - fraction) * small


def prior_kl(schedule: NoiseSchedule, x0: jax.Array) -> jax.Array:
    """``KL(q(x_{T-1} | x_0) || N(0, I))`` per example, nats ``(B,)``."""
    checks.check_floating(x0, "x0")
    t = jnp.full((x0.shape[0],), schedule.num_timesteps - 1, jnp.int32)
    mean = extract(schedule.sqrt_alpha_bars, t, x0.ndim) * x0
    log_var = jnp.log(extract(1.0 - schedule.alpha_bars, t, x0.ndim))
    kl = normal_kl(mean, jnp.broadcast_to(log_var, x0.shape), 0.0, 0.0)
    return jnp.sum(kl.reshape(x0.shape[0], -1), axis=-1)


def vlb_term(
    schedule: NoiseSchedule,
    output: jax.Array,
    x0: jax.Array,
    x_t: jax.Array,
    t: jax.Array,
    *,
    parameterization: str = "eps",
    learned_variance: bool = False,
    threshold: Callable[[jax.Array], jax.Array] | None = None,
    num_levels: int = 256,
) -> jax.Array:
    """``L_t`` (``t > 0``) or ``L_0`` (``t = 0``) per example in nats ``(B,)``, given the model
    ``output`` at ``x_t``; the expectation over ``x_t`` is left to the caller."""
    checks.check_timesteps(t, schedule.num_timesteps, x0.shape[0])
    checks.check_same_shape(x_t, x0, "x_t", "x0")
    nd = x0.ndim
    d = denoise_output(
        output,
        x_t,
        extract(schedule.sqrt_alpha_bars, t, nd),
        extract(schedule.sqrt_one_minus_alpha_bars, t, nd),
        parameterization=parameterization,
        threshold=threshold,
        learned_variance=learned_variance,
    )
    true_mean, _, true_log_var = q_posterior(schedule, x0, x_t, t)
    model_mean, _, _ = q_posterior(schedule, d.x0, x_t, t)
    log_var = model_log_variance(schedule, t, nd, d.variance_fraction)
    kl = normal_kl(true_mean, true_log_var, model_mean, log_var)
    nll = -discretized_gaussian_log_likelihood(
        x0, model_mean, jnp.broadcast_to(0.5 * log_var, x0.shape), num_levels
    )
    at_zero = (t == 0).reshape(t.shape + (1,) * (nd - 1))
    per_dim = jnp.where(at_zero, nll, kl)
    return jnp.sum(per_dim.reshape(x0.shape[0], -1).astype(jnp.float32), axis=-1)


def vlb_bits_per_dim(
    key: jax.Array,
    schedule: NoiseSchedule,
    model_fn: ModelFn,
    x0: jax.Array,
    *,
    parameterization: str | None = None,
    learned_variance: bool | None = None,
    threshold: Callable[[jax.Array], jax.Array] | None = None,
    num_levels: int = 256,
) -> dict[str, jax.Array]:
    """The whole bound per example, one ``x_t`` draw per term, ``T`` model calls (``lax.scan``).

    Returns per-example float32 ``(B,)`` arrays: ``nll_nats`` (the whole bound in nats)
    and in bits per dimension ``bpd`` (the total), ``prior_bpd``, ``decoder_bpd``
    (``L_0``) and ``kl_bpd`` (the sum of ``L_t``, ``t > 0``). The noise of term ``t``
    for example ``i`` comes from ``fold_in(fold_in(key, i), t)``.
    """
    parameterization, learned_variance = resolve_prediction(
        model_fn, parameterization, learned_variance
    )
    checks.check_floating(x0, "x0")
    batch = x0.shape[0]
    normal = per_example_normal(key, x0.shape, x0.dtype)

    def body(carry, t_scalar):
        t = jnp.full((batch,), t_scalar, jnp.int32)
        x_t = q_sample(schedule, x0, t, normal(t_scalar))
        term = vlb_term(
            schedule,
            model_fn(x_t, t),
            x0,
            x_t,
            t,
            parameterization=parameterization,
            learned_variance=learned_variance,
            threshold=threshold,
            num_levels=num_levels,
        )
        return carry + jnp.where(t_scalar > 0, term, 0.0), jnp.where(t_scalar == 0, term, 0.0)

    kl_sum, decoder_terms = jax.lax.scan(
        body, jnp.zeros((batch,), jnp.float32), jnp.arange(schedule.num_timesteps - 1, -1, -1)
    )
    to_bpd = 1.0 / (math.prod(x0.shape[1:]) * math.log(2.0))
    prior = prior_kl(schedule, x0).astype(jnp.float32)
    decoder = decoder_terms[-1]
    return {
        "nll_nats": prior + kl_sum + decoder,
        "bpd": (prior + kl_sum + decoder) * to_bpd,
        "prior_bpd": prior * to_bpd,
        "decoder_bpd": decoder * to_bpd,
        "kl_bpd": kl_sum * to_bpd,
    }
