"""NADE on binarized MNIST: 500 sigmoid hidden units shared by all 784 conditionals
(Larochelle & Murray 2011: 88.86 nats on test).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.
"""

from experiments.configs import nade_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(nade_digits.get_config(), num_steps=50_000)
    m = config.model
    m.hidden = 500
    m.learning_rate = 1e-3
    return config
