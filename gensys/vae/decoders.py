"""The VAE's decoder likelihoods ``log p(x | z)`` as pure functions of the decoder's output.

Each sums an elementwise log-density over the last ``event_ndim`` axes (an image's
``H, W, C``), so ``x`` ``[B, 1, H, W, C]`` against decoder outputs ``[B, K, H, W, C]`` gives
the ``[B, K]`` table that :func:`gensys.vae.elbo` and :func:`gensys.vae.iwae_bound` take:

- :func:`bernoulli_log_likelihood`: binary data, ``x`` in ``{0, 1}``, from logits
  (Kingma & Welling 2014, Appendix C.1);
- :func:`discretized_logistic_log_likelihood`: ``L`` evenly spaced levels in ``[-1, 1]``,
  the probability of each level's bin under a logistic (Kingma et al. 2016; Salimans
  et al. 2017), an exact discrete likelihood;
- :func:`gaussian_log_likelihood`: continuous data, a diagonal Gaussian with a fixed or
  learned log-variance (Kingma & Welling 2014, Appendix C.2); a density, not a
  probability, so on discrete data it is not a likelihood of the levels.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gensys import checks, distributions

DECODERS = ("bernoulli", "logistic", "gaussian")
# The logistic's log-scale floor: below it a bin's probability is 1 to float32 precision.
MIN_LOG_SCALE = -7.0


def _sum_event(per_element: jax.Array, event_ndim: int) -> jax.Array:
    if event_ndim < 0 or event_ndim > per_element.ndim:
        raise ValueError(
            f"event_ndim must be in [0, {per_element.ndim}] for these shapes, got {event_ndim}"
        )
    return jnp.sum(per_element, axis=tuple(range(per_element.ndim - event_ndim, per_element.ndim)))


def _check_inputs(x: jax.Array, name: str, *params: tuple[jax.Array, str]) -> None:
    checks.check_floating(x, "x")
    for value, value_name in params:
        checks.check_floating(value, value_name)
        try:
            jnp.broadcast_shapes(x.shape, value.shape)
        except ValueError:
            raise ValueError(
                f"x {tuple(x.shape)} and {value_name} {tuple(value.shape)} do not broadcast "
                f"({name})"
            ) from None


def bernoulli_log_likelihood(x: jax.Array, logits: jax.Array, event_ndim: int = 3) -> jax.Array:
    """``sum log Bernoulli(x; sigmoid(logits))`` over the event axes, in nats."""
    _check_inputs(x, "bernoulli_log_likelihood", (logits, "logits"))
    return _sum_event(distributions.bernoulli_log_prob(x, logits), event_ndim)


def discretized_logistic_log_likelihood(
    x: jax.Array,
    mean: jax.Array,
    log_scale: jax.Array,
    num_levels: int,
    event_ndim: int = 3,
) -> jax.Array:
    """``sum log P(bin of x)`` under ``Logistic(mean, e^{log_scale})`` over the event axes,
    for ``x`` on ``num_levels`` levels evenly spaced in ``[-1, 1]``; the log-scale is floored
    at :data:`MIN_LOG_SCALE`."""
    _check_inputs(
        x, "discretized_logistic_log_likelihood", (mean, "mean"), (log_scale, "log_scale")
    )
    if num_levels < 2:
        raise ValueError(f"num_levels must be >= 2, got {num_levels}")
    mean, log_scale = jnp.broadcast_arrays(mean, jnp.maximum(log_scale, MIN_LOG_SCALE))
    per_element = distributions.discretized_logistic_log_likelihood(
        jnp.broadcast_to(x, mean.shape), mean, log_scale, num_levels
    )
    return _sum_event(per_element, event_ndim)


def gaussian_log_likelihood(
    x: jax.Array, mean: jax.Array, log_var: jax.Array | float, event_ndim: int = 3
) -> jax.Array:
    """``sum log N(x; mean, e^{log_var})`` over the event axes, in nats (a density)."""
    log_var = jnp.broadcast_to(jnp.asarray(log_var, jnp.result_type(mean)), mean.shape)
    _check_inputs(x, "gaussian_log_likelihood", (mean, "mean"), (log_var, "log_var"))
    return _sum_event(distributions.normal_log_prob(x, mean, log_var), event_ndim)
