"""GANs: the loss zoo as pure functions of logits, and the two-player recipe."""

from gensys.gan.losses import (
    LOSSES,
    called_real,
    clip_weights,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)
from gensys.gan.recipe import GANConfig, GANState, make_gan_recipe

__all__ = [
    "LOSSES",
    "GANConfig",
    "GANState",
    "called_real",
    "clip_weights",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "make_gan_recipe",
    "r1_penalty",
]
