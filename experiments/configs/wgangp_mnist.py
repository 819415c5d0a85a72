"""WGAN-GP (``wgangp_digits.py``) on 28x28 MNIST, resized to 32x32 inside the recipe, at
``dcgan_mnist.py``'s widths (64 feature maps at the critic's first layer) and 100-d latent:
5 critic steps of 64 real images per generator step (a loop batch of 320), lambda = 10,
layer norm in the critic, Adam 1e-4 with betas (0.5, 0.9) as Gulrajani et al.

Reads MNIST IDX files from ``--config.data.dir`` (with only the 10,000 test images: the
first 9,000 train, the last 1,000 evaluate; see ``base.use_mnist_idx``).
"""

from experiments.configs.base import use_mnist_idx
from experiments.configs.wgangp_digits import get_config as get_wgangp_digits_config


def get_config():
    config = use_mnist_idx(get_wgangp_digits_config())
    config.train.num_steps = 5000
    config.model.width = 64
    config.model.latent_dim = 100
    return config
