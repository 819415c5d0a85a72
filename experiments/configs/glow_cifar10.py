"""Glow on CIFAR-10 (Kingma & Dhariwal 2018: 3.35 bits/dim on test with affine
couplings and 1x1 invertible convolutions).

The paper's CIFAR-10 model: L = 3 scales of K = 32 steps (actnorm, 1x1 invertible
convolution, affine coupling; ``--config.model.additive=True`` for the additive ones),
conditioners of 512 channels (a 3x3 convolution and a zero-initialised 3x3 one: the
paper's conditioner has a 1x1 layer of 512 between them, which gensys's residual block
would replace by a 3x3 and a 1x1, 2.6M parameters a step more), a learned prior for the
factored-out halves (50.6M parameters); the data
shifted to [-1/2, 1/2] with uniform dequantization, every Jacobian counted in the bits/dim
of the 8-bit images; Adam at 1e-3 after a warm-up, batches of 64.

    python -m experiments.main --config=experiments/configs/glow_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/glow_cifar10

Speed: not yet measured on a GPU (``make gpu-check``; its time budget ran out before
this config on one H200). A CPU cannot train it.
"""

from experiments.configs.base import get_flow_config, use_cifar10


def get_config():
    config = use_cifar10(get_flow_config(), batch_size=64, num_steps=500_000)

    m = config.model
    m.architecture = "glow"
    m.num_scales = 3
    m.steps_per_scale = 32
    m.hidden = 512
    m.num_blocks = 0
    m.additive = False
    m.learned_prior = True
    m.preprocessing = "shift"
    m.learning_rate = 1e-3
    m.warmup_steps = 5000
    return config
