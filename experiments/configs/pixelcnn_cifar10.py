"""PixelCNN on CIFAR-10, 256 levels a channel (van den Oord et al. 2016a, "Pixel
Recurrent Neural Networks": 3.14 bits/dim on test).

A masked 7x7 type-A convolution, 15 residual blocks with masked 3x3 type-B convolutions,
384 feature maps (128 a colour group: R, G and B are modelled in turn within each pixel
by the channel-group masks of their Sec. 3.4), two 1x1 layers to a 256-way softmax a
channel (7.7M parameters). Adam at 1e-3,
batches of 16; the exact NLL in bits/dim of the 8-bit test images.

    python -m experiments.main --config=experiments/configs/pixelcnn_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/pixelcnn_cifar10

Speed: 62.0 steps/s on one H200
(``python -m benchmarks.gpu_check``, random pixels, the training loop's own rate;
``benchmarks/results/gpu_check.md``): 500,000 steps in about 2.2 hours. A CPU cannot train it.
"""

from experiments.configs import pixelcnn_digits
from experiments.configs.base import use_cifar10


def get_config():
    config = use_cifar10(pixelcnn_digits.get_config(), batch_size=16, num_steps=500_000)
    config.train.num_samples = 16
    m = config.model
    m.hidden = 384
    m.num_layers = 15
    m.learning_rate = 1e-3
    return config
