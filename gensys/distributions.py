"""Log-densities and divergences shared by the families, elementwise and jit-safe.

- :func:`normal_kl`: ``KL(N(m1, v1) || N(m2, v2))`` between diagonal Gaussians;
- :func:`normal_log_prob`: ``log N(x; mean, e^{log_var})``;
- :func:`bernoulli_log_prob`: ``x log sigmoid(l) + (1 - x) log sigmoid(-l)`` from logits;
- :func:`categorical_log_prob`: ``log softmax(logits)[x]`` for integer levels ``x``;
- :func:`discretized_gaussian_log_likelihood` (Ho et al. 2020, eq. 13) and
  :func:`discretized_logistic_log_likelihood` (Salimans et al. 2017, PixelCNN++):
  the probability of the bin of ``x`` among ``num_levels`` evenly spaced values
  in ``[-1, 1]``, the end bins reaching to infinity;
- :func:`discretized_mixture_log_prob`: ``log P(bin of x)`` under a mixture of those
  (PixelCNN++'s logistic mixture, or Gaussians as in RNADE), ``3K`` parameters instead of
  ``L`` logits; :func:`discretized_mixture_level_log_probs` the same for every level, a
  normalised categorical over the levels;
- :func:`gaussian_mixture_log_prob` and :func:`sample_gaussian_mixture`: the continuous
  mixture of Gaussians of RNADE (Uria et al. 2013) from the same ``3K`` parameters.

Each returns an array shaped like ``x``; families sum it over the dimensions
they model. :func:`bits_per_dim` turns nats per example into bits per dimension.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr

from gensys import checks


def _standardized_bin_edges(x, mean, log_scale, num_levels: int):
    """``((x - mean + h) / s, (x - mean - h) / s)`` with bin half-width ``h = 1 / (L - 1)``."""
    if num_levels < 2:
        raise ValueError(f"num_levels must be >= 2, got {num_levels}")
    checks.check_same_shape(mean, x, "mean", "x")
    half = 1.0 / (num_levels - 1)
    inv_scale = jnp.exp(-log_scale)
    return (x - mean + half) * inv_scale, (x - mean - half) * inv_scale


def _by_bin(x, num_levels: int, lowest, highest, middle):
    """The end bins reach to -inf and +inf: pick each element's formula by its bin."""
    half = 1.0 / (num_levels - 1)
    return jnp.where(x < -1.0 + half, lowest, jnp.where(x > 1.0 - half, highest, middle))


def normal_log_prob(x, mean, log_var) -> jax.Array:
    """Elementwise ``log N(x; mean, e^{log_var})`` in nats."""
    return -0.5 * (math.log(2 * math.pi) + log_var + jnp.square(x - mean) * jnp.exp(-log_var))


def bernoulli_log_prob(x, logits) -> jax.Array:
    """Elementwise ``log Bernoulli(x; sigmoid(logits))`` for ``x`` in ``{0, 1}`` (or ``[0, 1]``).

    Computed with log-sigmoids, never probabilities: exact at logits of +-100.
    """
    return x * jax.nn.log_sigmoid(logits) + (1 - x) * jax.nn.log_sigmoid(-logits)


