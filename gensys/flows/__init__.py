"""Normalizing flows: bijectors, couplings, splines, masked autoregressive flows, the flow
distribution and dequantization."""

from gensys.distributions import bits_per_dim
from gensys.flows.bijectors import (
    Bijector,
    actnorm,
    actnorm_data_init,
    chain,
    invert,
    logit_preprocessing,
    lu_conv1x1,
    lu_conv1x1_init,
    shift,
    squeeze,
    sum_per_example,
)
from gensys.flows.coupling import (
    additive_coupling,
    affine_coupling,
    channel_mask,
    checkerboard_mask,
)
from gensys.flows.distribution import (
    FlowDistribution,
    dequantize,
    discrete_log_likelihood_bound,
    uniform_dequantize,
    variational_dequantization_bound,
)
from gensys.flows.masked_autoregressive import (
    AFFINE,
    affine_transform,
    bounded_affine_transform,
    inverse_autoregressive,
    masked_autoregressive,
    reverse_features,
    spline_transform,
)
from gensys.flows.splines import num_spline_params, rational_quadratic_spline, spline_coupling

__all__ = [
    "AFFINE",
    "affine_transform",
    "bounded_affine_transform",
    "inverse_autoregressive",
    "masked_autoregressive",
    "num_spline_params",
    "rational_quadratic_spline",
    "reverse_features",
    "spline_coupling",
    "spline_transform",
    "Bijector",
    "FlowDistribution",
    "actnorm",
    "actnorm_data_init",
    "additive_coupling",
    "affine_coupling",
    "bits_per_dim",
    "chain",
    "channel_mask",
    "checkerboard_mask",
    "discrete_log_likelihood_bound",
    "invert",
    "logit_preprocessing",
    "lu_conv1x1",
    "lu_conv1x1_init",
    "shift",
    "squeeze",
    "sum_per_example",
    "uniform_dequantize",
    "dequantize",
    "variational_dequantization_bound",
]
