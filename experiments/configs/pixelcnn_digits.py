"""PixelCNN on scikit-learn's 8x8 digits: a masked 7x7 type-A convolution, 4 residual
blocks with masked 3x3 type-B convolutions, 64 feature maps, a softmax over the 17
levels (van den Oord et al. 2016). Exact test NLL in ``eval/nll_nats`` and ``eval/bpd``;
``samples/completions_<step>.png`` completes the bottom halves of test digits."""

from experiments.configs import fvsbn_digits


def get_config():
    config = fvsbn_digits.get_config()
    config.train.num_steps = 1250
    m = config.model
    m.architecture = "pixelcnn"
    m.hidden = 64
    m.num_layers = 4
    m.kernel_size = 3
    m.first_kernel_size = 7
    m.learning_rate = 1e-3
    return config
