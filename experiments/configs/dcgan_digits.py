"""DCGAN (Radford et al. 2016) on scikit-learn's digits, upsampled to 32x32.

The 8x8 digits are resized bilinearly to 32x32 inside the recipe
(``image_size``), the smallest side the three-stage DCGAN networks take.
Generator 4x4x128 -> 8x8x64 -> 16x16x32 -> 32x32x1 with batch norm and tanh;
discriminator 32 -> 64 -> 128 channels with LeakyReLU(0.2) and batch norm;
weights from N(0, 0.02); Adam 2e-4, beta1 0.5; the non-saturating loss.
"""

from experiments.configs.base import get_gan_config


def get_config():
    config = get_gan_config()
    config.data.name = "digits"
    config.data.batch_size = 64
    config.eval.split = "test"
    config.eval.batch_size = 100

    config.train.num_steps = 3000
    config.train.log_every = 100
    config.train.checkpoint_every = 1000

    m = config.model
    m.network = "dcgan"
    m.loss = "nonsaturating"
    m.image_size = 32
    m.width = 32
    m.latent_dim = 64
    m.g_learning_rate = 2e-4
    m.d_learning_rate = 2e-4
    m.beta1 = 0.5
    return config
