"""Sampling grids: the noise levels a sampler visits, from noise to data.

Every sampler in :mod:`gensys.diffusion.samplers` works on the variance-preserving
state ``x = alpha x_0 + sigma eps`` and steps from grid point ``i`` to ``i + 1``.
A grid holds, for its ``N + 1`` points, ``alpha``, ``sigma`` and the model time
``t`` the network is called with. Its last point is usually the data itself
(``alpha = 1``, ``sigma = 0``; the model is never called there).

- :func:`discrete_grid`: chosen training timesteps of a discrete schedule
  (DDPM / DDIM / DPM-Solver on a spacing from :mod:`gensys.diffusion.spacing`);
- :func:`karras_grid`: the EDM noise levels of Karras et al. (2022), eq. (5),
  ``sigma_i = (s_max^(1/rho) + i/(N-1) (s_min^(1/rho) - s_max^(1/rho)))^rho`` in
  variance-exploding units ``sigma_ve = sigma / alpha``, mapped to fractional
  model times by interpolating ``log sigma_ve`` of the training schedule.

Grids are built in float64 and stored as float32, or as float64 under ``jax_enable_x64``
(:func:`~gensys.diffusion.schedules.float_dtype`).
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from gensys.diffusion.schedules import NoiseSchedule, float_dtype
from gensys.diffusion.spacing import checked_steps


@flax.struct.dataclass
class SamplingGrid:
    """``N + 1`` points ``(t, alpha, sigma)``, each ``(N + 1,)``, from noisiest to cleanest.

    Two per-step quantities (``(N,)``, step ``i`` goes from point ``i`` to ``i + 1``)
    are computed without the cancellation that differencing the points would suffer:

    - ``step_beta``: ``sigma_i^2 - (alpha_i / alpha_{i+1})^2 sigma_{i+1}^2``, the
      variance the forward process adds between the two points (``beta`` of a
      respaced chain);
    - ``step_h``: ``lambda_{i+1} - lambda_i`` with ``lambda = log(alpha / sigma)``
      (``+inf`` into the data, ``inf`` out of zero terminal SNR).

    ``discrete`` grids call the model with integer timesteps (int32), the others
    with fractional float32 times. ``ends_at_data`` (static, so that step orders
    are known when tracing) says whether the last point is ``sigma = 0``.
    """

    t: jax.Array
    alpha: jax.Array
    sigma: jax.Array
    step_beta: jax.Array
    step_h: jax.Array
    discrete: bool = flax.struct.field(pytree_node=False, default=True)
    ends_at_data: bool = flax.struct.field(pytree_node=False, default=True)

    @property
    def num_steps(self) -> int:
        return int(self.alpha.shape[0]) - 1


def make_grid(t, alpha, sigma, *, discrete: bool = False) -> SamplingGrid:
    """A grid from explicit values (e.g. a continuous-time schedule), checked.

    ``sigma`` must decrease strictly and ``alpha`` be positive; ``sigma`` may end at 0.
    """
    t, alpha, sigma = (np.asarray(v, np.float64) for v in (t, alpha, sigma))
    if not (t.ndim == alpha.ndim == sigma.ndim == 1 and t.shape == alpha.shape == sigma.shape):
        raise ValueError(
            f"t, alpha and sigma must be vectors of one length, got {t.shape}, "
            f"{alpha.shape}, {sigma.shape}"
        )
    if t.shape[0] < 2:
        raise ValueError(f"a grid needs at least 2 points, got {t.shape[0]}")
    if not (np.all(alpha[1:] > 0) and alpha[0] >= 0):
        raise ValueError(f"alpha must be positive (0 allowed at the start), got {alpha}")
    if not (np.all(np.diff(sigma) < 0) and sigma[-1] >= 0):
        raise ValueError(f"sigma must decrease strictly to a value >= 0, got {sigma}")
    step_beta = sigma[:-1] ** 2 - (alpha[:-1] / alpha[1:]) ** 2 * sigma[1:] ** 2
    with np.errstate(divide="ignore"):
        log_snr = np.log(alpha) - np.log(sigma)
    step_h = np.diff(log_snr)
    return SamplingGrid(
        *(jnp.asarray(v, float_dtype()) for v in (t, alpha, sigma, step_beta, step_h)),
        discrete=discrete,
        ends_at_data=bool(sigma[-1] == 0),
    )


def schedule_alpha_bars(schedule: NoiseSchedule) -> np.ndarray:
    """``alpha_bar_t`` recomputed in float64 from the stored betas, ``(T,)``."""
    return np.cumprod(1.0 - np.asarray(schedule.betas, np.float64))


def discrete_grid(
    schedule: NoiseSchedule,
    timesteps: np.ndarray | None = None,
    *,
    final_alpha_bar: float | jax.Array | None = None,
) -> SamplingGrid:
    """The training ``timesteps`` (all ``T`` when omitted), descending, then the data.

    ``final_alpha_bar`` (below 1, above ``alpha_bar`` of the smallest chosen step) ends
    the grid at that noise level instead of the data: diffusers' DDIM with
    ``set_alpha_to_one=False`` ends at ``alpha_bar_0`` (``schedule.alpha_bars[0]``) and
    returns ``sqrt(alpha_bar_0) x0_hat + sqrt(1 - alpha_bar_0) eps_hat`` there.

    The point of step ``t`` has ``alpha = sqrt(alpha_bar_t)``, ``sigma = sqrt(1 - alpha_bar_t)``;
    the final point (model time -1) is the clean data. Zero terminal SNR
    (``alpha_bar_{T-1} = 0``) is kept as ``alpha = 0``: only v / x0 models can start there.

    Works on a traced ``schedule`` too (``timesteps`` must be concrete). The
    per-step quantities come from sums of ``log(1 - beta)`` over each step's
    segment of training steps, so a respaced step keeps float32 precision.
    """
    if timesteps is None:
        timesteps = np.arange(schedule.num_timesteps)
    ascending = checked_steps(timesteps, schedule.num_timesteps)
    steps = ascending[::-1]
    n = steps.shape[0]
    # Training step k belongs to the segment of the first chosen step >= k
    # (the segment of the data point for k below the smallest chosen step).
    segment = np.searchsorted(ascending, np.arange(schedule.num_timesteps))
    log_alphas = jnp.log1p(-schedule.betas)
    seg = jax.ops.segment_sum(log_alphas, segment, num_segments=n + 1)[:n]
    # seg[j] = log(alpha_bar_{ascending[j]} / alpha_bar_{ascending[j-1]}) (alpha_bar_{-1} = 1).
    log_ratio = seg[::-1]  # per sampling step i: log(alpha_bar_s / alpha_bar_t) <= 0
    alpha = jnp.append(schedule.sqrt_alpha_bars[steps], 1.0)
    sigma = jnp.append(schedule.sqrt_one_minus_alpha_bars[steps], 0.0)
    step_beta = -jnp.expm1(log_ratio)
    # lambda_t - lambda_s = -log(alpha_bar_s / alpha_bar_t) / 2 + log(sigma_s / sigma_t).
    step_h = -0.5 * log_ratio + jnp.log(sigma[:-1]) - jnp.log(sigma[1:])
    ends_at_data = final_alpha_bar is None
    if not ends_at_data:
        final = jnp.asarray(final_alpha_bar, float_dtype())
        last = schedule.alpha_bars[steps[-1]]
        if not isinstance(final, jax.core.Tracer) and not float(last) < float(final) < 1.0:
            raise ValueError(
                f"final_alpha_bar must lie in (alpha_bar of step {steps[-1]} = {float(last)}, "
                f"1), got {float(final)}"
            )
        alpha = alpha.at[-1].set(jnp.sqrt(final))
        sigma = sigma.at[-1].set(jnp.sqrt(1.0 - final))
        step_beta = step_beta.at[-1].set(-jnp.expm1(jnp.log(last) - jnp.log(final)))
        log_snr = 0.5 * (jnp.log(final) - jnp.log1p(-final))
        step_h = step_h.at[-1].set(log_snr - 0.5 * (jnp.log(last) - jnp.log1p(-last)))
    return SamplingGrid(
        t=jnp.asarray(np.append(steps, -1), float_dtype()),
        alpha=alpha.astype(float_dtype()),
        sigma=sigma.astype(float_dtype()),
        step_beta=step_beta.astype(float_dtype()),
        step_h=step_h.astype(float_dtype()),
        discrete=True,
        ends_at_data=ends_at_data,
    )


def karras_sigmas(
    num_steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0
) -> np.ndarray:
    """Karras et al. (2022) eq. (5): ``num_steps`` VE noise levels then 0, float64."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if not 0 < sigma_min < sigma_max < np.inf:
        raise ValueError(f"need 0 < sigma_min < sigma_max < inf, got {sigma_min}, {sigma_max}")
    ramp = np.linspace(0.0, 1.0, num_steps) if num_steps > 1 else np.zeros(1)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    return np.append((hi + ramp * (lo - hi)) ** rho, 0.0)


