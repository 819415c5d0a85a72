"""An MLP GAN on 28x28 MNIST with batch norm and GELU, as courses teach it today.

Generator 100 -> 128 -> 256 -> 512 -> 1024 -> 784 with batch norm and GELU in every hidden
layer and a sigmoid output (pixel intensities in [0, 1]; gensys maps them to [-1, 1]);
discriminator 784 -> 512 -> 256 -> 128 -> 64 -> 32 -> 1 with GELU; the non-saturating
loss plus 0.05 times the L1 distance of the fakes to the step's real images (pixels in
[0, 1]); the generator updated before the discriminator in each step; Adam 2e-4 with
beta1 0.5, batch 64. ``gan_mlp_mnist.py`` is Goodfellow et al.'s smaller LeakyReLU
version. MNIST IDX files from ``--config.data.dir`` as in ``dcgan_mnist.py``.
"""

from experiments.configs.gan_mlp_mnist import get_config as get_mlp_gan_config


def get_config():
    config = get_mlp_gan_config()
    m = config.model
    m.g_hidden = (128, 256, 512, 1024)
    m.d_hidden = (512, 256, 128, 64, 32)
    m.activation = "gelu"
    m.g_batch_norm = True
    m.g_output = "sigmoid"
    m.g_l1_weight = 0.05
    m.g_first = True
    return config
