"""FVSBN on binarized MNIST: a logistic regression of each of the 784 pixels on the
pixels before it (Frey 1998; 96.58 nats in the literature, on a dynamic binarization).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.
"""

from experiments.configs import fvsbn_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(fvsbn_digits.get_config(), num_steps=20_000)
    m = config.model
    m.learning_rate = 3e-3
    return config
