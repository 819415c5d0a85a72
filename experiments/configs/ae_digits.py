"""A deterministic autoencoder on digits: the VAE's networks with z = the encoder mean and
only the reconstruction term (discretized logistic). ``eval/elbo`` is then the
reconstruction log-likelihood, not a bound; its samples decode z ~ N(0, I), which
an autoencoder was never trained for."""

from experiments.configs.vae_digits import get_config as get_vae_digits_config


def get_config():
    config = get_vae_digits_config()
    config.model.autoencoder = True
    config.model.kl_warmup_steps = 0
    return config
