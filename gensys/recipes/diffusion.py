"""Diffusion as a :class:`~gensys.recipes.recipe.Recipe`: any schedule, parameterization,
loss weighting, learned variances, classifier-free guidance, and every sampler.

The defaults are DDPM (Ho, Jain, Abbeel 2020): linear schedule, epsilon
prediction, L_simple, fixed-small variance, ancestral sampling on all ``T``
steps from the EMA parameters. ``eval_step`` reports the per-example L_simple
(``eval/loss``) and, with ``eval_bpd``, the variational bound in bits per
dimension of the data's own levels (``eval/bpd``, ``T`` model calls per batch).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gensys.data.datasets import DatasetSpec
from gensys.diffusion.denoiser import THRESHOLDS, make_threshold
from gensys.diffusion.guidance import drop_labels, guided_model_fn
from gensys.diffusion.likelihood import vlb_bits_per_dim
from gensys.diffusion.losses import diffusion_loss
from gensys.diffusion.ode_likelihood import DIVERGENCES, ode_nll_nats
from gensys.diffusion.parameterization import Prediction, check_parameterization
from gensys.diffusion.sample_loop import GRIDS, SAMPLERS, make_sampler, make_sampling_grid, sample
from gensys.diffusion.schedules import make_schedule
from gensys.nets.unet import UNet
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import (
    TrainState,
    apply_gradients,
    fresh_train_state,
    make_optimizer,
    masked_mean,
)

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}

# The grid a sampler uses when ``spacing = "auto"``: the papers' own choices, and for
# DPM-Solver++ diffusers' (its final step goes from t = 100 of 1000 to the data, where
# "linspace" would spend its last model call at t = 0).
DEFAULT_SPACING = {
    "ddpm": "leading",
    "ddim": "leading",
    "dpmpp_2m": "linspace_skip_zero",
    "dpmpp_3m": "linspace_skip_zero",
    "dpmpp_2m_sde": "linspace_skip_zero",
    "euler": "karras",
    "heun": "karras",
}


@dataclasses.dataclass(frozen=True)
class DDPMConfig:
    """The ``model`` section of a diffusion config."""

    num_timesteps: int = 1000
    schedule: str = "linear"  # linear, cosine, scaled_linear, sigmoid
    zero_terminal_snr: bool = False
    parameterization: str = "eps"  # eps, x0, v
    loss_weighting: str = "simple"  # simple, snr, min_snr
    min_snr_gamma: float = 5.0
    learned_variance: bool = False  # hybrid loss of Nichol & Dhariwal
    hybrid_lambda: float = 0.001
    channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = ()
    dropout: float = 0.0
    class_conditional: bool = False
    label_dropout: float = 0.0  # classifier-free guidance training
    learning_rate: float = 2e-4
    warmup_steps: int = 500
    grad_clip_norm: float = 1.0
    ema_decay: float = 0.9995
    eval_bpd: bool = False
    # The exact NLL by the probability-flow ODE (gensys.diffusion.ode_likelihood), dequantized
    # to the data's levels: ode_nll_nats and ode_bpd, with this many Heun steps (0: off).
    eval_ode_steps: int = 0
    eval_ode_divergence: str = "exact"  # or hutchinson (one probe per image)
    compute_dtype: str = "float32"
    # The UNet's hand-written GroupNorm + SiLU gradient (gensys.nets.group_norm) and its
    # convolutions' flipped-convolution input gradient (gensys.nets.tap_conv): training
    # needs only reverse mode; False keeps forward mode (jax.jvp) through the network.
    fast_cpu_gradients: bool = True


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
    """The ``sampler`` section: how ``--mode=sample`` and the training grids draw samples."""

    name: str = "ddpm"  # ddpm, ddim, dpmpp_2m, dpmpp_3m, dpmpp_2m_sde, euler, heun
    num_steps: int | None = None  # None: all T training steps (not for karras)
    spacing: str = "auto"  # leading, trailing, linspace, linspace_skip_zero, karras; auto
    steps_offset: int = 0  # added to the leading spacing (Stable Diffusion's configs: 1)
    set_alpha_to_one: bool = True  # False: end at alpha_bar_0, not the data (diffusers' DDIM)
    eta: float = 0.0  # DDIM only
    # DDIM with a threshold: step with the eps of the thresholded x0 (True) or the model's
    # own (False, diffusers' default)
    clipped_model_output: bool = True
    ddpm_variance: str = "fixed_small"  # DDPM without a learned variance: or fixed_large
    threshold: str = "clip"  # none, clip, dynamic
    dynamic_percentile: float = 0.995
    guidance_scale: float = 1.0  # class-conditional models: 1 = plain conditional
    karras_rho: float = 7.0
    lower_order_final: bool = True


def _check(config: DDPMConfig, sampler: SamplerConfig, spec: DatasetSpec) -> None:
    if config.compute_dtype not in _DTYPES:
        raise ValueError(
            f"compute_dtype must be one of {sorted(_DTYPES)}, got {config.compute_dtype!r}"
        )
    check_parameterization(config.parameterization)
    if config.eval_ode_steps < 0 or config.eval_ode_divergence not in DIVERGENCES:
        raise ValueError(
            f"eval_ode_steps must be >= 0 and eval_ode_divergence one of {DIVERGENCES}, got "
            f"{config.eval_ode_steps}, {config.eval_ode_divergence!r}"
        )
    if config.class_conditional and spec.num_classes is None:
        raise ValueError("class_conditional=True needs a labelled dataset")
    if config.label_dropout and not config.class_conditional:
        raise ValueError("label_dropout needs class_conditional=True")
    if config.zero_terminal_snr and config.parameterization == "eps":
        raise ValueError("zero_terminal_snr needs parameterization 'v' or 'x0' (eps gives no x0)")
    if sampler.name not in SAMPLERS:
        raise ValueError(f"sampler.name must be one of {SAMPLERS}, got {sampler.name!r}")
    if sampler.spacing != "auto" and sampler.spacing not in GRIDS:
        raise ValueError(
            f"sampler.spacing must be 'auto' or one of {GRIDS}, got {sampler.spacing!r}"
        )
    if sampler.threshold not in THRESHOLDS:
        raise ValueError(
            f"sampler.threshold must be one of {THRESHOLDS}, got {sampler.threshold!r}"
        )
    if sampler.guidance_scale != 1.0 and not config.class_conditional:
        raise ValueError("sampler.guidance_scale needs a class_conditional model")


def make_ddpm_recipe(
    config: DDPMConfig, spec: DatasetSpec, sampler: SamplerConfig | None = None
) -> Recipe:
    """Builds the diffusion recipe for images of ``spec.image_shape``."""
    sampler = sampler or SamplerConfig()
    _check(config, sampler, spec)
    schedule = make_schedule(
        config.schedule, config.num_timesteps, zero_terminal_snr=config.zero_terminal_snr
    )
    channels = spec.image_shape[-1]
    net = UNet(
        channels=config.channels,
        channel_mults=tuple(config.channel_mults),
        num_res_blocks=config.num_res_blocks,
        attention_resolutions=tuple(config.attention_resolutions),
        dropout=config.dropout,
        num_classes=spec.num_classes if config.class_conditional else None,
        out_channels=2 * channels if config.learned_variance else channels,
        dtype=_DTYPES[config.compute_dtype],
        fast_cpu_gradients=config.fast_cpu_gradients,
    )
    null_label = spec.num_classes  # the UNet's extra "no label" class
    optimizer = make_optimizer(
        config.learning_rate,
        warmup_steps=config.warmup_steps,
        grad_clip_norm=config.grad_clip_norm,
    )
    spacing = DEFAULT_SPACING[sampler.name] if sampler.spacing == "auto" else sampler.spacing
    solver = make_sampler(
        sampler.name, eta=sampler.eta, lower_order_final=sampler.lower_order_final,
        ddpm_variance=sampler.ddpm_variance, clipped_model_output=sampler.clipped_model_output,
    )  # fmt: skip
    grid = make_sampling_grid(
        schedule, sampler.num_steps, spacing, rho=sampler.karras_rho,
        steps_offset=sampler.steps_offset, set_alpha_to_one=sampler.set_alpha_to_one,
    )  # fmt: skip
    threshold = make_threshold(sampler.threshold, sampler.dynamic_percentile)

    def predicting(model_fn) -> Prediction:
        """The network's function with what it predicts: the one place the loss, the bound
        and the sampler learn the parameterization from."""
        return Prediction(model_fn, config.parameterization, config.learned_variance)

    def labels_of(batch):
        return batch["label"] if config.class_conditional else None

    def init(key: jax.Array, batch: dict) -> TrainState:
        x = jnp.zeros_like(batch["image"])
        t = jnp.zeros((x.shape[0],), jnp.int32)
        params = net.init({"params": key}, x, t, labels_of(batch))
        return fresh_train_state(params, optimizer)

    def train_step(state: TrainState, batch: dict, key: jax.Array):
        loss_key, dropout_key, label_key = jax.random.split(key, 3)
        labels = labels_of(batch)
        if labels is not None and config.label_dropout > 0:
            labels = drop_labels(label_key, labels, null_label, config.label_dropout)

        def loss_fn(params):
            def model_fn(x_t, t):
                return net.apply(params, x_t, t, labels, train=True, rngs={"dropout": dropout_key})

            per_example = diffusion_loss(
                loss_key, schedule, predicting(model_fn), batch["image"],
                weighting=config.loss_weighting, min_snr_gamma=config.min_snr_gamma,
                hybrid_lambda=config.hybrid_lambda, num_levels=spec.num_levels,
            )  # fmt: skip
            return masked_mean(per_example, batch["mask"])

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        new_state = apply_gradients(state, grads, optimizer, config.ema_decay)
        grad_norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)))
        return new_state, {"train/loss": loss, "train/grad_norm": grad_norm}

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        def model_fn(x_t, t):
            return net.apply(state.ema_params, x_t, t, labels_of(batch))

        loss_key, bpd_key = jax.random.split(key)
        metrics = {
            "loss": diffusion_loss(
                loss_key,
                schedule,
                predicting(model_fn),
                batch["image"],
                weighting=config.loss_weighting,
                min_snr_gamma=config.min_snr_gamma,
                hybrid_lambda=config.hybrid_lambda,
                num_levels=spec.num_levels,
            )  # fmt: skip
        }
        if config.eval_bpd:
            bound = vlb_bits_per_dim(
                bpd_key, schedule, predicting(model_fn), batch["image"], threshold=threshold,
                num_levels=spec.num_levels,
            )  # fmt: skip
            metrics.update(bound)
        if config.eval_ode_steps:
            ode = ode_nll_nats(
                jax.random.fold_in(bpd_key, 1), schedule, predicting(model_fn), batch["image"],
                num_levels=spec.num_levels, num_steps=config.eval_ode_steps,
                divergence_kind=config.eval_ode_divergence,
            )  # fmt: skip
            metrics.update({f"ode_{name}": value for name, value in ode.items()})
        return metrics

    def sample_fn(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        def model_fn(x_t, t):
            return net.apply(state.ema_params, x_t, t)

        if config.class_conditional:
            labels = jnp.arange(num, dtype=jnp.int32) % spec.num_classes

            def labelled(x_t, t, y):
                return net.apply(state.ema_params, x_t, t, y)

            if sampler.guidance_scale == 1.0:  # the plain conditional model: one call a step

                def model_fn(x_t, t):
                    return labelled(x_t, t, labels)

            else:
                model_fn = guided_model_fn(
                    labelled, labels, null_label, sampler.guidance_scale, guided_channels=channels
                )
        return sample(
            key, solver, grid, predicting(model_fn), (num, *spec.image_shape),
            threshold=threshold,
        )  # fmt: skip

    return Recipe(
        name="ddpm",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample_fn,
        representation="float",
        sample_tag=f"{sampler.name}_{grid.num_steps}steps",
    )
