"""LSGAN (Mao et al. 2017) on digits: the DCGAN networks with the least-squares
losses, targets a = 0 (fake), b = 1 (real), c = 1 (what the generator asks for)."""

from experiments.configs.dcgan_digits import get_config as get_dcgan_config


def get_config():
    config = get_dcgan_config()
    config.model.loss = "lsgan"
    return config
