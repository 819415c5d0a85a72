"""Every model family gensys trains, in one explicit mapping (no import-time registry)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from gensys.data.datasets import DatasetSpec, get_spec
from gensys.recipes.autoregressive import AutoregressiveConfig, make_autoregressive_recipe
from gensys.recipes.diffusion import DDPMConfig, SamplerConfig, make_ddpm_recipe
from gensys.recipes.edm import EDMConfig, EDMSamplerConfig, make_edm_recipe
from gensys.recipes.flow import FlowConfig, make_flow_recipe
from gensys.recipes.flow_matching import (
    FlowMatchingConfig,
    FlowSamplerConfig,
    make_flow_matching_recipe,
)
from gensys.recipes.gan import GANConfig, make_gan_recipe
from gensys.recipes.pix2pix import Pix2PixConfig, make_pix2pix_recipe
from gensys.recipes.recipe import Recipe
from gensys.recipes.stackgan import StackGANConfig, make_stackgan_recipe
from gensys.recipes.text2image import TextToImageConfig, make_text2image_recipe
from gensys.recipes.vae import VAEConfig, make_vae_recipe
from gensys.typed_config import from_mapping


@dataclasses.dataclass(frozen=True)
class Family:
    """A family's typed model config, the factory that turns it into a recipe, and the
    typed ``sampler`` section for families with a choice of samplers."""

    config_cls: type
    make_recipe: Callable[..., Recipe]
    sampler_cls: type | None = None


FAMILIES: dict[str, Family] = {
    "ddpm": Family(DDPMConfig, make_ddpm_recipe, SamplerConfig),
    # EDM (Karras et al. 2022) and flow matching / rectified flow on the same UNet
    "edm": Family(EDMConfig, make_edm_recipe, EDMSamplerConfig),
    "flow_matching": Family(FlowMatchingConfig, make_flow_matching_recipe, FlowSamplerConfig),
    "vae": Family(VAEConfig, make_vae_recipe),  # VAE, conditional VAE and autoencoder
    "gan": Family(GANConfig, make_gan_recipe),  # MLP GAN, DCGAN, cGAN, LSGAN, WGAN(-GP), hinge
    "pix2pix": Family(Pix2PixConfig, make_pix2pix_recipe),  # paired image-to-image
    "text2image": Family(TextToImageConfig, make_text2image_recipe),  # GAN-INT-CLS
    "stackgan": Family(StackGANConfig, make_stackgan_recipe),  # two stages, from captions
    "flow": Family(FlowConfig, make_flow_recipe),  # RealNVP, Glow, NICE-style additive
    # FVSBN, NADE, MADE, PixelCNN, gated PixelCNN, PixelRNN (Row LSTM), pixel Transformer
    "autoregressive": Family(AutoregressiveConfig, make_autoregressive_recipe),
}


def build_recipe(
    family: str,
    model_config: Mapping[str, Any],
    spec: DatasetSpec,
    sampler_config: Mapping[str, Any] | None = None,
) -> Recipe:
    """The recipe of ``family`` for data of ``spec``, its model and sampler sections typed."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known families: {sorted(FAMILIES)}")
    entry = FAMILIES[family]
    model = from_mapping(entry.config_cls, model_config, "config.model")
    if entry.sampler_cls is None:
        if sampler_config:
            raise ValueError(f"family {family!r} has no sampler options; drop config.sampler")
        return entry.make_recipe(model, spec)
    sampler = from_mapping(entry.sampler_cls, sampler_config, "config.sampler")
    return entry.make_recipe(model, spec, sampler)


def recipe_for(config: Any) -> Recipe:
    """The recipe an experiment config names: ``config.family`` built from ``config.model``
    and ``config.sampler`` for the data ``config.data.name`` (any object with those
    attributes, such as ``gensys.train.config.ExperimentConfig``)."""
    return build_recipe(config.family, config.model, get_spec(config.data.name), config.sampler)
