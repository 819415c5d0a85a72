"""DCGAN on 28x28 MNIST, resized to 32x32 inside the recipe.

Reads MNIST IDX files from ``--config.data.dir`` (with only the 10,000 test
images: the first 9,000 train, the last 1,000 evaluate; see
``base.use_mnist_idx``). The networks of ``dcgan_digits.py`` at Radford et
al.'s widths (64 feature maps at the discriminator's first layer), a 100-d
latent, batch 128, Adam 2e-4 with beta1 0.5.
"""

from experiments.configs.base import use_mnist_idx
from experiments.configs.dcgan_digits import get_config as get_dcgan_config


def get_config():
    config = use_mnist_idx(get_dcgan_config())
    config.data.batch_size = 128
    config.train.num_steps = 5000
    config.model.width = 64
    config.model.latent_dim = 100
    return config
