"""Exact log-likelihoods of a diffusion model through its probability-flow ODE.

Song et al. (2021), "Score-Based Generative Modeling through Stochastic Differential
Equations", section 4.3 and appendix D.2: the deterministic ODE that shares the diffusion's
marginals is a continuous normalizing flow (Chen et al. 2018), so for ``dy/ds = f(y, s)``

    log p_0(y(0)) = log p_S(y(S)) + int_0^S div_y f(y(s), s) ds.

gensys writes the ODE of a variance-preserving model ``x_t = alpha_t x0 + sigma_t eps`` in
its variance-exploding coordinates ``y = x / alpha`` and ``s = sigma / alpha`` (Karras et al.
2022, eq. 4 with ``s(t)`` as time), where it is simply

    dy/ds = eps_hat(alpha(s) y, t(s)),

``eps_hat`` the model's noise prediction (any parameterization, converted), ``t(s)`` the
fractional model time whose ``log s`` it is on the training schedule (interpolated between
training steps as :func:`~gensys.diffusion.grid.karras_grid` does). The integral runs from
``s_min`` (training step 0) to ``s_max`` (the last step, or the largest finite level) with
Heun's method on Karras et al.'s levels (denser near the data), integrating the divergence
alongside ``y``; at ``s_max`` the density is the prior ``N(0, (1 + s_max^2) I)`` (the
variance-preserving ``x_T ~ N(0, I)`` in these coordinates). ``y = x0 + s eps``, so the
result is the density of the data at the model's smallest noise level.

The divergence is exact (``D`` vector-Jacobian products a function evaluation: fine for
the 64 pixels of the digits or the toys) or Hutchinson's unbiased estimate ``z^T J z`` with
one Gaussian probe ``z`` a function evaluation, fixed along the path (Grathwohl et al. 2019,
FFJORD). Both use reverse mode only, so they run through any network gensys trains.

For data on ``L`` levels in ``[-1, 1]`` (bin width ``delta = 2 / (L - 1)``), uniform
dequantization turns the density into the accounting every gensys family reports: ``y =
x + delta u``, ``u ~ U(-1/2, 1/2)^D``, and ``-log P(x) <= E_u[-log p(y)] - D log delta``
(one ``u`` draw per example; Theis et al. 2016).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gensys import checks
from gensys.diffusion.denoiser import split_learned_variance
from gensys.diffusion.grid import karras_sigmas, schedule_alpha_bars
from gensys.diffusion.parameterization import resolve_prediction, to_x0_and_eps
from gensys.diffusion.schedules import NoiseSchedule

DIVERGENCES = ("exact", "hutchinson")


def check_divergence(kind: str, key: jax.Array | None) -> None:
    """``ValueError`` unless ``kind`` is one of :data:`DIVERGENCES` (Hutchinson's with a key)."""
    if kind not in DIVERGENCES:
        raise ValueError(f"divergence_kind must be one of {DIVERGENCES}, got {kind!r}")
    if kind == "hutchinson" and key is None:
        raise ValueError("the hutchinson divergence needs a key for its probes")


def divergence(
    fn: Callable[[jax.Array], jax.Array], y: jax.Array, *, probe: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """``(fn(y), div fn(y))`` per example for ``fn: [B, ...] -> [B, ...]`` that treats examples
    independently: the exact trace of each example's Jacobian when ``probe`` is ``None`` (one
    vector-Jacobian product per dimension), else Hutchinson's ``probe^T J probe``."""
    out, pullback = jax.vjp(fn, y)
    if probe is not None:
        (jt_probe,) = pullback(probe)
        return out, jnp.sum((jt_probe * probe).reshape(y.shape[0], -1), axis=-1)
    dims = math.prod(y.shape[1:])
    basis = jnp.eye(dims, dtype=y.dtype).reshape(dims, 1, *y.shape[1:])

    def diagonal_entry(e):  # e: one basis vector for every example at once
        (row,) = pullback(jnp.broadcast_to(e, y.shape))
        return jnp.sum((row * e).reshape(y.shape[0], -1), axis=-1)

    return out, jnp.sum(jax.lax.map(diagonal_entry, basis), axis=0)


def _time_of_level(schedule: NoiseSchedule):
    """``(s_min, s_max, t(s))``: the VE level range of the training steps and the map from a
    level to its fractional model time (linear in ``log s`` between training steps)."""
    alpha_bars = schedule_alpha_bars(schedule)
    finite = alpha_bars > 0
    log_s = 0.5 * np.log((1.0 - alpha_bars[finite]) / alpha_bars[finite])
    steps = np.arange(schedule.num_timesteps, dtype=np.float64)[finite]
    log_s_j, steps_j = jnp.asarray(log_s), jnp.asarray(steps)

    def time_of(s):
        return jnp.interp(jnp.log(s), log_s_j, steps_j)

    return float(np.exp(log_s[0])), float(np.exp(log_s[-1])), time_of


def ode_log_density(
    schedule: NoiseSchedule,
    model_fn: Callable[[jax.Array, jax.Array], jax.Array],
    x: jax.Array,
    *,
    num_steps: int = 64,
    divergence_kind: str = "exact",
    key: jax.Array | None = None,
    parameterization: str | None = None,
    rho: float = 7.0,
) -> jax.Array:
    """``log p(x)`` per example ``(B,)`` in nats: the model's continuous density of ``x
    [B, ...]`` at its smallest noise level, by the probability-flow ODE (module docstring).

    Args:
        schedule: the model's training schedule.
        model_fn: ``(x_t, t) -> output`` in ``parameterization``, called with fractional
            float times ``t (B,)`` (a :class:`~gensys.diffusion.Prediction` carries its own).
        num_steps: Heun steps (``2 num_steps - 1`` model evaluations, each with its
            divergence).
        divergence_kind: ``"exact"`` or ``"hutchinson"`` (needs ``key``: one Gaussian probe
            per example for the whole path).
        rho: the spacing of the levels (Karras et al.'s 7).
    """
    check_divergence(divergence_kind, key)
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    parameterization, learned_variance = resolve_prediction(model_fn, parameterization, None)
    checks.check_floating(x, "x")
    s_min, s_max, time_of = _time_of_level(schedule)
    # Karras levels from s_min up to s_max, integrated upwards from the data.
    levels = jnp.asarray(karras_sigmas(num_steps, s_min, s_max, rho)[:-1][::-1], x.dtype)
    probe = None if divergence_kind == "exact" else jax.random.normal(key, x.shape, x.dtype)

    def velocity(y, s):
        alpha = 1.0 / jnp.sqrt(1.0 + s**2)
        t = jnp.full((y.shape[0],), time_of(s), jnp.float32)
        output = model_fn(alpha * y, t)
        if learned_variance:  # the ODE needs the mean's prediction only
            output, _ = split_learned_variance(output, y.shape[-1])
        _, eps = to_x0_and_eps(parameterization, output, alpha * y, alpha, s * alpha)
        return eps

    def with_divergence(y, s):
        return divergence(lambda v: velocity(v, s), y, probe=probe)

    def heun(carry, i):
        y, integral = carry
        s, s_next = levels[i], levels[i + 1]
        ds = s_next - s
        f, div = with_divergence(y, s)
        y_euler = y + ds * f
        f_next, div_next = with_divergence(y_euler, s_next)
        return (y + 0.5 * ds * (f + f_next), integral + 0.5 * ds * (div + div_next)), None

    start = (x, jnp.zeros((x.shape[0],), x.dtype))
    (y_end, integral), _ = jax.lax.scan(heun, start, jnp.arange(num_steps - 1))
    dims = math.prod(x.shape[1:])
    variance = 1.0 + levels[-1] ** 2
    prior = -0.5 * jnp.sum(y_end.reshape(x.shape[0], -1) ** 2, axis=-1) / variance - 0.5 * dims * (
        jnp.log(2.0 * jnp.pi * variance)
    )
    return prior + integral


def dequantized_nll_nats(
    key: jax.Array, log_density: Callable[..., jax.Array], x: jax.Array, *, num_levels: int
) -> dict[str, jax.Array]:
    """The uniform-dequantization bound on ``-log P(x)`` of images ``x [B, ...]`` on
    ``num_levels`` levels in ``[-1, 1]`` from a continuous ``log_density(y, key) -> (B,)``
    (module docstring): ``{"nll_nats", "bpd"}``, each ``(B,)``."""
    if num_levels < 2:
        raise ValueError(f"num_levels must be >= 2, got {num_levels}")
    noise_key, density_key = jax.random.split(key)
    delta = 2.0 / (num_levels - 1)
    y = x + delta * (jax.random.uniform(noise_key, x.shape, x.dtype) - 0.5)
    dims = math.prod(x.shape[1:])
    nll = -log_density(y, density_key) - dims * math.log(delta)
    return {"nll_nats": nll, "bpd": nll / (dims * math.log(2.0))}


def ode_nll_nats(
    key: jax.Array,
    schedule: NoiseSchedule,
    model_fn: Callable[[jax.Array, jax.Array], jax.Array],
    x: jax.Array,
    *,
    num_levels: int,
    num_steps: int = 64,
    divergence_kind: str = "exact",
    parameterization: str | None = None,
) -> dict[str, jax.Array]:
    """:func:`ode_log_density` as the dequantized bound on ``-log P(x)`` of images ``x`` on
    ``num_levels`` levels (:func:`dequantized_nll_nats`)."""

    def log_density(y, probe_key):
        return ode_log_density(
            schedule, model_fn, y, num_steps=num_steps, divergence_kind=divergence_kind,
            key=probe_key, parameterization=parameterization,
        )  # fmt: skip

    return dequantized_nll_nats(key, log_density, x, num_levels=num_levels)
