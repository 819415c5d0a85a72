"""Gated PixelCNN on scikit-learn's 8x8 digits: vertical and horizontal stacks (no blind
spot), 5 gated layers of 64 feature maps (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders"). Unconditional, so its NLL compares with the other
models'; ``--config.model.class_conditional=True`` conditions on the digit class
(samples then cycle through the classes)."""

from experiments.configs import pixelcnn_digits


def get_config():
    config = pixelcnn_digits.get_config()
    config.train.num_steps = 750
    m = config.model
    m.architecture = "gated_pixelcnn"
    m.num_layers = 5
    m.class_conditional = False
    return config
