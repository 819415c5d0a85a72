"""GANs: the loss zoo as pure functions of logits (with the matching-aware and joint-embedding
losses of text-conditioned GANs), and the two-player recipe."""

from gensys.gan.losses import (
    LOSSES,
    called_real,
    clip_weights,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)
from gensys.gan.matching import joint_embedding_loss, matching_aware_discriminator_loss
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
    "joint_embedding_loss",
    "make_gan_recipe",
    "matching_aware_discriminator_loss",
    "r1_penalty",
]
