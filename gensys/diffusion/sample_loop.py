"""The one sampling driver: any sampler, any grid, any ``model_fn``, under ``lax.scan``.

    grid = make_sampling_grid(schedule, 20, "linspace")
    x = sample(key, make_sampler("dpmpp_2m"), grid, model_fn, (64, 8, 8, 1))

Sample ``i`` of a batch draws all its noise from ``fold_in(key, i)`` (its start
``x ~ N(0, I)`` from ``fold_in(key_i, N)``, the noise of step ``j`` from
``fold_in(key_i, j)``), so it does not depend on the batch size or on how the
batch is sharded. ``sample`` is a pure function of arrays: wrap it in ``jit``,
``vmap`` it over keys or over a guidance scale closed over by ``model_fn``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gensys.diffusion.denoiser import ModelFn, make_denoiser
from gensys.diffusion.grid import SamplingGrid, discrete_grid, karras_grid
from gensys.diffusion.parameterization import resolve_prediction
from gensys.diffusion.samplers import (
    DDIM,
    DDPM,
    DPMSolverPP,
    Euler,
    Heun,
    Sampler,
    SDEDPMSolverPP2M,
)
from gensys.diffusion.schedules import NoiseSchedule, float_dtype
from gensys.diffusion.spacing import SPACINGS, timestep_spacing

SAMPLERS = ("ddpm", "ddim", "dpmpp_2m", "dpmpp_3m", "dpmpp_2m_sde", "euler", "heun")
GRIDS = (*SPACINGS, "karras")


def make_sampler(
    name: str,
    *,
    eta: float = 0.0,
    lower_order_final: bool = True,
    ddpm_variance: str = "fixed_small",
    clipped_model_output: bool = True,
) -> Sampler:
    """The sampler called ``name`` (one of :data:`SAMPLERS`); ``eta`` and
    ``clipped_model_output`` are DDIM's, ``ddpm_variance`` DDPM's (see each class)."""
    if name == "ddpm":
        return DDPM(variance=ddpm_variance)
    if name == "ddim":
        return DDIM(eta=eta, clipped_model_output=clipped_model_output)
    if name in ("dpmpp_2m", "dpmpp_3m"):
        return DPMSolverPP(order=int(name[-2]), lower_order_final=lower_order_final)
    if name == "dpmpp_2m_sde":
        return SDEDPMSolverPP2M(lower_order_final=lower_order_final)
    if name == "euler":
        return Euler()
    if name == "heun":
        return Heun()
    raise ValueError(f"sampler must be one of {SAMPLERS}, got {name!r}")


def make_sampling_grid(
    schedule: NoiseSchedule,
    num_steps: int | None,
    spacing: str,
    *,
    rho: float = 7.0,
    steps_offset: int = 0,
    set_alpha_to_one: bool = True,
) -> SamplingGrid:
    """``num_steps`` (all ``T`` when ``None``) of ``schedule`` spaced by one of :data:`GRIDS`
    (``steps_offset``: see :func:`~gensys.diffusion.spacing.timestep_spacing`).

    ``set_alpha_to_one=False`` ends a discrete grid at ``alpha_bar_0`` instead of the data,
    as diffusers' DDIM scheduler with that setting does (:func:`discrete_grid`)."""
    if spacing not in GRIDS:
        raise ValueError(f"spacing must be one of {GRIDS}, got {spacing!r}")
    if spacing == "karras":
        if num_steps is None:
            raise ValueError("the karras grid needs num_steps")
        if not set_alpha_to_one:
            raise ValueError("set_alpha_to_one=False is for discrete grids, not karras")
        return karras_grid(schedule, num_steps, rho=rho)
    final = None if set_alpha_to_one else schedule.alpha_bars[0]
    if (num_steps is None or num_steps == schedule.num_timesteps) and not steps_offset:
        return discrete_grid(schedule, final_alpha_bar=final)
    num_steps = schedule.num_timesteps if num_steps is None else num_steps
    steps = timestep_spacing(schedule.num_timesteps, num_steps, spacing, steps_offset=steps_offset)
    return discrete_grid(schedule, steps, final_alpha_bar=final)


