"""A conditional VAE on digits: the one-hot label enters the encoder and the decoder;
sample grids cycle through the classes 0-9 row by row."""

from experiments.configs.vae_digits import get_config as get_vae_digits_config


def get_config():
    config = get_vae_digits_config()
    config.model.class_conditional = True
    return config
