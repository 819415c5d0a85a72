"""Ancestral sampling of autoregressive models as one ``lax.scan`` over the pixels.

``x_{o(t)} ~ Categorical(softmax(logits_{o(t)}(x_{o(<t)})))`` for ``t = 0..D-1`` in the
model's ordering ``o`` (raster order unless given). Two ways to get the logits:

- :func:`sample_by_rerunning`: run the whole network on the partly drawn image at every
  step and keep one position's logits. Works for every model; costs D full passes.
- :func:`sample_with_cache`: a model that can update a summary of the past in place
  (NADE's hidden pre-activations, Larochelle & Murray 2011, eq. 2; FVSBN's running
  logits; a Transformer's keys and values) supplies ``step(cache, t, previous)`` and
  pays only the new pixel's share of the work.

Both draw pixel ``t`` with the key ``fold_in(key, t)`` and the Gumbel-max trick, so for
the same ``key`` and the same model they give the same image (up to float rounding in the
logits). ``prefix`` and ``num_given`` fix the first ``num_given`` pixels of the ordering
(image completion); given levels outside the model's range are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gensys import checks

LogitsFn = Callable[[jax.Array], jax.Array]
StepFn = Callable[[Any, jax.Array, jax.Array], tuple[jax.Array, Any]]


def _draw(key: jax.Array, t: jax.Array, logits: jax.Array) -> jax.Array:
    return jax.random.categorical(jax.random.fold_in(key, t), logits.astype(jnp.float32), axis=-1)


def _given(
    prefix, shape, num: int, num_given: int, num_levels: int, order=None
) -> tuple[jax.Array, jax.Array]:
    """The prefix, flattened, and per image whether its given pixels are levels in
    ``[0, num_levels)``.

    A given level outside ``[0, num_levels)`` would pass into the samples and feed the
    network a value it never saw: eagerly it raises; under ``jit`` the images holding one
    come back as all ``-1``, an invalid level every likelihood turns into NaN.
    """
    dims = shape[0] * shape[1] * shape[2]
    if prefix is None:
        return jnp.zeros((num, dims), jnp.int32), jnp.ones((num, 1), bool)
    checks.check_integer(prefix, "prefix")
    checks.check_shape(prefix, (num, *shape), "prefix")
    flat = prefix.astype(jnp.int32).reshape(num, dims)
    positions = (jnp.arange(dims) if order is None else order)[:num_given]
    given = flat[:, positions]
    valid = (given >= 0) & (given < num_levels)
    concrete = checks.concrete_or_none(valid)
    if concrete is not None and not concrete.all():
        values = np.asarray(given)
        raise ValueError(
            f"prefix: the {num_given} given pixels must be levels in [0, {num_levels}), "
            f"got min {int(values.min())} and max {int(values.max())} "
            f"({int((~concrete).any(axis=1).sum())} of {num} images)"
        )
    return flat, jnp.all(valid, axis=1, keepdims=True)


def sample_by_rerunning(
    key: jax.Array,
    logits_fn: LogitsFn,
    num: int,
    shape: tuple[int, int, int],
    *,
    order: jax.Array | None = None,
    prefix: jax.Array | None = None,
    num_given: int = 0,
    to_logits: Callable[[jax.Array], jax.Array] | None = None,
) -> jax.Array:
    """``num`` images ``[num, H, W, C]`` of integer levels, drawn in ``order``.

    ``logits_fn(levels [num, H, W, C]) -> logits [num, H, W, C, L]`` must be
    autoregressive in ``order`` (a permutation of ``0..D-1`` over the raster-flattened
    pixels; default raster order). The given pixels skip the network. With ``to_logits``,
    ``logits_fn`` returns each pixel's parameters ``[..., P]`` instead and ``to_logits``
    turns the drawn pixel's ``[num, P]`` into its ``[num, L]`` logits (a mixture's levels:
    computed for one pixel a step, not the whole image).
    """
    dims = shape[0] * shape[1] * shape[2]
    order = jnp.arange(dims) if order is None else jnp.asarray(order, jnp.int32)
    checks.check_shape(order, (dims,), "order")
    blank = jnp.zeros((num, *shape), jnp.int32)
    outputs = jax.eval_shape(logits_fn, blank)
    if to_logits is not None:
        outputs = jax.eval_shape(to_logits, jnp.zeros((num, outputs.shape[-1])))
    num_levels = outputs.shape[-1]
    given, valid = _given(prefix, shape, num, num_given, num_levels, order)
    to_logits = to_logits or (lambda logits: logits)

    def body(flat, t):
        position = order[t]

        def draw(flat):
            logits = logits_fn(flat.reshape(num, *shape)).reshape(num, dims, -1)
            return _draw(key, t, to_logits(logits[:, position]))

        value = jax.lax.cond(t < num_given, lambda f: given[:, position], draw, flat)
        return flat.at[:, position].set(value.astype(jnp.int32)), None

    flat, _ = jax.lax.scan(body, given, jnp.arange(dims))
    return jnp.where(valid, flat, -1).reshape(num, *shape)


def sample_with_cache(
    key: jax.Array,
    step_fn: StepFn,
    cache: Any,
    num: int,
    shape: tuple[int, int, int],
    *,
    prefix: jax.Array | None = None,
    num_given: int = 0,
) -> jax.Array:
    """``num`` images ``[num, H, W, C]`` of integer levels, drawn in raster order.

    ``step_fn(cache, t, previous [num]) -> (logits [num, L], cache)`` adds pixel
    ``t - 1``'s level ``previous`` to the cache (ignored at ``t = 0``) and returns pixel
    ``t``'s logits; ``cache`` is the empty summary for ``num`` images.
    """
    dims = shape[0] * shape[1] * shape[2]
    previous = jnp.zeros((num,), jnp.int32)
    num_levels = jax.eval_shape(step_fn, cache, jnp.int32(0), previous)[0].shape[-1]
    given, valid = _given(prefix, shape, num, num_given, num_levels)

    def body(carry, t):
        cache, previous = carry
        logits, cache = step_fn(cache, t, previous)
        value = jnp.where(t < num_given, given[:, t], _draw(key, t, logits))
        return (cache, value.astype(jnp.int32)), value.astype(jnp.int32)

    start = (cache, jnp.zeros((num,), jnp.int32))
    _, values = jax.lax.scan(body, start, jnp.arange(dims))
    return jnp.where(valid, values.T, -1).reshape(num, *shape)
