"""DDPM as a :class:`~gensys.train.recipe.Recipe`: epsilon prediction, L_simple, ancestral sampling.

Ho, Jain, Abbeel. Denoising Diffusion Probabilistic Models. NeurIPS 2020:
train ``eps_theta`` on L_simple with uniform ``t`` (Algorithm 1); sample with
the ancestral chain and fixed-small variance (Algorithm 2) from the EMA
parameters (their EMA decay is 0.9999 at full scale).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.diffusion.losses import eps_prediction_loss
from gensys.diffusion.samplers import ddpm_sample
from gensys.diffusion.schedules import make_schedule
from gensys.nets.unet import UNet
from gensys.train.recipe import Recipe
from gensys.train.state import TrainState, ema_decay_at, ema_update, make_optimizer, masked_mean

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class DDPMConfig:
    """The ``model`` section of a DDPM config."""

    num_timesteps: int = 1000
    schedule: str = "linear"
    channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = ()
    dropout: float = 0.0
    class_conditional: bool = False
    learning_rate: float = 2e-4
    warmup_steps: int = 500
    grad_clip_norm: float = 1.0
    ema_decay: float = 0.9995
    clip_x0: bool = True
    compute_dtype: str = "float32"


def make_ddpm_recipe(config: DDPMConfig, spec: DatasetSpec) -> Recipe:
    """Builds the DDPM recipe for images of ``spec.image_shape``."""
    if config.compute_dtype not in _DTYPES:
        raise ValueError(
            f"compute_dtype must be one of {sorted(_DTYPES)}, got {config.compute_dtype!r}"
        )
    if config.class_conditional and spec.num_classes is None:
        raise ValueError("class_conditional=True needs a labelled dataset")
    schedule = make_schedule(config.schedule, config.num_timesteps)
    net = UNet(
        channels=config.channels,
        channel_mults=tuple(config.channel_mults),
        num_res_blocks=config.num_res_blocks,
        attention_resolutions=tuple(config.attention_resolutions),
        dropout=config.dropout,
        num_classes=spec.num_classes if config.class_conditional else None,
        dtype=_DTYPES[config.compute_dtype],
    )
    optimizer = make_optimizer(
        config.learning_rate,
        warmup_steps=config.warmup_steps,
        grad_clip_norm=config.grad_clip_norm,
    )

    def labels_of(batch):
        return batch["label"] if config.class_conditional else None

    def init(key: jax.Array, batch: dict) -> TrainState:
        x = jnp.zeros_like(batch["image"])
        t = jnp.zeros((x.shape[0],), jnp.int32)
        params = net.init({"params": key}, x, t, labels_of(batch))
        return TrainState(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=optimizer.init(params),
            ema_params=params,
        )

    def train_step(state: TrainState, batch: dict, key: jax.Array):
        loss_key, dropout_key = jax.random.split(key)

        def loss_fn(params):
            def model_fn(x_t, t):
                return net.apply(
                    params, x_t, t, labels_of(batch), train=True, rngs={"dropout": dropout_key}
                )

            per_example = eps_prediction_loss(loss_key, schedule, model_fn, batch["image"])
            return masked_mean(per_example, batch["mask"])

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = jax.tree.map(lambda p, u: p + u, state.params, updates)
        ema = ema_update(state.ema_params, params, ema_decay_at(state.step, config.ema_decay))
        new_state = TrainState(
            step=state.step + 1, params=params, opt_state=opt_state, ema_params=ema
        )
        grad_norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)))
        return new_state, {"train/loss": loss, "train/grad_norm": grad_norm}

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        def model_fn(x_t, t):
            return net.apply(state.ema_params, x_t, t, labels_of(batch))

        return {"loss": eps_prediction_loss(key, schedule, model_fn, batch["image"])}

    def sample(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        labels = None
        if config.class_conditional:
            labels = jnp.arange(num, dtype=jnp.int32) % spec.num_classes

        def model_fn(x_t, t):
            return net.apply(state.ema_params, x_t, t, labels)

        return ddpm_sample(
            key, schedule, model_fn, (num, *spec.image_shape), clip_x0=config.clip_x0
        )

    return Recipe(
        name="ddpm",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        representation="float",
    )
