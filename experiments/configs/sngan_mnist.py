"""SN-GAN (``sngan_digits.py``) on 28x28 MNIST, resized to 32x32 inside the recipe, with
``dcgan_mnist.py``'s data, widths (64 feature maps at the discriminator's first layer), 100-d
latent, batch 128 and length.

Reads MNIST IDX files from ``--config.data.dir`` (with only the 10,000 test images: the
first 9,000 train, the last 1,000 evaluate; see ``base.use_mnist_idx``).
"""

from experiments.configs.dcgan_mnist import get_config as get_dcgan_mnist_config
from experiments.configs.sngan_digits import as_sngan


def get_config():
    return as_sngan(get_dcgan_mnist_config())
