"""Input checks at the boundary of every public gensys function.

A thin layer over chex: chex does the static assertion, and this module turns
its ``AssertionError`` into the ``ValueError`` / ``TypeError`` a user expects,
naming the argument and the offending value. Checks look only at static
information (shapes and dtypes) so they cost nothing under ``jax.jit``; value
checks (``check_timesteps``) run only when the value is concrete, because a
traced value has no value to look at.
"""

from __future__ import annotations

from collections.abc import Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np


def check_rank(x: chex.Array, rank: int | Sequence[int], name: str) -> None:
    """Raises ``ValueError`` unless ``x.ndim`` is ``rank`` (or one of them)."""
    _check_is_array(x, name)
    try:
        chex.assert_rank(x, rank if isinstance(rank, int) else set(rank))
    except AssertionError:
        raise ValueError(f"{name} must have rank {rank}, got shape {tuple(jnp.shape(x))}") from None


def check_shape(x: chex.Array, shape: Sequence[int | None], name: str) -> None:
    """Raises ``ValueError`` unless ``x.shape`` matches ``shape`` (``None`` = any)."""
    _check_is_array(x, name)
    try:
        chex.assert_shape(x, tuple(shape))
    except AssertionError:
        raise ValueError(
            f"{name} must have shape {tuple(shape)}, got {tuple(jnp.shape(x))}"
        ) from None


def check_same_shape(x: chex.Array, y: chex.Array, x_name: str, y_name: str) -> None:
    """Raises ``ValueError`` unless ``x`` and ``y`` have the same shape."""
    try:
        chex.assert_equal_shape([x, y])
    except AssertionError:
        raise ValueError(
            f"{x_name} and {y_name} must have the same shape, got "
            f"{tuple(jnp.shape(x))} and {tuple(jnp.shape(y))}"
        ) from None


def check_floating(x: chex.Array, name: str) -> None:
    """Raises ``TypeError`` unless ``x`` has a floating dtype."""
    _check_is_array(x, name)
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise TypeError(f"{name} must have a floating dtype, got {jnp.result_type(x)}")


def check_integer(x: chex.Array, name: str) -> None:
    """Raises ``TypeError`` unless ``x`` has an integer dtype."""
    _check_is_array(x, name)
    if not jnp.issubdtype(jnp.result_type(x), jnp.integer):
        raise TypeError(f"{name} must have an integer dtype, got {jnp.result_type(x)}")


def check_timesteps(t: chex.Array, num_timesteps: int, batch: int, name: str = "t") -> None:
    """Checks a batch of integer timesteps: shape ``(batch,)``, values in ``[0, T)``.

    JAX clamps out-of-range gathers silently, so a wrong ``t`` would quietly use
    the coefficients of ``T - 1``. When ``t`` is concrete its range is checked
    here; under ``jit`` it is not known, and the gathers in
    :mod:`gensys.diffusion.process` return NaN for an out-of-range entry instead
    (``mode="fill"``), so the error still surfaces (and trips the training
    loop's non-finite guard) rather than being clamped away.
    """
    check_integer(t, name)
    check_shape(t, (batch,), name)
    _check_concrete_range(t, num_timesteps, name)


def _check_concrete_range(x: chex.Array, upper: int, name: str) -> None:
    """Raises when ``x`` is concrete and has a value outside ``[0, upper)``."""
    values = concrete_or_none(x)
    if values is not None and values.size:
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or hi >= upper:
            raise ValueError(f"{name} must be in [0, {upper}), got min {lo} and max {hi}")


def check_levels(x: chex.Array, num_levels: int, name: str = "x") -> jax.Array:
    """Checks integer levels in ``[0, num_levels)``: raises when ``x`` is concrete and out of
    range; under ``jit`` returns the mask of valid entries, so callers can turn the
    invalid ones into NaN rather than let a gather clamp or wrap them."""
    check_integer(x, name)
    _check_concrete_range(x, num_levels, name)
    return (x >= 0) & (x < num_levels)


def check_finite_rows(x: np.ndarray, name: str) -> None:
    """Raises unless every value of the host array ``x`` is finite (for the metrics)."""
    bad = ~np.isfinite(np.asarray(x, np.float64))
    if bad.any():
        rows = int(bad.reshape(len(x), -1).any(axis=1).sum()) if np.ndim(x) else 1
        raise ValueError(f"{name} contains NaN or inf (in {rows} of {len(x)} rows)")


def concrete_or_none(x: chex.Array) -> np.ndarray | None:
    """Returns ``x`` as a NumPy array when it is concrete, ``None`` under tracing."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _check_is_array(x: object, name: str) -> None:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
