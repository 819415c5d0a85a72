"""Diffusion samplers as small stateless objects with ``init`` / ``step`` and a declared order.

Every sampler steps the variance-preserving state ``x = alpha x0 + sigma eps``
from point ``i`` (``alpha_s``, ``sigma_s``) to point ``i + 1`` (``alpha_t``,
``sigma_t``) of a :class:`~gensys.diffusion.grid.SamplingGrid`, seeing the model
only through ``denoise(x, i) -> Denoised(x0, eps, ...)``. The driver
(:func:`gensys.diffusion.sample_loop.sample`) runs the steps under ``lax.scan``.

``step_orders(grid)`` says which order each step uses: multistep solvers start
at first order, use lower orders at the end of short schedules (fewer than 15
steps, as DPM-Solver's reference code does) and always take a first-order step
into ``sigma = 0``, where ``lambda = +inf`` leaves only the first-order term.

Methods (``lambda = log(alpha / sigma)``, ``h = lambda_t - lambda_s``):

- :class:`DDPM`: ancestral sampling from the posterior ``q(x_t | x_s, x0_hat)``
  (Ho et al. 2020), with the fixed-small or a learned variance (Nichol & Dhariwal 2021).
- :class:`DDIM`: ``x_t = alpha_t x0 + sqrt(sigma_t^2 - s^2) eps + s z`` with
  ``s = eta sqrt(sigma_t^2 / sigma_s^2) sqrt(step_beta)`` (Song et al. 2021, eq. 12).
- :class:`DPMSolverPP`: multistep DPM-Solver++ 2M / 3M on data predictions
  (Lu et al. 2022, "DPM-Solver++", Algorithm 2 and its third-order variant).
- :class:`SDEDPMSolverPP2M`: the SDE variant, 2M, midpoint form (same paper, Appendix).
- :class:`Euler` and :class:`Heun`: Karras et al. (2022) Algorithms 1-2 (deterministic)
  in variance-exploding coordinates ``x / alpha``, ``sigma / alpha``, where
  ``dx/dsigma = eps``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from gensys.diffusion.denoiser import Denoised
from gensys.diffusion.grid import SamplingGrid

Denoise = Callable[[jax.Array, jax.Array], Denoised]


@runtime_checkable
class Sampler(Protocol):
    """What :func:`gensys.diffusion.sample_loop.sample` needs of a sampler.

    ``order``: the highest order of its steps; ``stochastic``: whether a step takes fresh
    noise; ``step_orders(grid)``: the order of each step, int32 ``(N,)`` from the grid's
    static length alone; ``init(x)``: the scan state at the start ``x``; ``step(denoise,
    grid, i, order, state, noise)``: the state after the step from point ``i`` to
    ``i + 1`` (``noise`` is ``None`` unless ``stochastic``). The state has an ``x``.
    """

    order: int

    @property
    def stochastic(self) -> bool: ...

    def step_orders(self, grid: SamplingGrid) -> np.ndarray: ...

    def init(self, x: jax.Array) -> Any: ...

    def step(
        self,
        denoise: Denoise,
        grid: SamplingGrid,
        i: jax.Array,
        order: jax.Array,
        state: Any,
        noise: jax.Array | None,
    ) -> Any: ...


class State(NamedTuple):
    """The state of one-step samplers: the current sample."""

    x: jax.Array


class MultistepState(NamedTuple):
    """``x`` and the two previous data predictions (most recent first)."""

    x: jax.Array
    x0_prev: jax.Array
    x0_prev2: jax.Array


def _point(grid: SamplingGrid, i: jax.Array):
    return grid.alpha[i], grid.sigma[i], grid.alpha[i + 1], grid.sigma[i + 1]


def step_orders(
    grid: SamplingGrid, max_order: int, *, lower_order_final: bool = True
) -> np.ndarray:
    """The order of each of the grid's steps, int32 ``(N,)`` (known without the grid's values)."""
    n = grid.num_steps
    index = np.arange(n)
    orders = np.minimum(max_order, index + 1)
    if lower_order_final and n < 15:
        orders = np.minimum(orders, n - index)
    if grid.ends_at_data:
        orders[-1] = 1
    return orders.astype(np.int32)


def ddpm_update(
    x: jax.Array,
    x0: jax.Array,
    alpha_s,
    sigma_s,
    alpha_t,
    sigma_t,
    step_beta,
    noise: jax.Array,
    variance_fraction: jax.Array | None = None,
    *,
    fixed_large: bool = False,
) -> jax.Array:
    """Draws from ``q(x_t | x_s, x0)`` (the DDPM posterior between two grid points).

    Mean ``(alpha_{s|t} sigma_t^2 / sigma_s^2) x_s + (alpha_t beta / sigma_s^2) x0`` with
    ``alpha_{s|t} = alpha_s / alpha_t`` and ``beta = step_beta``; variance
    ``beta~ = beta sigma_t^2 / sigma_s^2`` ("fixed-small"), ``beta`` itself with
    ``fixed_large`` (Ho et al. 2020, section 3.2: both are optimal for one extreme of the
    data), or with a learned fraction ``f`` ``exp(f log beta + (1 - f) log beta~)``.
    Into ``sigma_t = 0`` no noise is added.
    """
    ratio = sigma_t**2 / sigma_s**2
    mean = (alpha_s / alpha_t) * ratio * x + (alpha_t * step_beta / sigma_s**2) * x0
    small = step_beta * ratio
    if fixed_large and variance_fraction is not None:
        raise ValueError("fixed_large and a learned variance exclude each other")
    if fixed_large:
        variance = jnp.where(sigma_t > 0, step_beta, 0.0)
    elif variance_fraction is None:
        variance = small
    else:
        safe_small = jnp.where(small > 0, small, 1.0)
        log_var = variance_fraction * jnp.log(step_beta) + (1 - variance_fraction) * jnp.log(
            safe_small
        )
        variance = jnp.where(small > 0, jnp.exp(log_var), 0.0)
    return mean + jnp.sqrt(variance) * noise


def ddim_update(
    x0: jax.Array, eps: jax.Array, sigma_s, alpha_t, sigma_t, step_beta, noise, eta
) -> jax.Array:
    """``alpha_t x0 + sqrt(sigma_t^2 - s^2) eps + s z``, ``s^2 = eta^2 beta sigma_t^2 / sigma_s^2``.

    With ``eta = 1``, ``s^2`` is exactly the DDPM posterior variance ``beta~``.
    """
    s2 = eta**2 * step_beta * sigma_t**2 / sigma_s**2
    return alpha_t * x0 + jnp.sqrt(jnp.maximum(sigma_t**2 - s2, 0.0)) * eps + jnp.sqrt(s2) * noise


class _OneStep:
    """First-order one-step samplers: the state is ``x`` alone."""

    def step_orders(self, grid: SamplingGrid) -> np.ndarray:
        return step_orders(grid, 1)

    def init(self, x: jax.Array) -> State:
        return State(x)


class _Multistep:
    """Multistep samplers: ``x`` and the last two data predictions."""

    def step_orders(self, grid: SamplingGrid) -> np.ndarray:
        return step_orders(grid, self.order, lower_order_final=self.lower_order_final)

    def init(self, x: jax.Array) -> MultistepState:
        return MultistepState(x, jnp.zeros_like(x), jnp.zeros_like(x))


DDPM_VARIANCES = ("fixed_small", "fixed_large")


@dataclasses.dataclass(frozen=True)
class DDPM(_OneStep):
    """Ancestral sampling; on a subsequence this is improved DDPM's respaced chain.

    ``variance``: ``fixed_small`` (the posterior's ``beta~``) or ``fixed_large``
    (``beta``); a model with a learned variance uses its own."""

    order: int = 1
    stochastic: bool = True
    variance: str = "fixed_small"

    def __post_init__(self):
        if self.variance not in DDPM_VARIANCES:
            raise ValueError(f"variance must be one of {DDPM_VARIANCES}, got {self.variance!r}")

    def step(self, denoise: Denoise, grid, i, order, state: State, noise) -> State:
        d = denoise(state.x, i)
        alpha_s, sigma_s, alpha_t, sigma_t = _point(grid, i)
        x = ddpm_update(
            state.x, d.x0, alpha_s, sigma_s, alpha_t, sigma_t, grid.step_beta[i], noise,
            d.variance_fraction, fixed_large=self.variance == "fixed_large",
        )  # fmt: skip
        return State(x)


@dataclasses.dataclass(frozen=True)
class DDIM(_OneStep):
    """DDIM with stochasticity ``eta`` (0: deterministic; 1: the DDPM posterior variance).

    With a threshold on ``x0``, ``clipped_model_output=True`` steps with the ``eps``
    recomputed from the thresholded ``x0`` (gensys's default; diffusers'
    ``use_clipped_model_output=True``), ``False`` with the model's own ``eps`` beside the
    thresholded ``x0`` (diffusers' default)."""

    eta: float = 0.0
    order: int = 1
    clipped_model_output: bool = True

    @property
    def stochastic(self) -> bool:
        return not (isinstance(self.eta, int | float) and self.eta == 0)

    def step(self, denoise: Denoise, grid, i, order, state: State, noise) -> State:
        d = denoise(state.x, i)
        _, sigma_s, alpha_t, sigma_t = _point(grid, i)
        noise = jnp.zeros_like(state.x) if noise is None else noise
        raw = not self.clipped_model_output and d.raw_eps is not None
        eps = d.raw_eps if raw else d.eps
        return State(
            ddim_update(d.x0, eps, sigma_s, alpha_t, sigma_t, grid.step_beta[i], noise, self.eta)
        )


def _multistep_differences(grid, i, m0, m1, m2):
    """``(D1, D2)`` of DPM-Solver++ 3M and ``D1`` of 2M, from the last three data predictions."""
    h = grid.step_h[i]
    h0 = grid.step_h[jnp.maximum(i - 1, 0)]
    h1 = grid.step_h[jnp.maximum(i - 2, 0)]
    r0, r1 = h0 / h, h1 / h
    d1_0 = (m0 - m1) / r0
    d1_1 = (m1 - m2) / r1
    d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1)
    d2 = (d1_0 - d1_1) / (r0 + r1)
    return d1_0, d1, d2


@dataclasses.dataclass(frozen=True)
class DPMSolverPP(_Multistep):
    """Multistep DPM-Solver++ of order 2 (2M) or 3 (3M), data prediction, ODE.

    With ``phi = 1 - e^{-h}`` and ``D0 = x0_hat``:
    first order ``x_t = (sigma_t / sigma_s) x + alpha_t phi D0`` (= DDIM, eta = 0);
    2M adds ``alpha_t phi D1 / 2``, ``D1 = (m0 - m1) / r0``, ``r0 = h_prev / h``;
    3M is ``(sigma_t / sigma_s) x + alpha_t phi D0 + alpha_t (1 - phi / h) D1
    - alpha_t ((h - phi) / h^2 - 1/2) D2``.
    """

    order: int = 2
    lower_order_final: bool = True
    stochastic: bool = False

    def __post_init__(self):
        if self.order not in (1, 2, 3):
            raise ValueError(f"order must be 1, 2 or 3, got {self.order}")

    def step(self, denoise: Denoise, grid, i, order, state: MultistepState, noise):
        m0 = denoise(state.x, i).x0
        _, sigma_s, alpha_t, sigma_t = _point(grid, i)
        h = grid.step_h[i]
        phi = -jnp.expm1(-h)
        x = (sigma_t / sigma_s) * state.x + alpha_t * phi * m0
        if self.order >= 2:
            d1_2m, d1, d2 = _multistep_differences(grid, i, m0, state.x0_prev, state.x0_prev2)
            x2 = x + 0.5 * alpha_t * phi * d1_2m
            if self.order == 3:
                x3 = (
                    (sigma_t / sigma_s) * state.x
                    + alpha_t * phi * m0
                    + alpha_t * (1.0 - phi / h) * d1
                    - alpha_t * ((h - phi) / h**2 - 0.5) * d2
                )
                x2 = jnp.where(order == 3, x3, x2)
            x = jnp.where(order == 1, x, x2)
        return MultistepState(x, m0, state.x0_prev)


@dataclasses.dataclass(frozen=True)
class SDEDPMSolverPP2M(_Multistep):
    """SDE-DPM-Solver++(2M): ``x_t = (sigma_t / sigma_s) e^{-h} x + alpha_t psi D0
    [+ alpha_t psi D1 / 2] + sigma_t sqrt(psi) z`` with ``psi = 1 - e^{-2h}``."""

    order: int = 2
    lower_order_final: bool = True
    stochastic: bool = True

    def step(self, denoise: Denoise, grid, i, order, state: MultistepState, noise):
        m0 = denoise(state.x, i).x0
        _, sigma_s, alpha_t, sigma_t = _point(grid, i)
        h = grid.step_h[i]
        psi = -jnp.expm1(-2.0 * h)
        x = (sigma_t / sigma_s) * jnp.exp(-h) * state.x + alpha_t * psi * m0
        x = x + sigma_t * jnp.sqrt(psi) * noise
        d1, _, _ = _multistep_differences(grid, i, m0, state.x0_prev, state.x0_prev2)
        x = jnp.where(order == 2, x + 0.5 * alpha_t * psi * d1, x)
        return MultistepState(x, m0, state.x0_prev)


def _euler_ve(x, x0, eps, alpha_s, sigma_s, alpha_t, sigma_t):
    """One Euler step of ``d(x/alpha)/d(sigma/alpha) = eps``, returned in VP units.

    Into ``sigma_t = 0`` the step is exactly ``x0`` (as it is in exact arithmetic),
    so a clipped or thresholded ``x0`` is not undone by rounding.
    """
    step = alpha_t * (x / alpha_s + (sigma_t / alpha_t - sigma_s / alpha_s) * eps)
    return jnp.where(sigma_t == 0, x0, step)


@dataclasses.dataclass(frozen=True)
class Euler(_OneStep):
    """Karras et al. Algorithm 2 without churn: Euler on the probability-flow ODE."""

    order: int = 1
    stochastic: bool = False

    def step(self, denoise: Denoise, grid, i, order, state: State, noise) -> State:
        d = denoise(state.x, i)
        return State(_euler_ve(state.x, d.x0, d.eps, *_point(grid, i)))


@dataclasses.dataclass(frozen=True)
class Heun:
    """Karras et al. Algorithm 1 (deterministic): Heun's method, Euler into ``sigma = 0``.

    Two model calls a step except the last; under ``vmap`` the skipped call
    becomes a select and is evaluated anyway.
    """

    order: int = 2
    stochastic: bool = False

    def step_orders(self, grid: SamplingGrid) -> np.ndarray:
        # A one-step method: second order from the first step on.
        orders = np.full(grid.num_steps, 2, np.int32)
        if grid.ends_at_data:
            orders[-1] = 1
        return orders

    def init(self, x: jax.Array) -> State:
        return State(x)

    def step(self, denoise: Denoise, grid, i, order, state: State, noise) -> State:
        point = _point(grid, i)
        d = denoise(state.x, i)
        x_euler = _euler_ve(state.x, d.x0, d.eps, *point)

        def corrected(x_euler):
            eps_next = denoise(x_euler, i + 1).eps
            return _euler_ve(state.x, d.x0, 0.5 * (d.eps + eps_next), *point)

        return State(jax.lax.cond(order == 2, corrected, lambda x: x, x_euler))


def model_evaluations(sampler, grid: SamplingGrid) -> int:
    """How many times ``sampler`` calls the model on ``grid`` (Heun: twice a second-order step)."""
    orders = sampler.step_orders(grid)
    if isinstance(sampler, Heun):
        return int(np.sum(np.where(orders == 2, 2, 1)))
    return int(orders.shape[0])
