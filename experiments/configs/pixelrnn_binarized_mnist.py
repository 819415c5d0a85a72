"""PixelRNN on binarized MNIST: a masked 7x7 type-A convolution and 2 Row LSTM layers of
64 units (van den Oord et al. 2016; their 79.20 nats on test is a 7-layer Diagonal BiLSTM).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.
"""

from experiments.configs import pixelrnn_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(pixelrnn_digits.get_config(), num_steps=50_000)
    m = config.model
    m.hidden = 64
    m.num_layers = 2
    return config
