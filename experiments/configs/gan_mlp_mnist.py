"""The MLP GAN (Goodfellow et al. 2014) on 28x28 MNIST.

Generator 100 -> 256 -> 512 -> 784 (LeakyReLU 0.2, tanh out), discriminator
784 -> 512 -> 256 -> 1 (LeakyReLU 0.2), the non-saturating loss, Adam 2e-4 with
beta1 0.5. MNIST IDX files from ``--config.data.dir`` as in ``dcgan_mnist.py``.
"""

from experiments.configs.base import get_gan_config, use_mnist_idx


def get_config():
    config = use_mnist_idx(get_gan_config())
    config.data.batch_size = 64
    config.eval.batch_size = 100

    config.train.num_steps = 10000
    config.train.log_every = 200
    config.train.checkpoint_every = 2000

    m = config.model
    m.network = "mlp"
    m.loss = "nonsaturating"
    m.latent_dim = 100
    m.g_hidden = (256, 512)
    m.d_hidden = (512, 256)
    return config
