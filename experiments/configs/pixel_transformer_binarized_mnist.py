"""A pixel Transformer on binarized MNIST: 784 tokens in raster order, 2 pre-norm blocks
of width 64 with 4 causal attention heads over the whole image.

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.
"""

from experiments.configs import pixel_transformer_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(
        pixel_transformer_digits.get_config(), num_steps=50_000
    )
    m = config.model
    m.hidden = 64
    m.num_layers = 2
    m.num_heads = 4
    return config
