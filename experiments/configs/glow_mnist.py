"""Glow on MNIST (256 levels): bits/dim with uniform dequantization.

It reads MNIST's IDX files from ``--config.data.dir`` (with only the 10,000 test images:
train on the first 9,000, evaluate on the last 1,000; see ``base.use_mnist_idx``). Two
scales (28x28x1 -> 14x14x4 -> 7x7x8) of 8 steps each, conditioners of 128 channels.
The literature's MNIST figures (RealNVP 1.06, Glow 1.05 bits/dim) were trained on the
60,000 training images and evaluated on the test set, with far larger models.
"""

from experiments.configs.base import get_flow_config, use_mnist_idx


def get_config():
    config = use_mnist_idx(get_flow_config())
    config.data.batch_size = 64
    config.eval.batch_size = 200

    config.train.num_steps = 20000
    config.train.log_every = 200
    config.train.checkpoint_every = 1000

    m = config.model
    m.architecture = "glow"
    m.num_scales = 2
    m.steps_per_scale = 8
    m.hidden = 128
    m.num_blocks = 1
    m.learned_prior = True
    m.preprocessing = "shift"
    m.learning_rate = 1e-3
    m.warmup_steps = 500
    return config
