"""The Gaussian latent of a VAE: reparameterized sampling, its density, and the KL to the prior.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, section 2.4 and
Appendix B: with ``q(z | x) = N(mu, diag(sigma^2))``,

    z = mu + sigma * eps,  eps ~ N(0, I)                  (the reparameterization)
    KL(q || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2) >= 0.

Latents are ``[B, D]`` (or ``[B, K, D]`` for K samples an example); the encoder
returns ``log sigma^2`` (``log_var``) so the variance stays positive.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.distributions import normal_kl, normal_log_prob


def reparameterize(
    key: jax.Array, mean: jax.Array, log_var: jax.Array, num_samples: int | None = None
) -> jax.Array:
    """``z = mean + exp(log_var / 2) * eps``: ``[B, D]``, or ``[B, K, D]`` for ``num_samples=K``."""
    checks.check_floating(mean, "mean")
    checks.check_same_shape(log_var, mean, "log_var", "mean")
    if num_samples is None:
        eps = jax.random.normal(key, mean.shape, mean.dtype)
        return mean + jnp.exp(0.5 * log_var) * eps
    eps = jax.random.normal(key, (mean.shape[0], num_samples, *mean.shape[1:]), mean.dtype)
    return mean[:, None] + jnp.exp(0.5 * log_var)[:, None] * eps


def kl_to_standard_normal(mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """``KL(N(mean, e^{log_var}) || N(0, I))`` per example, ``(B,)`` nats."""
    checks.check_floating(mean, "mean")
    checks.check_same_shape(log_var, mean, "log_var", "mean")
    kl = normal_kl(mean, log_var, 0.0, 0.0)
    return jnp.sum(kl.reshape(mean.shape[0], -1), axis=-1)


def diagonal_log_prob(z: jax.Array, mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """``log N(z; mean, diag e^{log_var})`` summed over the last axis."""
    return jnp.sum(normal_log_prob(z, mean, log_var), axis=-1)


def standard_normal_log_prob(z: jax.Array) -> jax.Array:
    """``log N(z; 0, I)`` summed over the last axis."""
    return jnp.sum(normal_log_prob(z, 0.0, 0.0), axis=-1)
