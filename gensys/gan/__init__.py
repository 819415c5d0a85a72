"""GANs: the loss zoo as pure functions of logits (with the matching-aware and joint-embedding
losses of text-conditioned GANs). The two-player recipe is :mod:`gensys.recipes.gan`."""

from gensys.gan.losses import (
    LOSS_FUNCTIONS,
    LOSSES,
    called_real,
    clip_weights,
    cross_entropy_discriminator_loss,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    minimax_discriminator_loss,
    minimax_generator_loss,
    nonsaturating_discriminator_loss,
    nonsaturating_generator_loss,
    r1_penalty,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from gensys.gan.matching import joint_embedding_loss, matching_aware_discriminator_loss
from gensys.gan.noise import PRIORS, draw_noise

__all__ = [
    "PRIORS",
    "draw_noise",
    "LOSSES",
    "LOSS_FUNCTIONS",
    "cross_entropy_discriminator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "nonsaturating_discriminator_loss",
    "nonsaturating_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "called_real",
    "clip_weights",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "joint_embedding_loss",
    "matching_aware_discriminator_loss",
    "r1_penalty",
]