def per_example_keys(key: jax.Array, num: int) -> jax.Array:
    """``[fold_in(key, 0), ..., fold_in(key, num - 1)]``: keys that do not depend on ``num``."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num, dtype=jnp.uint32))


def per_example_normal(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> Callable:
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


def sample(
    key: jax.Array | None,
    sampler: Sampler,
    grid: SamplingGrid,
    model_fn: ModelFn,
    shape: Sequence[int],
    *,
    parameterization: str | None = None,
    threshold: Callable[[jax.Array], jax.Array] | None = None,
    learned_variance: bool | None = None,
    x_init: jax.Array | None = None,
    noises: jax.Array | None = None,
    dtype=None,
) -> jax.Array:
    """Runs ``sampler`` over ``grid`` from ``x_init`` (default ``N(0, I)``) and returns the end.

    Args:
        key: PRNG key; may be ``None`` for a deterministic sampler given ``x_init``.
        sampler: an object from :func:`make_sampler` (or any with the same methods).
        grid: where to step (:func:`make_sampling_grid`); must be concrete.
        model_fn: ``(x [B, ...], t (B,)) -> output`` in ``parameterization``.
        shape: ``(B, ...)`` of the samples.
        threshold: transform of ``x0_hat`` (see :func:`gensys.diffusion.denoiser.make_threshold`).
        learned_variance: ``model_fn`` also outputs the variance fraction (``2C`` channels).
        x_init: start here instead of drawing ``N(0, I)`` (e.g. a DDIM inversion code).
        noises: ``[N, B, ...]``, the noise of each of a stochastic sampler's ``N`` steps
            instead of drawing it, so that a run can be replayed step for step against
            another implementation (with ``x_init``, no key is needed).
        dtype: of the samples; default float32, float64 under ``jax_enable_x64``.

    Returns:
        ``[B, ...]``: the sample at the grid's last point (the data when it ends at
        ``sigma = 0``).
    """
    parameterization, learned_variance = resolve_prediction(
        model_fn, parameterization, learned_variance
    )
    dtype = float_dtype() if dtype is None else dtype
    if not isinstance(sampler, Sampler):
        raise TypeError(
            f"sampler must follow gensys.diffusion.Sampler (order, stochastic, step_orders, "
            f"init, step), got {type(sampler).__name__}"
        )
    shape = tuple(int(s) for s in shape)
    # Read on the host: inside a jit trace even an operation on a constant is staged.
    concrete = not isinstance(grid.alpha, jax.core.Tracer)
    starts_at_zero = concrete and float(np.asarray(grid.alpha)[0]) == 0.0
    if isinstance(sampler, Euler | Heun) and starts_at_zero:
        raise ValueError(
            f"{type(sampler).__name__} steps in x / alpha, which a grid starting at alpha = 0 "
            "(zero terminal SNR, flow matching's t = 0) cannot: use DDIM or DPM-Solver++ there"
        )
    orders = jnp.asarray(sampler.step_orders(grid))
    if noises is not None:
        expected = (grid.num_steps, *shape)
        if not sampler.stochastic:
            raise ValueError(f"noises given to a deterministic sampler ({type(sampler).__name__})")
        if tuple(noises.shape) != expected:
            raise ValueError(f"noises must have shape {expected}, got {tuple(noises.shape)}")
    needs_key = (sampler.stochastic and noises is None) or x_init is None
    if needs_key and key is None:
        raise ValueError(
            "key is required unless x_init is given and the sampler is deterministic or "
            "given its noises"
        )
    normal = per_example_normal(key, shape, dtype) if needs_key else None
    if x_init is None:
        x_init = normal(grid.num_steps)
    elif tuple(x_init.shape) != shape:
        raise ValueError(f"x_init must have shape {shape}, got {tuple(x_init.shape)}")
    denoise = make_denoiser(
        model_fn,
        grid,
        parameterization=parameterization,
        threshold=threshold,
        learned_variance=learned_variance,
    )

    def body(state, step):
        i, order = step
        if not sampler.stochastic:
            noise = None
        else:
            noise = normal(i) if noises is None else noises[i].astype(dtype)
        return sampler.step(denoise, grid, i, order, state, noise), None

    steps = jnp.arange(grid.num_steps, dtype=jnp.int32)
    state, _ = jax.lax.scan(body, sampler.init(x_init.astype(dtype)), (steps, orders))
    return state.x
