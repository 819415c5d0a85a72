"""An autoregressive neural spline flow on scikit-learn's 8x8 digits (17 levels):
bits/dim with uniform dequantization, beside RealNVP and Glow.

The training set-up of ``glow_digits.py`` (logit pre-processing, alpha = 0.05; batches of
128; Adam 1e-3 with a 200-step warm-up) with the model of ``nsf_gaussians8.py`` on the
flattened 64 pixels: five layers of ActNorm and a masked autoregressive spline layer
(8 bins on [-4, 4], MADE of 2 x 256 ReLU units), the order reversed between layers.
Sampling takes 64 passes a layer.

Measured (``python -m benchmarks.flows --configs=nsf_digits``, one core while another run
used the other): 168 s, 2.031 bits/dim (90.09 nats) on test at step 1,000; the test NLL
was 87.69 at step 500 and rose after, so the model overfits the 1,500 digits by then
(RealNVP 1.989, Glow 2.052 in the same table).
"""

from experiments.configs import glow_digits, nsf_gaussians8


def get_config():
    config = glow_digits.get_config()
    config.train.num_steps = 1000
    nsf_gaussians8.spline_flow(config.model, hidden=(256, 256))
    return config
