"""What the EDM and flow-matching recipes share: the UNet of their config, trained on one
per-example regression loss with Adam (warmup, gradient clipping) and an EMA of the weights.

A config here is any dataclass with the UNet's fields (``channels``, ``channel_mults``,
``num_res_blocks``, ``attention_resolutions``, ``dropout``, ``fast_cpu_gradients``) and the
optimiser's (``learning_rate``, ``warmup_steps``, ``grad_clip_norm``, ``ema_decay``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gensys.nets.unet import UNet
from gensys.recipes.state import (
    TrainState,
    apply_gradients,
    fresh_train_state,
    make_optimizer,
    masked_mean,
)

# (params, images [B, ...], key, dropout rngs) -> per-example loss (B,)
RegressionLoss = Callable[[Any, jax.Array, jax.Array, dict], jax.Array]


def make_unet(config: Any) -> UNet:
    """The UNet a config describes; it takes a float time or noise label ``(B,)``."""
    return UNet(
        channels=config.channels,
        channel_mults=tuple(config.channel_mults),
        num_res_blocks=config.num_res_blocks,
        attention_resolutions=tuple(config.attention_resolutions),
        dropout=config.dropout,
        fast_cpu_gradients=config.fast_cpu_gradients,
    )


def unet_training(net: UNet, config: Any, loss: RegressionLoss):
    """``(init, train_step)`` of a recipe that fits ``net`` by ``loss``; ``train_step``
    reports ``train/loss`` (its masked mean) and ``train/grad_norm``."""
    optimizer = make_optimizer(
        config.learning_rate, warmup_steps=config.warmup_steps,
        grad_clip_norm=config.grad_clip_norm,
    )  # fmt: skip

    def init(key: jax.Array, batch: dict) -> TrainState:
        x = jnp.zeros_like(batch["image"])
        params = net.init({"params": key}, x, jnp.zeros((x.shape[0],), jnp.float32))
        return fresh_train_state(params, optimizer)

    def train_step(state: TrainState, batch: dict, key: jax.Array):
        loss_key, dropout_key = jax.random.split(key)

        def loss_fn(params):
            per_example = loss(params, batch["image"], loss_key, {"dropout": dropout_key})
            return masked_mean(per_example, batch["mask"])

        value, grads = jax.value_and_grad(loss_fn)(state.params)
        new_state = apply_gradients(state, grads, optimizer, config.ema_decay)
        grad_norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)))
        return new_state, {"train/loss": value, "train/grad_norm": grad_norm}

    return init, train_step
