"""Flow matching / rectified flow as a :class:`~gensys.recipes.recipe.Recipe` on the UNet.

The UNet (:mod:`gensys.nets.unet`) predicts the velocity ``v(x_t, t)`` of the straight path
from ``N(0, I)`` noise at ``t = 0`` to the data at ``t = 1`` (:mod:`gensys.diffusion.
flow_matching`: Lipman et al. 2023, Liu et al. 2023), seeing ``t`` scaled to
``[0, time_scale]`` (its sinusoidal embedding was made for timesteps up to 1000). Training
regresses the conditional velocity with ``t`` uniform or logit-normal; ``sample`` integrates
the ODE from noise with the EMA parameters (``sampler.name`` ``euler`` or ``heun``,
``sampler.num_steps`` steps) and clips to ``[-1, 1]``. ``eval_step`` reports the loss and,
with ``eval_ode_steps``, the exact NLL of the ODE dequantized to the data's levels
(``eval/nll_nats``, ``eval/bpd``: one ``u`` draw per image), the accounting every gensys
likelihood uses.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.diffusion.flow_matching import (
    ODE_METHODS,
    TIME_DISTRIBUTIONS,
    flow_log_density,
    flow_matching_loss,
    sample_ode,
)
from gensys.diffusion.ode_likelihood import DIVERGENCES, dequantized_nll_nats
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import TrainState
from gensys.recipes.unet_regression import make_unet, unet_training


@dataclasses.dataclass(frozen=True)
class FlowMatchingConfig:
    """The ``model`` section of a flow-matching config."""

    sigma_min: float = 0.0  # 0: rectified flow; Lipman et al. use 1e-4 or so
    time_distribution: str = "uniform"  # or logit_normal
    time_scale: float = 1000.0  # the UNet sees t * time_scale
    channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = ()
    dropout: float = 0.0
    learning_rate: float = 2e-4
    warmup_steps: int = 500
    grad_clip_norm: float = 1.0
    ema_decay: float = 0.9995
    eval_ode_steps: int = 0  # Heun steps of the exact-likelihood ODE in evaluation (0: off)
    eval_ode_divergence: str = "exact"  # or hutchinson
    # The UNet's hand-written GroupNorm + SiLU gradient (gensys.nets.group_norm) and its
    # convolutions' flipped-convolution input gradient (gensys.nets.tap_conv): training
    # needs only reverse mode; False keeps forward mode (jax.jvp) through the network.
    fast_cpu_gradients: bool = True


@dataclasses.dataclass(frozen=True)
class FlowSamplerConfig:
    """The ``sampler`` section: the ODE integrator ``sample`` uses."""

    name: str = "heun"  # or euler
    num_steps: int = 50


def _check(config: FlowMatchingConfig, sampler: FlowSamplerConfig) -> None:
    if config.time_distribution not in TIME_DISTRIBUTIONS:
        raise ValueError(
            f"time_distribution must be one of {TIME_DISTRIBUTIONS}, got "
            f"{config.time_distribution!r}"
        )
    if not 0.0 <= config.sigma_min < 1.0:
        raise ValueError(f"sigma_min must be in [0, 1), got {config.sigma_min}")
    if config.eval_ode_steps < 0 or config.eval_ode_divergence not in DIVERGENCES:
        raise ValueError(
            f"eval_ode_steps must be >= 0 and eval_ode_divergence one of {DIVERGENCES}, got "
            f"{config.eval_ode_steps}, {config.eval_ode_divergence!r}"
        )
    if sampler.name not in ODE_METHODS or sampler.num_steps < 1:
        raise ValueError(
            f"sampler.name must be one of {ODE_METHODS} and sampler.num_steps >= 1, got "
            f"{sampler.name!r}, {sampler.num_steps}"
        )


def make_flow_matching_recipe(
    config: FlowMatchingConfig, spec: DatasetSpec, sampler: FlowSamplerConfig | None = None
) -> Recipe:
    """Builds the flow-matching recipe for images of ``spec.image_shape``."""
    sampler = sampler or FlowSamplerConfig()
    _check(config, sampler)
    net = make_unet(config)

    def velocity(params, **kwargs):
        def fn(x_t, t):
            return net.apply(params, x_t, t * config.time_scale, **kwargs)

        return fn

    def loss_of(key, velocity_fn, images):
        return flow_matching_loss(
            key, velocity_fn, images, sigma_min=config.sigma_min,
            time_distribution=config.time_distribution,
        )  # fmt: skip

    def training_loss(params, images, key, rngs):
        return loss_of(key, velocity(params, train=True, rngs=rngs), images)

    init, train_step = unet_training(net, config, training_loss)

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        loss_key, nll_key = jax.random.split(key)
        fn = velocity(state.ema_params)
        metrics = {"loss": loss_of(loss_key, fn, batch["image"])}
        if config.eval_ode_steps:

            def log_density(y, probe_key):
                return flow_log_density(
                    fn, y, num_steps=config.eval_ode_steps,
                    divergence_kind=config.eval_ode_divergence, key=probe_key,
                )  # fmt: skip

            images = batch["image"]
            metrics.update(
                dequantized_nll_nats(nll_key, log_density, images, num_levels=spec.num_levels)
            )
        return metrics

    def sample_fn(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        noise = jax.random.normal(key, (num, *spec.image_shape))
        x = sample_ode(
            velocity(state.ema_params), noise, num_steps=sampler.num_steps, method=sampler.name
        )
        return jnp.clip(x, -1.0, 1.0)

    return Recipe(
        name="flow_matching",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample_fn,
        representation="float",
        sample_tag=f"{sampler.name}_{sampler.num_steps}steps",
    )
