"""From a network's raw output to the denoised estimate every sampler uses.

A sampler sees the model only through ``denoise(x, i) -> Denoised``: the
estimate ``x0_hat`` (after clipping or thresholding), the ``eps_hat``
consistent with it, and, for models with learned variances, the interpolation
fraction of Nichol & Dhariwal (2021), eq. (15).

Thresholds applied to ``x0_hat``:

- ``clip``: ``clip(x0_hat, -1, 1)`` (Ho et al. 2020);
- ``dynamic``: per example, ``s = max(quantile(|x0_hat|, p), 1)`` and
  ``x0_hat <- clip(x0_hat, -s, s) / s`` (Saharia et al. 2022, Imagen, section 2.3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.diffusion.grid import SamplingGrid
from gensys.diffusion.parameterization import (
    check_parameterization,
    resolve_prediction,
    to_x0_and_eps,
)

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]
THRESHOLDS = ("none", "clip", "dynamic")


class Denoised(NamedTuple):
    """What a sampler learns from one model call at ``x = alpha x0 + sigma eps``."""

    x0: jax.Array
    eps: jax.Array
    variance_fraction: jax.Array | None = None  # in [0, 1]: log var = f log beta + (1-f) log beta~
    # The model's own eps when a threshold changed x0 (``eps`` is then recomputed from the
    # thresholded x0); None without a threshold. DDIM can step with either.
    raw_eps: jax.Array | None = None


def dynamic_threshold(x0: jax.Array, percentile: float = 0.995) -> jax.Array:
    """Imagen's dynamic thresholding of ``x0 [B, ...]`` at the ``percentile`` of ``|x0|``."""
    if not 0.0 < percentile <= 1.0:
        raise ValueError(f"percentile must be in (0, 1], got {percentile}")
    flat = jnp.abs(x0.reshape(x0.shape[0], -1))
    s = jnp.maximum(jnp.quantile(flat, percentile, axis=-1), 1.0)
    s = s.reshape((-1,) + (1,) * (x0.ndim - 1))
    return jnp.clip(x0, -s, s) / s


def make_threshold(kind: str, percentile: float = 0.995) -> Callable[[jax.Array], jax.Array]:
    """The ``x0_hat`` transform named ``kind`` (one of :data:`THRESHOLDS`)."""
    if kind == "none":
        return lambda x0: x0
    if kind == "clip":
        return lambda x0: jnp.clip(x0, -1.0, 1.0)
    if kind == "dynamic":
        return lambda x0: dynamic_threshold(x0, percentile)
    raise ValueError(f"threshold must be one of {THRESHOLDS}, got {kind!r}")


def split_learned_variance(output: jax.Array, channels: int) -> tuple[jax.Array, jax.Array]:
    """``[B, ..., 2C]`` output -> (mean output ``[B, ..., C]``, fraction in ``[0, 1]``).

    The second half is the raw ``v`` of Nichol & Dhariwal, mapped by ``(v + 1) / 2``.
    """
    if output.shape[-1] != 2 * channels:
        raise ValueError(
            f"a learned-variance model must output 2 x {channels} channels, got {output.shape}"
        )
    return output[..., :channels], (output[..., channels:] + 1.0) / 2.0


def denoise_output(
    output: jax.Array,
    x: jax.Array,
    alpha: jax.Array,
    sigma: jax.Array,
    *,
    parameterization: str = "eps",
    threshold: Callable[[jax.Array], jax.Array] | None = None,
    learned_variance: bool = False,
) -> Denoised:
    """Turns a model ``output`` at ``x`` (noise level ``alpha``, ``sigma`` broadcastable) into
    a :class:`Denoised`; after thresholding, ``eps`` is recomputed from ``x0`` so both agree
    (the model's own is kept as ``raw_eps``).
    """
    fraction = None
    if learned_variance:
        output, fraction = split_learned_variance(output, x.shape[-1])
    checks.check_same_shape(output, x, "model output", "x")
    x0, eps = to_x0_and_eps(parameterization, output, x, alpha, sigma)
    raw_eps = None
    if threshold is not None:
        x0, raw_eps = threshold(x0), eps
        eps = (x - alpha * x0) / sigma
    return Denoised(x0, eps, fraction, raw_eps)


def make_denoiser(
    model_fn: ModelFn,
    grid: SamplingGrid,
    *,
    parameterization: str | None = None,
    threshold: Callable[[jax.Array], jax.Array] | None = None,
    learned_variance: bool | None = None,
) -> Callable[[jax.Array, jax.Array], Denoised]:
    """``denoise(x, i)``: calls ``model_fn(x, t_i)`` at grid point ``i`` and converts its output.

    ``model_fn(x [B, ...], t (B,)) -> output``: the network's prediction in the given
    parameterization (with ``2C`` channels when ``learned_variance``).
    """
    parameterization, learned_variance = resolve_prediction(
        model_fn, parameterization, learned_variance
    )
    check_parameterization(parameterization)

    def denoise(x: jax.Array, i: jax.Array) -> Denoised:
        t = grid.t[i]
        t = jnp.full((x.shape[0],), t, jnp.int32 if grid.discrete else jnp.float32)
        shape = (1,) * x.ndim
        return denoise_output(
            model_fn(x, t),
            x,
            grid.alpha[i].reshape(shape),
            grid.sigma[i].reshape(shape),
            parameterization=parameterization,
            threshold=threshold,
            learned_variance=learned_variance,
        )

    return denoise
