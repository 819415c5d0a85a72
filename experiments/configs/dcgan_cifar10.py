"""DCGAN on CIFAR-10 (Radford et al. 2016).

The networks of ``dcgan_digits.py`` at the paper's widths on 32x32 colour images:
generator 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x3 with batch norm and tanh;
discriminator 128 -> 256 -> 512 channels with LeakyReLU(0.2) and batch norm; weights
from N(0, 0.02) (generator 3.4M, discriminator 2.6M parameters); a 100-d latent; Adam at
2e-4 with beta1 0.5; batches of 128. The paper gives no sample score on CIFAR-10 (it
uses the data to test the discriminator's features); the evaluation here reports
gensys's sample scores.

    python -m experiments.main --config=experiments/configs/dcgan_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/dcgan_cifar10

Speed: 160.7 steps/s on one H200
(``python -m benchmarks.gpu_check``, random pixels, the training loop's own rate;
``benchmarks/results/gpu_check.md``): 100,000 steps in about 10 minutes.
"""

from experiments.configs.base import use_cifar10
from experiments.configs.dcgan_digits import get_config as get_dcgan_config


def get_config():
    config = use_cifar10(get_dcgan_config(), batch_size=128, num_steps=100_000)
    m = config.model
    m.image_size = None
    m.width = 128
    m.latent_dim = 100
    return config
