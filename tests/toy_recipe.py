"""A real but tiny recipe for exercising the loop quickly: a per-pixel affine
denoiser trained with Adam. It compiles in about a second, where a UNet takes
ten, so engine tests (guards, signals, resume) stay fast."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from gensys.recipes.recipe import Recipe
from gensys.recipes.state import TrainState, ema_decay_at, ema_update, masked_mean


def make_toy_recipe(image_shape=(8, 8, 1), learning_rate=1e-2, poison_from_step=None) -> Recipe:
    """``poison_from_step``: from that update on the loss is NaN (for the non-finite guard)."""
    optimizer = optax.adam(learning_rate)

    def per_example_loss(params, batch, key):
        x = batch["image"]
        noisy = x + 0.1 * jax.random.normal(key, x.shape)
        pred = noisy * params["scale"] + params["shift"]
        return jnp.mean(jnp.square(pred - x).reshape(x.shape[0], -1), axis=-1)

    def init(key, batch):
        params = {
            "scale": jnp.ones(image_shape) + 0.01 * jax.random.normal(key, image_shape),
            "shift": jnp.zeros(image_shape),
        }
        return TrainState(jnp.zeros((), jnp.int32), params, optimizer.init(params), params)

    def train_step(state, batch, key):
        def loss_fn(params):
            loss = masked_mean(per_example_loss(params, batch, key), batch["mask"])
            if poison_from_step is not None:
                loss = jnp.where(state.step >= poison_from_step, jnp.nan, loss)
            return loss

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        ema = ema_update(state.ema_params, params, ema_decay_at(state.step, 0.99))
        return TrainState(state.step + 1, params, opt_state, ema), {"train/loss": loss}

    def eval_step(state, batch, key):
        return {"loss": per_example_loss(state.ema_params, batch, key)}

    def sample(state, key, num):
        noise = jax.random.normal(key, (num, *image_shape))
        return jnp.tanh(noise * state.ema_params["scale"] + state.ema_params["shift"])

    return Recipe("toy", init, train_step, eval_step, sample)
