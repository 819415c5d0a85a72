"""SN-GAN (Miyato et al. 2018) on digits (32x32): the DCGAN networks with spectral
normalisation on every discriminator layer and no batch norm there, the hinge loss
(Lim & Ye 2017, as Miyato et al. use it), one discriminator step per generator step,
Adam 2e-4 with betas (0.5, 0.999) (DCGAN's settings; spectral normalisation keeps the
discriminator 1-Lipschitz per layer, so it needs no gradient penalty).

The power-iteration vector of each layer is discriminator state, saved in every
checkpoint: a resumed run continues the same iteration.
"""

import ml_collections

from experiments.configs.dcgan_digits import get_config as get_dcgan_config


def as_sngan(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A DCGAN config turned into SN-GAN's setup (this module's docstring)."""
    m = config.model
    m.loss = "hinge"
    m.d_norm = "none"
    m.d_spectral_norm = True
    m.d_steps = 1
    m.g_learning_rate = 2e-4
    m.d_learning_rate = 2e-4
    m.beta1 = 0.5
    m.beta2 = 0.999
    return config


def get_config():
    return as_sngan(get_dcgan_config())
