"""PixelCNN on binarized MNIST: a masked 7x7 type-A convolution and 7 residual blocks
of 64 feature maps (van den Oord et al. 2016: 81.30 nats on test).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains
on ``train`` (50,000 images), evaluates the exact NLL
on ``valid`` (the literature's figures are on ``test``). Batches of 100.

Measured (``python -m benchmarks.binarized_mnist --models=pixelcnn``, which trains for one
hour, pinned to one core of a 2-core CPU while other work used the other): 2,087 steps
(0.7 a second), valid NLL 91.95 nats, still falling. The paper's figure needs far longer
training, on a GPU. Figures: ``benchmarks/results/binarized_mnist.md``.
"""

from experiments.configs import pixelcnn_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(pixelcnn_digits.get_config(), num_steps=50_000)
    m = config.model
    m.hidden = 64
    m.num_layers = 7
    return config
