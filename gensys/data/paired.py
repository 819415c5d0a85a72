"""Paired image-to-image tasks made from real images by documented transforms (pix2pix data).

Each task maps a batch of target images ``y [B, H, W, C]`` in ``[-1, 1]`` (background
-1, ink +1, as gensys feeds digits) to the input ``x`` the translator sees; the pair
``(x, y)`` is what pix2pix (Isola et al. 2017) trains on. All are pure ``jnp``
functions, jit- and vmap-compatible:

- ``edges``: the Sobel gradient magnitude of ``y`` (on ``[0, 1]`` intensities, edge
  padding), divided by each image's largest magnitude: the outline of the digit, ink
  where the intensity changes. Edges -> digit fills the strokes in.
- ``inpaint``: ``y`` with a square of side ``H / 2`` (at a position drawn uniformly per
  example from ``key``) set to background. Masked digit -> digit.
- ``super_resolution``: ``y`` averaged over 4x4 blocks and repeated back to ``H x W``
  (nearest neighbour): a 16x16 digit seen at 4x4. Low resolution -> full resolution.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gensys import checks

TASKS = ("edges", "inpaint", "super_resolution")
SUPER_RESOLUTION_FACTOR = 4

# NumPy, not jnp: a module constant must not start a JAX backend at import time (the
# command line sets the number of CPU devices after importing the configs).
_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], np.float32)


def sobel_edges(images: jax.Array) -> jax.Array:
    """Per-image normalized Sobel gradient magnitude of ``images`` in ``[-1, 1]``."""
    x = (images + 1.0) / 2.0
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = x.shape[1], x.shape[2]

    def filtered(kernel):
        return sum(
            kernel[i, j] * padded[:, i : i + h, j : j + w, :] for i in range(3) for j in range(3)
        )

    magnitude = jnp.sqrt(jnp.square(filtered(_SOBEL_X)) + jnp.square(filtered(_SOBEL_X.T)))
    peak = jnp.max(magnitude, axis=(1, 2, 3), keepdims=True)
    return 2.0 * magnitude / jnp.maximum(peak, 1e-6) - 1.0


def mask_square(key: jax.Array, images: jax.Array) -> jax.Array:
    """``images`` with one random ``H/2 x W/2`` square per example set to background (-1)."""
    b, h, w, _ = images.shape
    side_h, side_w = h // 2, w // 2
    top_key, left_key = jax.random.split(key)
    top = jax.random.randint(top_key, (b, 1, 1, 1), 0, h - side_h + 1)
    left = jax.random.randint(left_key, (b, 1, 1, 1), 0, w - side_w + 1)
    rows = jnp.arange(h)[None, :, None, None]
    cols = jnp.arange(w)[None, None, :, None]
    inside = (rows >= top) & (rows < top + side_h) & (cols >= left) & (cols < left + side_w)
    return jnp.where(inside, -1.0, images)


def downsample_upsample(images: jax.Array, factor: int = 2) -> jax.Array:
    """Means over ``factor x factor`` blocks, repeated back to the original size."""
    b, h, w, c = images.shape
    if h % factor or w % factor:
        raise ValueError(f"image size {(h, w)} is not divisible by {factor}")
    blocks = images.reshape(b, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
    return jnp.repeat(jnp.repeat(blocks, factor, axis=1), factor, axis=2)


def make_input(task: str, key: jax.Array, targets: jax.Array) -> jax.Array:
    """The translator's input for ``targets`` under ``task`` (one of :data:`TASKS`)."""
    checks.check_rank(targets, 4, "targets")
    if task == "edges":
        return sobel_edges(targets)
    if task == "inpaint":
        return mask_square(key, targets)
    if task == "super_resolution":
        return downsample_upsample(targets, SUPER_RESOLUTION_FACTOR)
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
