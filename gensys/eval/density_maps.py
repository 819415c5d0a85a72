"""Pictures of 2-D densities: a model's learned density beside the true one.

The grid matches :func:`gensys.eval.grids.save_points` (``[-extent, extent]^2``, y
upwards), so a density map and a sample picture of the same run line up.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

INK = np.array([20.0, 40.0, 140.0]) / 255.0  # the sample pictures' blue
# The toys' density pictures: [-5, 5]^2, as their sample pictures, at 160 x 160.
TOY_EXTENT, TOY_SIZE = 5.0, 160


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


def learned_beside_true(
    true_log_density: Callable[[np.ndarray], np.ndarray] | None,
    extent: float = TOY_EXTENT,
    size: int = TOY_SIZE,
) -> Callable[[Callable[[jax.Array], jax.Array]], jax.Array]:
    """A figure function for models of 2-D points: given a model's
    ``log_density(points [N, 1, 1, 2])``, its density on the grid beside the true one (when
    ``true_log_density`` is given; both on the true one's scale) as ``[1, 2, S, S, 3]``, or
    alone as ``[1, 1, S, S, 3]``. The true density is computed once, here; the returned
    function may run inside ``jit``."""
    points = grid_points(extent, size)
    true = None
    if true_log_density is not None:
        true = np.exp(true_log_density(points.astype(np.float64)))
        true = true.reshape(size, size).astype(np.float32)

    def figure(log_density: Callable[[jax.Array], jax.Array]) -> jax.Array:
        learned = jnp.exp(log_density(points.reshape(-1, 1, 1, 2))).reshape(size, size)
        if true is None:
            return density_image(learned, jnp.max(learned))[None, None]
        top = max(float(true.max()), 1e-12)
        panels = [density_image(learned, top), density_image(jnp.asarray(true), top)]
        return jnp.stack(panels)[None]  # learned | true

    return figure
