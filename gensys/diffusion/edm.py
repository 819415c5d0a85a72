"""EDM: Karras, Aittala, Aila, Laine (2022), "Elucidating the Design Space of
Diffusion-Based Generative Models".

The data ``y`` is noised in variance-exploding form ``x = y + sigma n``, ``n ~ N(0, I)``, and
the network ``F`` is wrapped so that the denoiser it defines is well scaled at every level
(Table 1, "preconditioning"; ``sigma_data`` the data's standard deviation):

    D(x; sigma) = c_skip x + c_out F(c_in x; c_noise),
    c_skip = sigma_data^2 / (sigma^2 + sigma_data^2),
    c_out = sigma sigma_data / sqrt(sigma^2 + sigma_data^2),
    c_in = 1 / sqrt(sigma^2 + sigma_data^2),
    c_noise = log(sigma) / 4.

Training draws ``log sigma ~ N(P_mean, P_std^2)`` and minimises
``lambda(sigma) || D(y + sigma n; sigma) - y ||^2`` with ``lambda = 1 / c_out^2``, which
makes the network's own target of unit variance at every level.

Sampling (Algorithm 2) follows the probability-flow ODE ``dx/dsigma = (x - D(x; sigma)) /
sigma`` with Heun's method over ``sigma_i = (s_max^(1/rho) + i/(N-1) (s_min^(1/rho) -
s_max^(1/rho)))^rho`` then 0, and with ``S_churn > 0`` first raises the level of each step
inside ``[S_tmin, S_tmax]`` by ``gamma = min(S_churn / N, sqrt(2) - 1)`` with fresh noise of
scale ``S_noise`` (the stochastic sampler); ``S_churn = 0`` is the deterministic one.

The denoiser is a data prediction at ``x = x0 + sigma n`` (``alpha = 1``), so every gensys
sampler (:func:`gensys.diffusion.sample` with ``parameterization="x0"``) also runs on the
EDM levels through :func:`sampling_grid`, the model called with ``t = sigma``; its Heun is
Algorithm 2 without churn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.grid import SamplingGrid, karras_sigmas, make_grid

NetFn = Callable[[jax.Array, jax.Array], jax.Array]  # F(c_in x [B, ...], c_noise (B,))
Denoiser = Callable[[jax.Array, jax.Array], jax.Array]  # D(x [B, ...], sigma (B,))


class Preconditioning(NamedTuple):
    """The four coefficients of Karras et al.'s Table 1, each shaped like ``sigma``."""

    c_skip: jax.Array
    c_out: jax.Array
    c_in: jax.Array
    c_noise: jax.Array


def preconditioning(sigma: jax.Array, sigma_data: float = 0.5) -> Preconditioning:
    """``c_skip``, ``c_out``, ``c_in``, ``c_noise`` at noise level ``sigma`` (module docstring)."""
    total = sigma**2 + sigma_data**2
    return Preconditioning(
        c_skip=sigma_data**2 / total,
        c_out=sigma * sigma_data / jnp.sqrt(total),
        c_in=1.0 / jnp.sqrt(total),
        c_noise=jnp.log(sigma) / 4.0,
    )


def _expand(v: jax.Array, x: jax.Array) -> jax.Array:
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def make_denoiser(net_fn: NetFn, sigma_data: float = 0.5) -> Denoiser:
    """``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise)`` for a network ``net_fn``."""

    def denoise(x: jax.Array, sigma: jax.Array) -> jax.Array:
        c = preconditioning(sigma, sigma_data)
        out = net_fn(_expand(c.c_in, x) * x, c.c_noise)
        return _expand(c.c_skip, x) * x + _expand(c.c_out, x) * out.astype(x.dtype)

    return denoise


def sample_sigmas(
    key: jax.Array, batch: int, p_mean: float = -1.2, p_std: float = 1.2
) -> jax.Array:
    """Training noise levels ``(batch,)``: ``log sigma ~ N(p_mean, p_std^2)``."""
    return jnp.exp(p_mean + p_std * jax.random.normal(key, (batch,)))


