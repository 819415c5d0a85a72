"""Improved precision and recall (Kynkaenniemi et al. 2019) from k-NN manifolds of features.

Each set's manifold is the union of balls around its points, the radius of a ball the
distance to the point's ``k``-th nearest neighbour in the same set (``k = 3`` in the
paper). Then

    precision = fraction of generated points inside the real manifold   (fidelity)
    recall    = fraction of real points inside the generated manifold   (coverage)

Both are 1 for identical sets. Distances are computed a block of rows at a time
(jitted, one compiled shape), so memory is ``block x N``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from gensys.checks import check_finite_rows
from gensys.eval.streaming import map_in_batches


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    k: int


def _squared_distances(a: jax.Array, b: jax.Array) -> jax.Array:
    d2 = jnp.sum(a * a, -1)[:, None] + jnp.sum(b * b, -1)[None, :] - 2.0 * a @ b.T
    return jnp.maximum(d2, 0.0)


@functools.partial(jax.jit, static_argnames="k")
def _kth_neighbour_d2(block: jax.Array, points: jax.Array, k: int) -> jax.Array:
    # The point itself is at distance 0, so the k-th neighbour is the (k+1)-th smallest.
    smallest = -jax.lax.top_k(-_squared_distances(block, points), k + 1)[0]
    return smallest[:, k]


@jax.jit
def _inside(block: jax.Array, centres: jax.Array, radii_d2: jax.Array) -> jax.Array:
    return jnp.any(_squared_distances(block, centres) <= radii_d2[None, :], axis=1)


def manifold_radii(points: np.ndarray, *, k: int = 3, block: int = 512) -> np.ndarray:
    """Squared distance ``[N]`` from each point of ``points [N, D]`` to its ``k``-th nearest
    other point."""
    points = np.asarray(points, np.float32)
    if len(points) <= k:
        raise ValueError(f"need more than k={k} points for the k-NN radii, got {len(points)}")
    fn = functools.partial(_kth_neighbour_d2, k=k)
    return map_in_batches(fn, points, jnp.asarray(points), batch_size=block)


def fraction_inside(
    points: np.ndarray, centres: np.ndarray, radii_d2: np.ndarray, *, block: int = 512
) -> float:
    """Fraction of ``points`` within at least one ball ``(centres[i], sqrt(radii_d2[i]))``."""
    centres, radii_d2 = jnp.asarray(centres, jnp.float32), jnp.asarray(radii_d2, jnp.float32)
    inside = map_in_batches(_inside, np.asarray(points, np.float32), centres, radii_d2,
                            batch_size=block)  # fmt: skip
    return float(inside.mean())


def precision_recall(
    real: np.ndarray, fake: np.ndarray, *, k: int = 3, block: int = 512
) -> PrecisionRecall:
    """Improved precision and recall of features ``fake [M, D]`` against ``real [N, D]``."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real and fake must be [N, D] with one D, got {real.shape} and {fake.shape}"
        )
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    check_finite_rows(real, "real")
    check_finite_rows(fake, "fake")
    precision = fraction_inside(fake, real, manifold_radii(real, k=k, block=block), block=block)
    recall = fraction_inside(real, fake, manifold_radii(fake, k=k, block=block), block=block)
    return PrecisionRecall(precision, recall, k)
