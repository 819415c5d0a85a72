"""The ELBO and the importance-weighted bound, per example, for any encoder and decoder.

With ``q(z | x) = N(mu(x), diag sigma^2(x))`` and a decoder ``log p(x | z)``:

    ELBO(x)   = E_q[log p(x | z)] - KL(q(z | x) || p(z))                  (Kingma & Welling 2014)
    IWAE_K(x) = E[log (1/K) sum_k p(x, z_k) / q(z_k | x)],  z_k ~ q(z | x)  (Burda et al. 2016)

``ELBO = IWAE_1 <= IWAE_K <= IWAE_{K+1} <= log p(x)`` (in expectation), and
``IWAE_K -> log p(x)`` as ``K`` grows. :func:`iwae_bound` evaluates ``K`` in
chunks under ``lax.scan`` with a running log-sum-exp, so memory is that of one
chunk whatever ``K`` is (5,000 for the literature's NLL figures).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.vae.latent import (
    diagonal_log_prob,
    kl_to_standard_normal,
    reparameterize,
    standard_normal_log_prob,
)

# log p(x | z): x [B, ...] and z [B, K, D] -> [B, K].
LogLikelihoodFn = Callable[[jax.Array, jax.Array], jax.Array]


def _check_posterior(x: jax.Array, mean: jax.Array, log_var: jax.Array, log_likelihood) -> None:
    """``q(z | x)``'s ``mean`` and ``log_var`` are float ``[B, D]`` for ``x`` ``[B, ...]``."""
    checks.check_rank(mean, 2, "mean")
    checks.check_floating(mean, "mean")
    checks.check_floating(log_var, "log_var")
    checks.check_same_shape(log_var, mean, "log_var", "mean")
    if not hasattr(x, "shape") or not x.shape or x.shape[0] != mean.shape[0]:
        raise ValueError(
            f"x must have the batch size of mean ({mean.shape[0]}) first, got shape "
            f"{getattr(x, 'shape', type(x).__name__)}"
        )
    if not callable(log_likelihood):
        raise TypeError(
            f"log_likelihood must be a function (x, z) -> [B, K], got "
            f"{type(log_likelihood).__name__}"
        )


def _checked_log_likelihood(values: jax.Array, batch: int, num_samples: int) -> jax.Array:
    if values.shape != (batch, num_samples):
        raise ValueError(
            f"log_likelihood must return log p(x | z) of shape [B, K] = {(batch, num_samples)}, "
            f"got {tuple(values.shape)}"
        )
    return values


def elbo(
    key: jax.Array,
    x: jax.Array,
    mean: jax.Array,
    log_var: jax.Array,
    log_likelihood: LogLikelihoodFn,
    *,
    beta: float | jax.Array = 1.0,
) -> dict[str, jax.Array]:
    """One-sample ELBO per example with the closed-form KL; ``beta`` weights the KL (beta-VAE).

    Returns ``(B,)`` arrays: ``elbo`` (``= reconstruction - beta kl``),
    ``reconstruction`` (``log p(x | z)``, one ``z`` draw) and ``kl``.
    """
    _check_posterior(x, mean, log_var, log_likelihood)
    z = reparameterize(key, mean, log_var, num_samples=1)
    reconstruction = _checked_log_likelihood(log_likelihood(x, z), mean.shape[0], 1)[:, 0]
    kl = kl_to_standard_normal(mean, log_var)
    return {"elbo": reconstruction - beta * kl, "reconstruction": reconstruction, "kl": kl}


def log_importance_weights(
    key: jax.Array,
    x: jax.Array,
    mean: jax.Array,
    log_var: jax.Array,
    log_likelihood: LogLikelihoodFn,
    num_samples: int,
) -> jax.Array:
    """``log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x)`` for ``K`` draws, ``[B, K]``."""
    _check_posterior(x, mean, log_var, log_likelihood)
    z = reparameterize(key, mean, log_var, num_samples=num_samples)
    log_q = diagonal_log_prob(z, mean[:, None], log_var[:, None])
    log_px = _checked_log_likelihood(log_likelihood(x, z), mean.shape[0], num_samples)
    return log_px + standard_normal_log_prob(z) - log_q


def iwae_bound(
    key: jax.Array,
    x: jax.Array,
    mean: jax.Array,
    log_var: jax.Array,
    log_likelihood: LogLikelihoodFn,
    *,
    num_samples: int,
    chunk_size: int = 100,
) -> jax.Array:
    """``log (1/K) sum_k w_k`` per example ``(B,)``, the ``K`` draws taken ``chunk_size`` at a time.

    Chunk ``c`` draws with ``fold_in(key, c)``; a ``K`` that is not a multiple of the
    chunk size is padded with draws whose weight is masked out.
    """
    if num_samples < 1 or chunk_size < 1:
        raise ValueError(
            f"num_samples and chunk_size must be >= 1, got {num_samples}, {chunk_size}"
        )
    _check_posterior(x, mean, log_var, log_likelihood)
    chunk = min(chunk_size, num_samples)
    num_chunks = -(-num_samples // chunk)
    batch = x.shape[0]

    def body(carry, c):
        running_max, running_sum = carry
        log_w = log_importance_weights(
            jax.random.fold_in(key, c), x, mean, log_var, log_likelihood, chunk
        )
        valid = c * chunk + jnp.arange(chunk) < num_samples
        log_w = jnp.where(valid[None, :], log_w.astype(jnp.float32), -jnp.inf)
        new_max = jnp.maximum(running_max, jnp.max(log_w, axis=1))
        running_sum = running_sum * jnp.exp(running_max - new_max) + jnp.sum(
            jnp.exp(log_w - new_max[:, None]), axis=1
        )
        return (new_max, running_sum), None

    start = (jnp.full((batch,), -jnp.inf, jnp.float32), jnp.zeros((batch,), jnp.float32))
    (log_max, total), _ = jax.lax.scan(body, start, jnp.arange(num_chunks))
    return log_max + jnp.log(total) - math.log(num_samples)
