"""Apply a jitted function to arrays of any length in fixed-size batches.

Every metric in :mod:`gensys.eval` reaches its inputs through :func:`map_in_batches`:
the last batch is padded to the full batch size, so one compiled shape serves any
number of examples, and device memory is bounded by the batch, not the data.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def batches(num: int, batch_size: int):
    """``(start, stop)`` of consecutive batches covering ``range(num)``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return [(i, min(i + batch_size, num)) for i in range(0, num, batch_size)]


def pad_to(x: np.ndarray, size: int) -> np.ndarray:
    """``x`` with its first axis padded by repeating its last row up to ``size``."""
    if len(x) == size:
        return x
    return np.concatenate([x, np.repeat(x[-1:], size - len(x), axis=0)])


def iterate_batches(fn: Callable[..., jax.Array], x: np.ndarray, *constants, batch_size: int = 256):
    """Yields ``(fn(batch, *constants), num_valid)`` for consecutive batches of ``x [N, ...]``.

    ``fn`` is jitted here unless it already is, and called for one shape,
    ``B = min(batch_size, N)``: the last batch is padded and ``num_valid`` says how many
    of its rows are real. ``constants`` (parameters, say) are passed as arguments rather
    than closed over, so they are not baked into the compiled program.
    """
    x = np.asarray(x)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch [N, ...], got shape {x.shape}")
    size = min(batch_size, len(x))
    jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
    for start, stop in batches(len(x), size):
        yield jitted(jnp.asarray(pad_to(x[start:stop], size)), *constants), stop - start


def map_in_batches(
    fn: Callable[..., jax.Array], x: np.ndarray, *constants, batch_size: int = 256
) -> np.ndarray:
    """``fn(batch, *constants)`` over ``x [N, ...]`` batch by batch (``fn`` maps
    ``[B, ...] -> [B, ...]`` row by row; see :func:`iterate_batches`), as a NumPy array."""
    outputs = iterate_batches(fn, x, *constants, batch_size=batch_size)
    return np.concatenate([np.asarray(y)[:valid] for y, valid in outputs])
