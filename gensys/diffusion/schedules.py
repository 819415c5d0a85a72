"""Noise schedules for discrete-time diffusion (DDPM).

A schedule is a frozen pytree of per-timestep coefficients, all derived from
the betas. Everything is computed in float64 with NumPy and stored as JAX arrays of
:func:`float_dtype` (float32, or float64 under ``jax_enable_x64``), so that
``alpha_bar_t = prod_{s<=t} (1 - beta_s)`` carries no float32 round-off from the
1000-term product, and a float64 program keeps every digit.

References:
    Ho, Jain, Abbeel. Denoising Diffusion Probabilistic Models. NeurIPS 2020.
    Nichol, Dhariwal. Improved Denoising Diffusion Probabilistic Models. ICML 2021.
"""

from __future__ import annotations

import math

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np


@flax.struct.dataclass
class NoiseSchedule:
    """Per-timestep coefficients of a DDPM with ``T`` steps, each of shape ``(T,)``.

    With ``a_t = alpha_bar_t`` and ``a_{-1} = 1``:

    - forward: ``q(x_t | x_0) = N(sqrt(a_t) x_0, (1 - a_t) I)``;
    - posterior: ``q(x_{t-1} | x_t, x_0) = N(c1_t x_0 + c2_t x_t, beta_tilde_t I)`` with
      ``beta_tilde_t = (1 - a_{t-1}) / (1 - a_t) * beta_t``,
      ``c1_t = beta_t sqrt(a_{t-1}) / (1 - a_t)``,
      ``c2_t = (1 - a_{t-1}) sqrt(alpha_t) / (1 - a_t)``.

    ``posterior_log_variance_clipped`` replaces ``log beta_tilde_0 = -inf`` by
    the value at ``t = 1``, as improved-diffusion does.
    """

    betas: jax.Array
    alphas: jax.Array
    alpha_bars: jax.Array
    alpha_bars_prev: jax.Array
    sqrt_alpha_bars: jax.Array
    sqrt_one_minus_alpha_bars: jax.Array
    sqrt_recip_alpha_bars: jax.Array
    sqrt_recipm1_alpha_bars: jax.Array
    posterior_variance: jax.Array
    posterior_log_variance_clipped: jax.Array
    posterior_mean_coef1: jax.Array
    posterior_mean_coef2: jax.Array

    @property
    def num_timesteps(self) -> int:
        return int(self.betas.shape[0])


