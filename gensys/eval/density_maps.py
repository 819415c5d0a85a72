"""Pictures of 2-D densities: a model's learned density beside the true one.

The grid matches :func:`gensys.eval.grids.save_points` (``[-extent, extent]^2``, y
upwards), so a density map and a sample picture of the same run line up.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

INK = np.array([20.0, 40.0, 140.0]) / 255.0  # the sample pictures' blue


def grid_points(extent: float, size: int) -> np.ndarray:
    """Centres of a ``size x size`` grid over ``[-extent, extent]^2`` as ``[size * size, 2]``,
    row-major from the top-left (y falls down the rows)."""
    step = 2.0 * extent / size
    centres = -extent + step * (np.arange(size) + 0.5)
    x, y = np.meshgrid(centres, centres[::-1])
    return np.stack([x, y], -1).reshape(-1, 2).astype(np.float32)


def density_image(density: jnp.ndarray, top: float | jnp.ndarray) -> jnp.ndarray:
    """A density ``[S, S]`` on :func:`grid_points` as an RGB image ``[S, S, 3]`` in ``[-1, 1]``:
    white at 0 shading linearly to the ink colour at ``top`` (values above are clipped).
    Works on NumPy and traced JAX arrays alike."""
    shade = jnp.clip(density / jnp.maximum(top, 1e-12), 0.0, 1.0)[..., None]
    rgb = (1.0 - shade) + shade * jnp.asarray(INK, jnp.float32)
    return 2.0 * rgb - 1.0
