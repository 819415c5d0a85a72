"""Gated PixelCNN on CIFAR-10, 256 levels a channel (van den Oord et al. 2016b,
"Conditional Image Generation with PixelCNN Decoders": 3.03 bits/dim on test).

15 gated layers of 384 feature maps (128 a colour group) with the vertical and
horizontal stacks, a 7x7 first layer and 3x3 after it, channel-group masks on the
horizontal stack (R, G, B in turn within each pixel), two 1x1 layers to a 256-way
softmax a channel (44.6M parameters); Adam at 1e-3, batches of 16; the exact NLL in
bits/dim of the 8-bit test images.

    python -m experiments.main --config=experiments/configs/gated_pixelcnn_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/gated_pixelcnn_cifar10

Speed: not yet measured on a GPU (``make gpu-check``; its time budget ran out before
this config on one H200). A CPU cannot train it.
"""

from experiments.configs import pixelcnn_cifar10


def get_config():
    config = pixelcnn_cifar10.get_config()
    m = config.model
    m.architecture = "gated_pixelcnn"
    m.hidden = 384
    m.num_layers = 15
    return config