def schedule_from_betas(betas: np.ndarray) -> NoiseSchedule:
    """Builds every coefficient from ``betas`` (shape ``(T,)``, values in (0, 1))."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.shape[0] < 1:
        raise ValueError(f"betas must be a non-empty vector, got shape {betas.shape}")
    # beta = 1 (alpha_bar = 0, zero terminal SNR) is allowed at the last step only.
    if not (np.all((betas[:-1] > 0) & (betas[:-1] < 1)) and 0 < betas[-1] <= 1):
        raise ValueError(
            "betas must lie in (0, 1), the last in (0, 1], "
            f"got min {betas.min()} and max {betas.max()}"
        )
    alphas = 1.0 - betas
    alpha_bars = np.cumprod(alphas)
    alpha_bars_prev = np.append(1.0, alpha_bars[:-1])
    posterior_variance = betas * (1.0 - alpha_bars_prev) / (1.0 - alpha_bars)
    if betas.shape[0] > 1:
        clipped = np.append(posterior_variance[1], posterior_variance[1:])
    else:
        clipped = betas.copy()
    with np.errstate(divide="ignore"):  # 1 / alpha_bar = inf at zero terminal SNR
        recip = 1.0 / alpha_bars
    coefs = dict(
        betas=betas,
        alphas=alphas,
        alpha_bars=alpha_bars,
        alpha_bars_prev=alpha_bars_prev,
        sqrt_alpha_bars=np.sqrt(alpha_bars),
        sqrt_one_minus_alpha_bars=np.sqrt(1.0 - alpha_bars),
        sqrt_recip_alpha_bars=np.sqrt(recip),
        sqrt_recipm1_alpha_bars=np.sqrt(recip - 1.0),
        posterior_variance=posterior_variance,
        posterior_log_variance_clipped=np.log(clipped),
        posterior_mean_coef1=betas * np.sqrt(alpha_bars_prev) / (1.0 - alpha_bars),
        posterior_mean_coef2=(1.0 - alpha_bars_prev) * np.sqrt(alphas) / (1.0 - alpha_bars),
    )
    return NoiseSchedule(**{k: jnp.asarray(v, dtype=float_dtype()) for k, v in coefs.items()})


def float_dtype() -> jnp.dtype:
    """float64 when ``jax_enable_x64`` is on, else float32: the dtype schedules and sampling
    grids are stored in."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def linear_betas(
    num_timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02, max_beta: float = 0.999
) -> np.ndarray:
    """Linearly spaced betas (Ho et al. 2020), float64, shape ``(T,)``.

    ``beta_start`` and ``beta_end`` are the values for ``T = 1000``; other ``T``
    rescale them by ``1000 / T`` so that the total noise stays comparable
    (as improved-diffusion does). For ``T <= 20`` that rescaling reaches
    ``beta >= 1`` (``alpha_bar = 0``), so betas are capped at ``max_beta`` as in
    the cosine schedule.
    """
    _check_num_timesteps(num_timesteps)
    scale = 1000.0 / num_timesteps
    betas = np.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=np.float64)
    return np.minimum(betas, max_beta)


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Cosine schedule (Nichol & Dhariwal 2021), float64, shape ``(T,)``.

    ``alpha_bar(t) = cos^2(((t / T + s) / (1 + s)) pi / 2)`` and
    ``beta_i = min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), max_beta)``.
    """
    _check_num_timesteps(num_timesteps)

    def alpha_bar(u: np.ndarray) -> np.ndarray:
        return np.cos((u + s) / (1.0 + s) * math.pi / 2.0) ** 2

    i = np.arange(num_timesteps, dtype=np.float64)
    betas = 1.0 - alpha_bar((i + 1) / num_timesteps) / alpha_bar(i / num_timesteps)
    return np.minimum(betas, max_beta)


def scaled_linear_betas(
    num_timesteps: int, beta_start: float = 0.00085, beta_end: float = 0.012
) -> np.ndarray:
    """Betas linear in ``sqrt(beta)`` (latent diffusion / Stable Diffusion), float64, ``(T,)``.

    ``beta_i = (sqrt(b0) + i / (T - 1) (sqrt(b1) - sqrt(b0)))^2``; not rescaled with ``T``.
    """
    _check_num_timesteps(num_timesteps)
    return np.linspace(beta_start**0.5, beta_end**0.5, num_timesteps, dtype=np.float64) ** 2


def sigmoid_betas(
    num_timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02
) -> np.ndarray:
    """Betas on a sigmoid from ``beta_start`` to ``beta_end`` (GeoDiff, Xu et al. 2022).

    ``beta_i = b0 + (b1 - b0) / (1 + exp(-u_i))`` with ``u`` evenly spaced on ``[-6, 6]``.
    """
    _check_num_timesteps(num_timesteps)
    u = np.linspace(-6.0, 6.0, num_timesteps, dtype=np.float64)
    return beta_start + (beta_end - beta_start) / (1.0 + np.exp(-u))


def rescale_zero_terminal_snr(betas: np.ndarray) -> np.ndarray:
    """Rescales betas so the last step has SNR exactly 0 (Lin et al. 2024, Algorithm 1).

    ``sqrt(alpha_bar)`` is shifted so its last value is 0 and scaled so its first
    value is unchanged; the betas are recovered from the ratios. The last beta
    becomes 1: ``x_{T-1}`` is pure noise, as at sampling time. Epsilon prediction
    cannot recover ``x_0`` there; train with v prediction.
    """
    betas = np.asarray(betas, dtype=np.float64)
    sqrt_ab = np.sqrt(np.cumprod(1.0 - betas))
    first, last = sqrt_ab[0], sqrt_ab[-1]
    sqrt_ab = (sqrt_ab - last) * first / (first - last)
    alpha_bars = sqrt_ab**2
    alphas = np.append(alpha_bars[0], alpha_bars[1:] / alpha_bars[:-1])
    return 1.0 - alphas


def linear_schedule(
    num_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02
) -> NoiseSchedule:
    """The DDPM linear schedule as a :class:`NoiseSchedule`."""
    return schedule_from_betas(linear_betas(num_timesteps, beta_start, beta_end))


def cosine_schedule(
    num_timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999
) -> NoiseSchedule:
    """The improved-DDPM cosine schedule as a :class:`NoiseSchedule`."""
    return schedule_from_betas(cosine_betas(num_timesteps, s, max_beta))


BETAS = {
    "linear": linear_betas,
    "cosine": cosine_betas,
    "scaled_linear": scaled_linear_betas,
    "sigmoid": sigmoid_betas,
}
SCHEDULES = tuple(BETAS)


def make_schedule(
    name: str, num_timesteps: int, *, zero_terminal_snr: bool = False
) -> NoiseSchedule:
    """Builds a named schedule (one of :data:`SCHEDULES`) with its default parameters.

    ``zero_terminal_snr`` applies :func:`rescale_zero_terminal_snr` to its betas.
    """
    if name not in BETAS:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")
    betas = BETAS[name](num_timesteps)
    return schedule_from_betas(rescale_zero_terminal_snr(betas) if zero_terminal_snr else betas)


def _check_num_timesteps(num_timesteps: int) -> None:
    if not isinstance(num_timesteps, int | np.integer) or num_timesteps < 1:
        raise ValueError(f"num_timesteps must be a positive integer, got {num_timesteps!r}")
