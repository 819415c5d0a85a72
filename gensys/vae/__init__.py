"""Autoencoders and VAEs: the Gaussian latent, the decoder likelihoods, the ELBO and the
importance-weighted bound. The recipe that trains them is :mod:`gensys.recipes.vae`."""

from gensys.vae.bounds import elbo, iwae_bound, log_importance_weights
from gensys.vae.decoders import (
    DECODERS,
    bernoulli_log_likelihood,
    discretized_logistic_log_likelihood,
    gaussian_log_likelihood,
)
from gensys.vae.latent import (
    diagonal_log_prob,
    kl_to_standard_normal,
    reparameterize,
    standard_normal_log_prob,
)

__all__ = [
    "DECODERS",
    "bernoulli_log_likelihood",
    "discretized_logistic_log_likelihood",
    "gaussian_log_likelihood",
    "diagonal_log_prob",
    "elbo",
    "iwae_bound",
    "kl_to_standard_normal",
    "log_importance_weights",
    "reparameterize",
    "standard_normal_log_prob",
]
