"""Gated PixelCNN on binarized MNIST: 8 gated layers of 64 feature maps, vertical and
horizontal stacks (no blind spot). Unconditional: binarized MNIST has no labels.

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.
"""

from experiments.configs import gated_pixelcnn_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(gated_pixelcnn_digits.get_config(), num_steps=50_000)
    m = config.model
    m.hidden = 64
    m.num_layers = 8
    return config
