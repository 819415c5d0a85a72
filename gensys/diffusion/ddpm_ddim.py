"""DDPM and DDIM on a discrete schedule, in the papers' own notation, for epsilon models.

``p_theta(x_{t-1} | x_t) = N(mu_tilde(x_t, x0_hat), beta_tilde_t I)`` with the
fixed-small variance and ``x0_hat = (x_t - sqrt(1 - a_t) eps_theta) / sqrt(a_t)``
clipped to the data range (Ho et al. 2020, Algorithm 2, written through the
posterior as in their released code); DDIM steps and deterministic DDIM
inversion (Song et al. 2021).

The single steps here index the schedule by timestep. The whole-chain
functions are shorthands for :func:`gensys.diffusion.sample_loop.sample` with the
:class:`~gensys.diffusion.samplers.DDPM` / :class:`~gensys.diffusion.samplers.DDIM`
solvers, which also serve every other sampler and parameterization.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gensys import checks
from gensys.diffusion.denoiser import make_threshold
from gensys.diffusion.grid import discrete_grid
from gensys.diffusion.process import extract, predict_eps_from_x0, predict_x0_from_eps, q_posterior
from gensys.diffusion.sample_loop import sample
from gensys.diffusion.samplers import DDIM, DDPM
from gensys.diffusion.schedules import NoiseSchedule
from gensys.diffusion.spacing import checked_steps

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]


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

    Example ``i`` draws its noise from ``fold_in(key, i)`` (see
    :func:`gensys.diffusion.sample_loop.sample`), so it is the same whatever the
    batch size or device count.

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
    grid = discrete_grid(schedule, timesteps)
    threshold = make_threshold("clip" if clip_x0 else "none")
    return sample(key, DDPM(), grid, model_fn, shape, threshold=threshold, dtype=dtype)


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
    grid = discrete_grid(schedule, timesteps)
    threshold = make_threshold("clip" if clip_x0 else "none")
    return sample(key, DDIM(eta=eta), grid, model_fn, shape, threshold=threshold, dtype=dtype)


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
    grid = discrete_grid(schedule, timesteps)
    threshold = make_threshold("clip" if clip_x0 else "none")
    return sample(None, DDIM(), grid, model_fn, x_T.shape, threshold=threshold, x_init=x_T)
