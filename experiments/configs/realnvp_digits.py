"""RealNVP on scikit-learn's 8x8 digits (17 levels): bits/dim with uniform dequantization.

The training set-up of ``glow_digits.py`` with RealNVP's model: two scales, 3
checkerboard couplings at 8x8x1, a squeeze, 3 channel couplings at 4x4x4, half factored
out (to a standard normal), then 4 checkerboard couplings at 4x4x2; conditioners of 64
channels with one residual block; the logit pre-processing (alpha = 0.05).

1,000 steps, chosen on the same validation split as ``glow_digits.py``: the validation
bound was lowest there (2.017 bits/dim; 2.117 by 2,000 steps).
"""

from experiments.configs import glow_digits


def get_config():
    config = glow_digits.get_config()
    m = config.model
    m.architecture = "realnvp"
    m.steps_per_scale = 3
    m.learned_prior = False
    config.train.num_steps = 1000
    return config
