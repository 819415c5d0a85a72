"""A masked autoregressive flow (MAF; Papamakarios et al. 2017) on scikit-learn's 8x8
digits (17 levels): bits/dim with uniform dequantization, beside RealNVP, Glow and the
spline flow.

The set-up of ``nsf_digits.py`` (five layers of ActNorm and a masked autoregressive layer
from a MADE of 2 x 256 ReLU units on the flattened 64 pixels, the order reversed between
layers; logit pre-processing, batches of 128, Adam 1e-3 with a 200-step warm-up) with
MAF's affine elementwise map instead of the spline. Densities are one pass; sampling
takes 64 passes a layer. Figures: ``benchmarks/results/flows.md``
(``python -m benchmarks.flows --configs=maf_digits``).
"""

from experiments.configs import nsf_digits


def get_config():
    config = nsf_digits.get_config()
    config.model.transform = "affine"
    return config
