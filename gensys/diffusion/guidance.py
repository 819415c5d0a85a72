"""Classifier-free guidance (Ho & Salimans 2021, "Classifier-Free Diffusion Guidance").

Training drops the label with probability ``p`` (replacing it by a "null"
label), so one network learns both ``eps(x, t, y)`` and ``eps(x, t, null)``.
Sampling combines them with a guidance scale ``s``:

    out = out(x, t, null) + s (out(x, t, y) - out(x, t, null))

``s = 1`` is the plain conditional model and ``s = 0`` the unconditional one;
the paper's ``w`` is ``s - 1``. The combination is applied to the model output
in any parameterization (epsilon, x0 or v are all affine in the score).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys import checks

LabelledModelFn = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


def drop_labels(key: jax.Array, labels: jax.Array, null_label: int, rate: float) -> jax.Array:
    """Replaces each label by ``null_label`` with probability ``rate`` (training-time dropout)."""
    checks.check_integer(labels, "labels")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    drop = jax.random.bernoulli(key, rate, labels.shape)
    return jnp.where(drop, jnp.asarray(null_label, labels.dtype), labels)


def guided_model_fn(
    model_fn: LabelledModelFn,
    labels: jax.Array,
    null_label: int,
    scale: float | jax.Array,
    *,
    guided_channels: int | None = None,
) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``(x, t) -> guided output`` from ``model_fn(x, t, labels)``, one batched call a step.

    The conditional and unconditional halves are evaluated as one batch of
    ``2B``. ``scale`` may be traced (e.g. ``vmap`` over scales). Only the first
    ``guided_channels`` output channels are guided (e.g. the mean of a
    learned-variance model); the rest are taken from the conditional output.
    """
    checks.check_integer(labels, "labels")

    def fn(x: jax.Array, t: jax.Array) -> jax.Array:
        batch = x.shape[0]
        checks.check_shape(labels, (batch,), "labels")
        null = jnp.full_like(labels, null_label)
        both = model_fn(
            jnp.concatenate([x, x]), jnp.concatenate([t, t]), jnp.concatenate([labels, null])
        )
        cond, uncond = both[:batch], both[batch:]
        guided = uncond + scale * (cond - uncond)
        if guided_channels is None or guided_channels == cond.shape[-1]:
            return guided
        return jnp.concatenate(
            [guided[..., :guided_channels], cond[..., guided_channels:]], axis=-1
        )

    return fn
