"""An autoregressive neural spline flow (Durkan et al. 2019) on MNIST (256 levels):
bits/dim with uniform dequantization, beside MAF and Glow.

``maf_mnist.py`` with rational-quadratic splines (8 bins on [-4, 4], identity tails)
as each layer's elementwise map; four layers from MADEs of 512 hidden units (a spline
takes 25 parameters a pixel, so the head is 12x MAF's per unit). Figures:
``benchmarks/results/flows.md``.
"""

from experiments.configs import maf_mnist


def get_config():
    config = maf_mnist.get_config()
    m = config.model
    m.transform = "spline"
    m.num_layers = 4
    m.mlp_hidden = (512,)
    m.num_bins = 8
    m.spline_bound = 4.0
    config.train.num_steps = 1000  # 4.6x MAF's step time
    return config
