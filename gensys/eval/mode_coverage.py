"""Mode coverage of samples from a known Gaussian mixture (the 8-gaussians ring).

A sample is *high quality* when it lies within ``3`` standard deviations
(Euclidean distance) of its nearest mode (Srivastava et al. 2017, VEEGAN), and a
mode is *covered* when at least ``min_fraction`` of all samples are high-quality
samples of it. The default bar, 0.8 %, is PacGAN's "at least 20 of 2,500
samples" (Lin et al. 2018) stated as a fraction, so it does not depend on how
many samples are drawn.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# PacGAN: a mode is lost with fewer than 20 of 2,500 samples.
MIN_MODE_FRACTION = 20 / 2500


def mode_hits(points: jax.Array, modes: jax.Array, std: float, radius: float = 3.0) -> jax.Array:
    """Per sample, a one-hot of the mode it is a high-quality sample of (all zeros if none).

    Args:
        points: samples ``[N, D]``.
        modes: the mixture's centres ``[M, D]``.
        std: the components' (isotropic) standard deviation.
        radius: how many standard deviations count as near.

    Returns:
        ``[N, M]`` float32.
    """
    distances = jnp.linalg.norm(points[:, None, :] - modes[None], axis=-1)
    nearest = jnp.argmin(distances, axis=-1)
    near = jnp.min(distances, axis=-1) <= radius * std
    return jax.nn.one_hot(nearest, modes.shape[0]) * near[:, None].astype(jnp.float32)


def modes_covered(mode_fractions, min_fraction: float = MIN_MODE_FRACTION) -> int:
    """How many modes received at least ``min_fraction`` of all samples as high-quality hits."""
    return int(sum(1 for f in mode_fractions if f >= min_fraction))