def karras_grid(
    schedule: NoiseSchedule,
    num_steps: int,
    *,
    rho: float = 7.0,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
) -> SamplingGrid:
    """Karras noise levels for a model trained on the discrete ``schedule``.

    ``sigma_min`` / ``sigma_max`` (VE units) default to the schedule's range at
    ``t = 0`` and the largest finite level (``t = T - 1`` unless the terminal SNR
    is zero). Each level is given the fractional model time whose ``log sigma_ve``
    it has, interpolated linearly between training steps (as k-diffusion does).
    """
    alpha_bars = schedule_alpha_bars(schedule)
    finite = alpha_bars > 0
    log_sigma_ve = 0.5 * np.log((1.0 - alpha_bars[finite]) / alpha_bars[finite])
    steps = np.arange(schedule.num_timesteps, dtype=np.float64)[finite]
    lo, hi = float(np.exp(log_sigma_ve[0])), float(np.exp(log_sigma_ve[-1]))
    sigma_min = lo if sigma_min is None else sigma_min
    sigma_max = hi if sigma_max is None else sigma_max
    if sigma_min < lo * (1 - 1e-6) or sigma_max > hi * (1 + 1e-6):
        raise ValueError(
            f"sigma range [{sigma_min}, {sigma_max}] leaves the schedule's [{lo}, {hi}]"
        )
    sigmas_ve = karras_sigmas(num_steps, sigma_min, sigma_max, rho)
    t = np.interp(np.log(np.maximum(sigmas_ve[:-1], 1e-30)), log_sigma_ve, steps)
    alpha = 1.0 / np.sqrt(1.0 + sigmas_ve**2)
    return make_grid(np.append(t, 0.0), alpha, sigmas_ve * alpha, discrete=False)
