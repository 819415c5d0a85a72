"""One accounting of likelihoods across families: the data's own discrete levels.

Every family that has a likelihood reports, per image, ``nll_nats``: an exact value
of or an upper bound on ``-log P(x)``, where ``x`` is the image as stored (``D``
dimensions on ``L`` levels each), and

    bpd = nll_nats / (D ln 2).

So numbers are comparable across families: a model that spreads its mass uniformly
over the ``L^D`` images scores ``D ln L`` nats, ``log2 L`` bits per dimension (8 for
8-bit images, 4.09 for the 17-level digits). What each family's figure is, and which
terms its continuous densities carry to become a probability of discrete data, is
stated in :data:`ACCOUNTING`; the comparison report prints it beside its table.
GANs and autoencoders define no likelihood and report none.
"""

from __future__ import annotations

import math

ACCOUNTING = {
    "autoregressive": (
        "exact: -log P(x) = -sum_i log P(x_i | x_<i), a softmax over the L levels of each "
        "pixel, or a discretized logistic or Gaussian mixture's L bin probabilities "
        "(model.conditional) (MADE: the average of P over its mask sets)"
    ),
    "flow": (
        "upper bound (uniform dequantization): y = (k + u) / L, -log P(k) <= E_u[-log p(y)] "
        "+ D log L; -log p(y) counts the logit or centring pre-processing's Jacobian and "
        "every layer's; one u draw per image. With model.dequantization=variational, u ~ "
        "q(u|k) and the bound adds E_q[log q(u|k)]"
    ),
    "vae": (
        "upper bound (IWAE, K importance samples): -log (1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)) "
        "with p(x|z) a distribution over the L levels (discretized logistic or Bernoulli)"
    ),
    "ddpm": (
        "upper bound (variational): L_prior + sum_t L_t + L_0, L_0 a discretized Gaussian over "
        "the L levels; one x_t draw per term, T network calls per image"
    ),
    "flow_matching": (
        "upper bound (uniform dequantization) on the exact density of its ODE: -log P(k) <= "
        "E_u[-log p(y)] - D log delta, with model.eval_ode_steps Heun steps (exact or "
        "Hutchinson divergence); one u draw per image; none without model.eval_ode_steps"
    ),
    "edm": "none reported: EDM's evaluation gives its denoising loss",
    "gan": "none: a GAN defines no density",
    "pix2pix": "none: a conditional GAN translator defines no density",
    "text2image": "none: a text-conditioned GAN defines no density",
    "stackgan": "none: a text-conditioned GAN defines no density",
}


def uniform_nll_nats(num_dims: int, num_levels: int) -> float:
    """``D ln L``: the NLL of the uniform model over ``L^D`` images, in nats."""
    if num_dims < 1 or num_levels < 2:
        raise ValueError(f"need num_dims >= 1 and num_levels >= 2, got {num_dims}, {num_levels}")
    return num_dims * math.log(num_levels)


CONTINUOUS = {
    "flow": "exact: -log p(x) of a continuous density (change of variables); no levels",
    "autoregressive": (
        "exact: -log p(x) = -sum_i log sum_k pi_k N(x_i; mu_k, sigma_k^2), a continuous "
        "density (RNADE's Gaussian mixtures); no levels"
    ),
}


def accounting_of(family: str, autoencoder: bool = False, continuous: bool = False) -> str:
    """The statement of :data:`ACCOUNTING` for a family (autoencoders have no likelihood;
    a flow or an autoregressive model on continuous data, the 2-D toys, has an exact
    density and no levels: :data:`CONTINUOUS`)."""
    if autoencoder:
        return "none: an autoencoder defines no density"
    if continuous and family in CONTINUOUS:
        return CONTINUOUS[family]
    if family not in ACCOUNTING:
        raise ValueError(f"unknown family {family!r}; known: {sorted(ACCOUNTING)}")
    return ACCOUNTING[family]