def categorical_log_prob(x: jax.Array, logits: jax.Array) -> jax.Array:
    """Elementwise ``log softmax(logits)[..., x]``: ``x`` integer levels ``[...]`` in
    ``[0, L)``, ``logits`` ``[..., L]``. The exact discrete likelihood of the autoregressive
    models (a categorical over the data's levels: 2 for binary images, 17 for digits).
    A level outside ``[0, L)`` raises when ``x`` is concrete and gives NaN under ``jit``."""
    valid = checks.check_levels(x, logits.shape[-1], "x")
    if logits.shape[:-1] != x.shape:
        raise ValueError(
            f"logits must have shape x.shape + (L,) = {tuple(x.shape)} + (L,), "
            f"got {tuple(logits.shape)}"
        )
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    chosen = jnp.take_along_axis(log_probs, x[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return jnp.where(valid, chosen, jnp.nan)


def bits_per_dim(nll_nats: jax.Array, dims: int) -> jax.Array:
    """``nll / (D ln 2)``: nats per example to bits per dimension."""
    if int(dims) < 1:
        raise ValueError(f"dims must be >= 1, got {dims}")
    return nll_nats / (dims * math.log(2.0))


def discretized_logistic_log_likelihood(
    x: jax.Array, mean: jax.Array, log_scale: jax.Array, num_levels: int = 256
) -> jax.Array:
    """Elementwise ``log P(bin of x)`` under ``Logistic(mean, e^{log_scale})``.

    ``P = sigmoid((x - mean + h) / s) - sigmoid((x - mean - h) / s)`` with
    half-width ``h = 1 / (num_levels - 1)``; ``log sigmoid(upper)`` for the lowest
    bin and ``log sigmoid(-lower)`` for the highest. The middle bins use the
    identity ``sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - e^{b - a})``
    in logs, which stays accurate far in the tails.
    """
    upper, lower = _standardized_bin_edges(x, mean, log_scale, num_levels)
    log_mid = (
        jax.nn.log_sigmoid(upper) + jax.nn.log_sigmoid(-lower) + jnp.log(-jnp.expm1(lower - upper))
    )
    return _by_bin(x, num_levels, jax.nn.log_sigmoid(upper), jax.nn.log_sigmoid(-lower), log_mid)


def normal_kl(mean1, log_var1, mean2, log_var2) -> jax.Array:
    """Elementwise ``KL(N(mean1, e^{log_var1}) || N(mean2, e^{log_var2}))`` in nats."""
    return 0.5 * (
        log_var2 - log_var1 + jnp.exp(log_var1 - log_var2)
        + jnp.square(mean1 - mean2) * jnp.exp(-log_var2) - 1.0
    )  # fmt: skip


def discretized_gaussian_log_likelihood(
    x: jax.Array, mean: jax.Array, log_scale: jax.Array, num_levels: int = 256
) -> jax.Array:
    """Elementwise ``log P(bin of x)`` under ``N(mean, e^{2 log_scale})`` (Ho et al. 2020, eq. 13).

    ``x`` lies on ``num_levels`` evenly spaced values in ``[-1, 1]``; each bin has
    half-width ``1 / (num_levels - 1)`` and the two end bins reach to ``-inf`` and
    ``+inf``. The probability of a bin is computed on the side of the mean where
    the normal CDF is small, so bins far in the tail keep their precision.
    """
    upper, lower = _standardized_bin_edges(x, mean, log_scale, num_levels)
    # P = Phi(upper) - Phi(lower) = Phi(-lower) - Phi(-upper); take the smaller CDFs.
    mid = jnp.where(lower > 0, ndtr(-lower) - ndtr(-upper), ndtr(upper) - ndtr(lower))
    log_mid = jnp.log(jnp.maximum(mid, 1e-30))
    return _by_bin(x, num_levels, log_ndtr(upper), log_ndtr(-lower), log_mid)


MIXTURE_KINDS = ("logistic", "gaussian")


def _mixture_parts(params: jax.Array, x: jax.Array | None = None):
    """``(log weights, means, log-scales)``, each ``[..., K]``, of mixture ``params [..., 3K]``
    (log-scales clamped below at -7, as in PixelCNN++); ``params`` checked against ``x``'s
    shape when given."""
    if params.shape[-1] % 3 or params.shape[-1] == 0:
        raise ValueError(f"params must hold 3K values an element, got {params.shape[-1]}")
    if x is not None and params.shape[:-1] != x.shape:
        raise ValueError(f"params must be x.shape + (3K,) = {tuple(x.shape)} + (3K,), "
                         f"got {tuple(params.shape)}")  # fmt: skip
    logit_weights, means, log_scales = jnp.split(params.astype(jnp.float32), 3, axis=-1)
    return jax.nn.log_softmax(logit_weights, axis=-1), means, jnp.maximum(log_scales, -7.0)


def discretized_mixture_log_prob(
    x: jax.Array, params: jax.Array, num_levels: int, kind: str = "logistic"
) -> jax.Array:
    """Elementwise ``log P(bin of x)`` under a mixture of ``K`` discretized logistics
    (Salimans et al. 2017, eq. 2) or Gaussians (RNADE's mixture of Gaussians, Uria et al.
    2013, on the levels' bins): ``log sum_k pi_k P_k(bin of x)``.

    ``x [...]`` on the ``num_levels`` evenly spaced values of ``[-1, 1]`` (the bins of
    :func:`discretized_logistic_log_likelihood`, end bins to infinity); ``params [..., 3K]``
    = (mixture logits, means, log-scales), each ``[..., K]``. Log-scales are clamped below
    at -7, as in PixelCNN++. Costs ``O(K)`` an element: what training evaluates.
    """
    if kind not in MIXTURE_KINDS:
        raise ValueError(f"kind must be one of {MIXTURE_KINDS}, got {kind!r}")
    log_weights, means, log_scales = _mixture_parts(params, x)
    x = jnp.broadcast_to(x[..., None].astype(jnp.float32), means.shape)
    log_bin = (
        discretized_logistic_log_likelihood if kind == "logistic"
        else discretized_gaussian_log_likelihood
    )(x, means, log_scales, num_levels)  # fmt: skip
    return jax.nn.logsumexp(log_weights + log_bin, axis=-1)


def discretized_mixture_level_log_probs(
    params: jax.Array, num_levels: int, kind: str = "logistic"
) -> jax.Array:
    """``log P(k)`` for every level ``k`` in ``[0, L)``, ``[..., L]``, under the mixture of
    :func:`discretized_mixture_log_prob` with ``params [..., 3K]``: the ``L`` probabilities
    sum to one exactly and serve as a categorical's logits (what sampling draws from).
    Costs ``O(L K)`` a pixel."""
    levels = jnp.linspace(-1.0, 1.0, num_levels, dtype=jnp.float32)
    x = jnp.broadcast_to(levels, (*params.shape[:-1], num_levels))
    every = jnp.broadcast_to(params[..., None, :], (*x.shape, params.shape[-1]))
    return discretized_mixture_log_prob(x, every, num_levels, kind)


def gaussian_mixture_log_prob(x: jax.Array, params: jax.Array) -> jax.Array:
    """Elementwise ``log sum_k pi_k N(x; mu_k, sigma_k^2)``, a density in nats (RNADE's
    conditional, Uria et al. 2013, eq. 5); ``params [..., 3K]`` as in
    :func:`discretized_mixture_log_prob` (log-scales clamped below at -7)."""
    log_weights, means, log_scales = _mixture_parts(params, x)
    log_normal = normal_log_prob(x[..., None].astype(jnp.float32), means, 2.0 * log_scales)
    return jax.nn.logsumexp(log_weights + log_normal, axis=-1)


def sample_gaussian_mixture(key: jax.Array, params: jax.Array) -> jax.Array:
    """One draw ``[...]`` from each mixture of :func:`gaussian_mixture_log_prob`: a
    component by its weight, then its Gaussian."""
    log_weights, means, log_scales = _mixture_parts(params)
    pick_key, noise_key = jax.random.split(key)
    component = jax.random.categorical(pick_key, log_weights, axis=-1)[..., None]
    mean = jnp.take_along_axis(means, component, axis=-1)[..., 0]
    scale = jnp.exp(jnp.take_along_axis(log_scales, component, axis=-1)[..., 0])
    return mean + scale * jax.random.normal(noise_key, mean.shape, jnp.float32)
