"""The generator's noise prior ``p(z)``: a standard normal, or uniform on ``[-1, 1]^d``
(Goodfellow et al. 2014 drew ``z`` uniformly; DCGAN and most later GANs use either)."""

from __future__ import annotations

import jax

PRIORS = ("normal", "uniform")


def draw_noise(prior: str, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``z ~ p(z)`` of ``shape``: ``N(0, I)`` for ``"normal"``, ``U(-1, 1)`` per coordinate
    for ``"uniform"`` (mean 0, variance 1/3)."""
    if prior == "normal":
        return jax.random.normal(key, shape)
    if prior == "uniform":
        return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
    raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
