"""MADE on binarized MNIST: one masked hidden layer of 500 ReLUs, 32 connectivities in
raster order drawn one per step and ensembled at test time (Germain et al. 2015:
88.04 nats on test with 32 masks).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.
"""

from experiments.configs import made_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(made_digits.get_config(), num_steps=50_000)
    m = config.model
    m.hidden = 500
    m.num_layers = 1
    m.num_masks = 32
    m.order_agnostic = False
    return config
