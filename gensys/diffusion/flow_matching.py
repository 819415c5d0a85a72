"""Flow matching / rectified flow: regress a velocity field along straight noise-to-data paths.

Lipman et al. (2023), "Flow Matching for Generative Modeling" (the optimal-transport
conditional path, eq. 20-23), and Liu et al. (2023), "Flow Straight and Fast" (rectified
flow, ``sigma_min = 0``). With noise ``x0 ~ N(0, I)``, data ``x1`` and ``t ~ U(0, 1)``:

    x_t = (1 - (1 - sigma_min) t) x0 + t x1,        u_t = x1 - (1 - sigma_min) x0,
    loss = || v_theta(x_t, t) - u_t ||^2   (mean over dimensions),

whose minimiser is the marginal velocity that carries ``N(0, I)`` at ``t = 0`` to the data
at ``t = 1``. Sampling integrates ``dx/dt = v_theta(x, t)`` from noise (Euler, or Heun's
second-order method), and the same ODE gives the exact log-density of a point (Chen et al.
2018): integrating backwards from the data, ``log p_1(x1) = log N(x0; 0, I) - int_0^1
div v(x_t, t) dt``.

``t`` may also be drawn logit-normal (Esser et al. 2024, "Scaling Rectified Flow
Transformers", section 3.1: more training on the middle of the path). The straight path is
``x_t = alpha_t x1 + sigma_t x0`` with ``alpha_t = t`` and ``sigma_t = 1 - t``, so every
gensys sampler (:func:`gensys.diffusion.sample`: DDIM, DPM-Solver++, Euler, Heun) runs on it
through :func:`sampling_grid` and :func:`velocity_as_data_prediction`. Reflow (Liu et al.
2023, section 2.2) retrains on pairs ``(x0, ODE(x0))`` drawn from a trained model with
:func:`sample_ode`, through ``flow_matching_loss``'s ``noise`` argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.grid import SamplingGrid, make_grid
from gensys.diffusion.ode_likelihood import check_divergence, divergence

VelocityFn = Callable[[jax.Array, jax.Array], jax.Array]  # (x [B, ...], t (B,)) -> [B, ...]
TIME_DISTRIBUTIONS = ("uniform", "logit_normal")
ODE_METHODS = ("euler", "heun")


def _expand(t: jax.Array, x: jax.Array) -> jax.Array:
    return t.reshape(-1, *([1] * (x.ndim - 1)))


def interpolate(noise: jax.Array, data: jax.Array, t: jax.Array, sigma_min: float = 0.0):
    """``(x_t, u_t)``: the point at time ``t (B,)`` of the straight path from ``noise`` to
    ``data`` (both ``[B, ...]``) and its velocity (module docstring)."""
    checks.check_same_shape(noise, data, "noise", "data")
    t = _expand(t.astype(data.dtype), data)
    x_t = (1.0 - (1.0 - sigma_min) * t) * noise + t * data
    return x_t, data - (1.0 - sigma_min) * noise


def sample_times(key: jax.Array, batch: int, distribution: str = "uniform") -> jax.Array:
    """``t (batch,)`` in ``(0, 1)``: uniform, or logit-normal (``sigmoid`` of ``N(0, 1)``)."""
    if distribution == "uniform":
        return jax.random.uniform(key, (batch,))
    if distribution == "logit_normal":
        return jax.nn.sigmoid(jax.random.normal(key, (batch,)))
    raise ValueError(f"time distribution must be one of {TIME_DISTRIBUTIONS}, got {distribution!r}")


def flow_matching_loss(
    key: jax.Array,
    velocity_fn: VelocityFn,
    data: jax.Array,
    *,
    sigma_min: float = 0.0,
    time_distribution: str = "uniform",
    noise: jax.Array | None = None,
) -> jax.Array:
    """The per-example conditional flow matching loss ``(B,)`` (mean squared velocity error
    over dimensions); ``noise`` pairs each example with a given ``x0`` (reflow)."""
    checks.check_floating(data, "data")
    time_key, noise_key = jax.random.split(key)
    t = sample_times(time_key, data.shape[0], time_distribution)
    if noise is None:
        noise = jax.random.normal(noise_key, data.shape, data.dtype)
    x_t, target = interpolate(noise, data, t, sigma_min)
    error = jnp.square(velocity_fn(x_t, t).astype(jnp.float32) - target.astype(jnp.float32))
    return jnp.mean(error.reshape(data.shape[0], -1), axis=-1)


def sample_ode(
    velocity_fn: VelocityFn, noise: jax.Array, *, num_steps: int, method: str = "euler"
) -> jax.Array:
    """Integrates ``dx/dt = v(x, t)`` from ``noise`` at ``t = 0`` to ``t = 1`` with
    ``num_steps`` uniform steps of Euler (``num_steps`` evaluations) or Heun
    (``2 num_steps - 1``: the last step is Euler's, as Karras et al. end theirs)."""
    if method not in ODE_METHODS:
        raise ValueError(f"method must be one of {ODE_METHODS}, got {method!r}")
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    times = jnp.linspace(0.0, 1.0, num_steps + 1, dtype=noise.dtype)
    batch = noise.shape[0]

    def step(x, i):
        t, t_next = times[i], times[i + 1]
        dt = t_next - t
        v = velocity_fn(x, jnp.full((batch,), t))
        x_euler = x + dt * v
        if method == "euler":
            return x_euler, None
        v_next = velocity_fn(x_euler, jnp.full((batch,), t_next))
        x_heun = x + 0.5 * dt * (v + v_next)
        return jnp.where(i == num_steps - 1, x_euler, x_heun), None

    x, _ = jax.lax.scan(step, noise, jnp.arange(num_steps))
    return x


def flow_log_density(
    velocity_fn: VelocityFn,
    x: jax.Array,
    *,
    num_steps: int = 64,
    divergence_kind: str = "exact",
    key: jax.Array | None = None,
) -> jax.Array:
    """``log p_1(x)`` per example ``(B,)`` in nats, by Heun's method backwards from ``t = 1``
    to ``0`` on the augmented ODE (module docstring; the divergence as in
    :mod:`gensys.diffusion.ode_likelihood`)."""
    check_divergence(divergence_kind, key)
    checks.check_floating(x, "x")
    probe = None if divergence_kind == "exact" else jax.random.normal(key, x.shape, x.dtype)
    times = jnp.linspace(1.0, 0.0, num_steps + 1, dtype=x.dtype)
    batch = x.shape[0]

    def with_divergence(y, t):
        return divergence(lambda v: velocity_fn(v, jnp.full((batch,), t)), y, probe=probe)

    def heun(carry, i):
        y, integral = carry
        t, t_next = times[i], times[i + 1]
        dt = t_next - t  # negative: backwards in time
        f, div = with_divergence(y, t)
        f_next, div_next = with_divergence(y + dt * f, t_next)
        return (y + 0.5 * dt * (f + f_next), integral + 0.5 * dt * (div + div_next)), None

    start = (x, jnp.zeros((batch,), x.dtype))
    (x0, integral), _ = jax.lax.scan(heun, start, jnp.arange(num_steps))
    dims = math.prod(x.shape[1:])
    prior = -0.5 * jnp.sum(x0.reshape(batch, -1) ** 2, axis=-1) - 0.5 * dims * math.log(2 * math.pi)
    # integral = int_1^0 div dt = -int_0^1 div dt.
    return prior + integral


def sampling_grid(num_steps: int) -> SamplingGrid:
    """The straight path as a :class:`~gensys.diffusion.grid.SamplingGrid`: ``num_steps + 1``
    uniform times from 0 (noise: ``alpha = 0``, ``sigma = 1``) to 1 (the data), the model
    called with ``t`` itself."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    t = jnp.linspace(0.0, 1.0, num_steps + 1)
    return make_grid(t, t, 1.0 - t, discrete=False)


def velocity_as_data_prediction(velocity_fn: VelocityFn) -> VelocityFn:
    """The data prediction ``x1_hat = x_t + (1 - t) v(x_t, t)`` of a velocity model, for
    :func:`gensys.diffusion.sample` with ``parameterization="x0"`` on :func:`sampling_grid`
    (with ``sigma_min = 0``: ``x_t = t x1 + (1 - t) x0`` and ``v = x1 - x0``)."""

    def data_prediction(x: jax.Array, t: jax.Array) -> jax.Array:
        return x + _expand(1.0 - t.astype(x.dtype), x) * velocity_fn(x, t)

    return data_prediction
