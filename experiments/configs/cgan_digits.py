"""Class-conditional DCGAN on digits (32x32): the label's embedding joins ``z`` in the
generator (Mirza & Osindero 2014) and enters the discriminator as a projection
(Miyato & Koyama 2018; ``--config.model.conditioning=concat`` feeds it as input
channels instead). Samples are drawn for labels 0, 1, ..., 9, 0, ... in order.
"""

from experiments.configs.dcgan_digits import get_config as get_dcgan_config


def get_config():
    config = get_dcgan_config()
    config.model.class_conditional = True
    config.model.conditioning = "projection"
    return config