def edm_loss(
    key: jax.Array,
    denoiser: Denoiser,
    y: jax.Array,
    *,
    sigma_data: float = 0.5,
    p_mean: float = -1.2,
    p_std: float = 1.2,
) -> jax.Array:
    """``lambda(sigma) ||D(y + sigma n; sigma) - y||^2`` per example ``(B,)``, averaged over
    dimensions, with ``lambda = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2``."""
    checks.check_floating(y, "y")
    sigma_key, noise_key = jax.random.split(key)
    sigma = sample_sigmas(sigma_key, y.shape[0], p_mean, p_std)
    x = y + _expand(sigma, y) * jax.random.normal(noise_key, y.shape, y.dtype)
    weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
    error = jnp.square(denoiser(x, sigma).astype(jnp.float32) - y.astype(jnp.float32))
    return weight * jnp.mean(error.reshape(y.shape[0], -1), axis=-1)


def edm_sample(
    denoiser: Denoiser,
    key: jax.Array,
    shape: tuple[int, ...],
    *,
    num_steps: int = 18,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    s_churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = math.inf,
    s_noise: float = 1.0,
    x_init: jax.Array | None = None,
) -> jax.Array:
    """Karras et al.'s Algorithm 2 from ``N(0, sigma_max^2 I)`` (or ``x_init``) to the data:
    Heun on the EDM levels, the last step Euler's; ``s_churn > 0`` adds the stochastic
    churn (module docstring). ``2 num_steps - 1`` denoiser calls."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if s_churn < 0 or s_noise < 0:
        raise ValueError(f"s_churn and s_noise must be >= 0, got {s_churn}, {s_noise}")
    sigmas = jnp.asarray(karras_sigmas(num_steps, sigma_min, sigma_max, rho), jnp.float32)
    init_key, churn_key = jax.random.split(key)
    x = sigma_max * jax.random.normal(init_key, shape) if x_init is None else x_init
    gamma_max = min(s_churn / num_steps, math.sqrt(2.0) - 1.0)
    batch = shape[0]

    def step(x, i, second_order=True):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        gamma = jnp.where((sigma >= s_tmin) & (sigma <= s_tmax), gamma_max, 0.0)
        sigma_hat = sigma * (1.0 + gamma)
        noise = jax.random.normal(jax.random.fold_in(churn_key, i), x.shape, x.dtype)
        x_hat = x + jnp.sqrt(jnp.maximum(sigma_hat**2 - sigma**2, 0.0)) * s_noise * noise
        d = (x_hat - denoiser(x_hat, jnp.full((batch,), sigma_hat))) / sigma_hat
        x_next = x_hat + (sigma_next - sigma_hat) * d
        if second_order:  # Heun's correction; not into sigma = 0
            d_next = (x_next - denoiser(x_next, jnp.full((batch,), sigma_next))) / sigma_next
            x_next = x_hat + (sigma_next - sigma_hat) * 0.5 * (d + d_next)
        return x_next, None

    x, _ = jax.lax.scan(step, x, jnp.arange(num_steps - 1))
    x, _ = step(x, num_steps - 1, second_order=False)
    return x


def sampling_grid(
    num_steps: int, *, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0
) -> SamplingGrid:
    """The EDM levels then 0 as a :class:`~gensys.diffusion.grid.SamplingGrid` in
    variance-exploding form (``alpha = 1``, ``sigma`` the level), the model called with
    ``t = sigma``: ``denoiser(x, sigma)`` is its ``model_fn`` with ``parameterization="x0"``."""
    sigmas = karras_sigmas(num_steps, sigma_min, sigma_max, rho)
    return make_grid(sigmas, jnp.ones_like(jnp.asarray(sigmas)), sigmas, discrete=False)
