"""How the autoregressive networks read their input: one-hot levels ``[B, H, W, C, L]``.

One-hot inputs keep every network differentiable in its input (the autoregressive
Jacobian tests need that) and let the Transformer embed a level by a matrix product.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def intensity(onehot: jax.Array) -> jax.Array:
    """The level ``k`` of each one-hot ``[..., L]`` as ``k / (L - 1)`` in ``[0, 1]``: for
    binary images exactly the pixel value. Linear in ``onehot``."""
    levels = onehot.shape[-1]
    return onehot @ jnp.linspace(0.0, 1.0, levels, dtype=onehot.dtype)
