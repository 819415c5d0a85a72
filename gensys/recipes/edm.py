"""EDM (Karras et al. 2022) as a :class:`~gensys.recipes.recipe.Recipe` on the UNet.

The UNet (:mod:`gensys.nets.unet`) is the network ``F`` of the preconditioned denoiser
``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise)`` (:mod:`gensys.diffusion.edm`), seeing
``c_noise = log(sigma) / 4`` scaled by ``noise_scale`` (its sinusoidal embedding was made
for timesteps up to 1000). Training draws ``log sigma ~ N(p_mean, p_std^2)`` and weights
the denoising error by ``1 / c_out^2``; ``sample`` runs Algorithm 2 with the EMA parameters
(``sampler.num_steps`` Heun steps on the EDM levels, ``sampler.s_churn > 0`` for the
stochastic sampler) and clips to ``[-1, 1]``. ``eval_step`` reports the loss.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.diffusion.edm import edm_loss, edm_sample, make_denoiser
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import TrainState
from gensys.recipes.unet_regression import make_unet, unet_training


@dataclasses.dataclass(frozen=True)
class EDMConfig:
    """The ``model`` section of an EDM config (Karras et al.'s Table 1 defaults)."""

    sigma_data: float = 0.5
    p_mean: float = -1.2
    p_std: float = 1.2
    noise_scale: float = 250.0  # the UNet sees noise_scale * log(sigma) / 4
    channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = ()
    dropout: float = 0.0
    learning_rate: float = 2e-4
    warmup_steps: int = 500
    grad_clip_norm: float = 1.0
    ema_decay: float = 0.9995
    # The UNet's hand-written GroupNorm + SiLU gradient (gensys.nets.group_norm) and its
    # convolutions' flipped-convolution input gradient (gensys.nets.tap_conv): training
    # needs only reverse mode; False keeps forward mode (jax.jvp) through the network.
    fast_cpu_gradients: bool = True


@dataclasses.dataclass(frozen=True)
class EDMSamplerConfig:
    """The ``sampler`` section: Algorithm 2's settings (``s_churn = 0``: deterministic)."""

    num_steps: int = 18
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    s_churn: float = 0.0
    s_tmin: float = 0.0
    s_tmax: float = 1e9  # no upper limit
    s_noise: float = 1.0


def _check(config: EDMConfig, sampler: EDMSamplerConfig) -> None:
    if config.sigma_data <= 0 or config.p_std <= 0:
        raise ValueError(
            f"sigma_data and p_std must be positive, got {config.sigma_data}, {config.p_std}"
        )
    if not 0 < sampler.sigma_min < sampler.sigma_max or sampler.num_steps < 1:
        raise ValueError(
            f"need 0 < sampler.sigma_min < sampler.sigma_max and num_steps >= 1, got "
            f"{sampler.sigma_min}, {sampler.sigma_max}, {sampler.num_steps}"
        )
    if sampler.s_churn < 0 or sampler.s_noise < 0:
        raise ValueError(
            f"s_churn and s_noise must be >= 0, got {sampler.s_churn}, {sampler.s_noise}"
        )


def make_edm_recipe(
    config: EDMConfig, spec: DatasetSpec, sampler: EDMSamplerConfig | None = None
) -> Recipe:
    """Builds the EDM recipe for images of ``spec.image_shape``."""
    sampler = sampler or EDMSamplerConfig()
    _check(config, sampler)
    net = make_unet(config)

    def denoiser(params, **kwargs):
        def network(x_in, c_noise):
            return net.apply(params, x_in, c_noise * config.noise_scale, **kwargs)

        return make_denoiser(network, config.sigma_data)

    def loss_of(key, denoise, images):
        return edm_loss(
            key, denoise, images, sigma_data=config.sigma_data, p_mean=config.p_mean,
            p_std=config.p_std,
        )  # fmt: skip

    def training_loss(params, images, key, rngs):
        return loss_of(key, denoiser(params, train=True, rngs=rngs), images)

    init, train_step = unet_training(net, config, training_loss)

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        return {"loss": loss_of(key, denoiser(state.ema_params), batch["image"])}

    def sample_fn(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        x = edm_sample(
            denoiser(state.ema_params), key, (num, *spec.image_shape),
            num_steps=sampler.num_steps, sigma_min=sampler.sigma_min,
            sigma_max=sampler.sigma_max, rho=sampler.rho, s_churn=sampler.s_churn,
            s_tmin=sampler.s_tmin, s_tmax=sampler.s_tmax, s_noise=sampler.s_noise,
        )  # fmt: skip
        return jnp.clip(x, -1.0, 1.0)

    kind = "churn" if sampler.s_churn > 0 else "heun"
    return Recipe(
        name="edm",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample_fn,
        representation="float",
        sample_tag=f"edm_{kind}_{sampler.num_steps}steps",
    )
