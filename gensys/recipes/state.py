"""The train state most single-network families share, its EMA, and the optimizer."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
    """``step`` counts applied updates; ``ema_params`` is the Polyak average used to sample."""

    step: jax.Array
    params: Any
    opt_state: Any
    ema_params: Any


def fresh_train_state(params: Any, optimizer: optax.GradientTransformation) -> TrainState:
    """Step 0, the optimizer's initial state, and the EMA starting at ``params``."""
    return TrainState(jnp.zeros((), jnp.int32), params, optimizer.init(params), params)


def apply_gradients(
    state: TrainState, grads: Any, optimizer: optax.GradientTransformation, ema_decay: float
) -> TrainState:
    """One optimizer update of ``state.params`` and its EMA (warmed up by :func:`ema_decay_at`)."""
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = jax.tree.map(lambda p, u: p + u, state.params, updates)
    ema = ema_update(state.ema_params, params, ema_decay_at(state.step, ema_decay))
    return TrainState(state.step + 1, params, opt_state, ema)


def ema_decay_at(step: jax.Array, decay: float) -> jax.Array:
    """Warmed-up EMA decay ``min(decay, (1 + n) / (10 + n))``: early averages leave the init."""
    n = step.astype(jnp.float32)
    return jnp.minimum(jnp.float32(decay), (1.0 + n) / (10.0 + n))


def ema_update(ema_params: Any, params: Any, decay: jax.Array) -> Any:
    """``ema <- decay * ema + (1 - decay) * params`` leaf by leaf."""
    return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema_params, params)


OPTIMIZERS = ("adam", "adagrad", "sgd")


def make_optimizer(
    learning_rate: float,
    *,
    warmup_steps: int = 0,
    grad_clip_norm: float | None = 1.0,
    b1: float = 0.9,
    b2: float = 0.999,
    weight_decay: float = 0.0,
    weight_decay_mask: Any = None,
    decay_steps: int = 0,
    name: str = "adam",
    l2: float = 0.0,
    momentum: float = 0.0,
) -> optax.GradientTransformation:
    """Adam(W) (or Adagrad) with a linear warm-up to a constant rate and optional clipping.

    ``name="adagrad"``: Adagrad (Duchi et al. 2011) as in the MADE paper's experiments,
    ``theta <- theta - lr * g / sqrt(sum of g^2 so far + 1e-12)``, accumulator starting at
    0; it takes no ``weight_decay``, ``b1`` or ``b2``. ``name="sgd"``: SGD with
    (heavy-ball) ``momentum``, ``v <- momentum * v + g; theta <- theta - lr * v``, as
    Goodfellow et al. (2014) trained GANs; no ``weight_decay`` either.

    ``l2 > 0``: an L2 penalty ``l2 / 2 * sum(W^2)`` on the weight matrices and kernels
    (arrays of rank >= 2; not biases or scales) joins the objective: its gradient
    ``l2 * W`` is added before clipping and before the optimizer's scaling (unlike AdamW's
    decoupled ``weight_decay``), so training converges to the penalised optimum, the
    maximum a posteriori estimate under a Gaussian prior on the weights.

    ``weight_decay_mask`` (a pytree of bools, or a function of the params giving one)
    exempts the leaves marked ``False`` from the decay, e.g. parameters held fixed.
    ``decay_steps > 0``: after the warm-up the rate follows a cosine down to 1 % of
    ``learning_rate`` at step ``decay_steps`` (Loshchilov & Hutter 2017) and stays there.
    """
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if name != "adam" and weight_decay:
        raise ValueError(f"weight_decay is Adam's (AdamW); optimizer={name!r} got {weight_decay}")
    if not 0.0 <= momentum < 1.0 or (momentum and name != "sgd"):
        raise ValueError(f"momentum must be in [0, 1) and is SGD's; got {momentum} for {name!r}")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    if decay_steps and decay_steps <= warmup_steps:
        raise ValueError(
            f"decay_steps must exceed warmup_steps ({warmup_steps}), got {decay_steps}"
        )
    if decay_steps:
        lr = optax.warmup_cosine_decay_schedule(
            0.0, learning_rate, warmup_steps, decay_steps, end_value=0.01 * learning_rate
        )
    elif warmup_steps > 0:
        lr = optax.linear_schedule(0.0, learning_rate, warmup_steps)
    else:
        lr = learning_rate
    parts = []
    if l2:
        parts.append(optax.add_decayed_weights(l2, mask=_weight_matrices))
    if grad_clip_norm is not None:
        parts.append(optax.clip_by_global_norm(grad_clip_norm))
    # Without decay no mask: the optimizer state keeps the structure older checkpoints have.
    if name == "adagrad":
        parts.append(optax.adagrad(lr, initial_accumulator_value=0.0, eps=1e-12))
        return optax.chain(*parts)
    if name == "sgd":
        parts.append(optax.sgd(lr, momentum=momentum or None))
        return optax.chain(*parts)
    mask = weight_decay_mask if weight_decay else None
    parts.append(optax.adamw(lr, b1=b1, b2=b2, weight_decay=weight_decay, mask=mask))
    return optax.chain(*parts)


def masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of per-example ``values`` ``(B,)`` over the examples where ``mask`` is 1."""
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def _weight_matrices(params: Any) -> Any:
    """True for the arrays of rank >= 2 (weights and kernels), False for biases and scales."""
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)
