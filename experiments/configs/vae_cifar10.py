"""A convolutional VAE on CIFAR-10 with a discretized logistic decoder over the 256
levels (the decoder of Kingma et al. 2016 and Salimans et al. 2017).

Encoder: stride-2 3x3 convolutions of 64, 128 and 256 channels (32 -> 16 -> 8 -> 4), an
MLP head of 512 to a 128-d Gaussian posterior; the decoder mirrors it with 4x4
transposed convolutions and emits a mean and a log-scale a channel (5.4M parameters).
Adam at 1e-3, batches of 128. Its ``eval/bpd`` bounds the test NLL in bits/dim of the
8-bit images (the IWAE bound); for comparison, the hierarchical VAE with inverse
autoregressive flow of Kingma et al. 2016 reaches 3.11 bits/dim.

    python -m experiments.main --config=experiments/configs/vae_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/vae_cifar10

Speed: 192.2 steps/s on one H200
(``python -m benchmarks.gpu_check``, random pixels, the training loop's own rate;
``benchmarks/results/gpu_check.md``): 200,000 steps in about 17 minutes.
"""

from experiments.configs.base import get_vae_config, use_cifar10


def get_config():
    config = use_cifar10(get_vae_config(), batch_size=128, num_steps=200_000)

    m = config.model
    m.network = "conv"
    m.channels = (64, 128, 256)
    m.hidden = (512,)
    m.latent_dim = 128
    m.activation = "relu"
    m.decoder = "logistic"
    m.learning_rate = 1e-3
    m.iwae_samples = 100
    m.iwae_chunk = 10
    return config
