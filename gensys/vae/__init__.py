"""Autoencoders and VAEs: the Gaussian latent, the ELBO and the importance-weighted bound."""

from gensys.vae.bounds import elbo, iwae_bound, log_importance_weights
from gensys.vae.latent import (
    diagonal_log_prob,
    kl_to_standard_normal,
    reparameterize,
    standard_normal_log_prob,
)

__all__ = [
    "diagonal_log_prob",
    "elbo",
    "iwae_bound",
    "kl_to_standard_normal",
    "log_importance_weights",
    "reparameterize",
    "standard_normal_log_prob",
]
