"""RealNVP on CIFAR-10 (Dinh et al. 2017: 3.49 bits/dim on test).

The paper's CIFAR-10 model: two scales (one downscaling): 3 checkerboard couplings at
32x32x3, a squeeze, 3 channel couplings at 16x16x12, half factored out, then 4
checkerboard couplings at 16x16x6; conditioners of 64 channels with 8 residual blocks
(3.4M parameters);
the logit pre-processing (alpha = 0.05) with uniform dequantization, every Jacobian
counted in the bits/dim of the 8-bit images; random horizontal flips; Adam at 1e-3,
batches of 64.

    python -m experiments.main --config=experiments/configs/realnvp_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/realnvp_cifar10

Speed: 14.4 steps/s on one H200
(``python -m benchmarks.gpu_check``, random pixels, the training loop's own rate;
``benchmarks/results/gpu_check.md``). A CPU cannot train it.
"""

from experiments.configs import glow_cifar10


def get_config():
    config = glow_cifar10.get_config()
    config.data.random_flip = True
    m = config.model
    m.architecture = "realnvp"
    m.num_scales = 2
    m.steps_per_scale = 3
    m.hidden = 64
    m.num_blocks = 8
    m.learned_prior = False
    m.preprocessing = "logit"
    m.logit_alpha = 0.05
    m.warmup_steps = 0
    return config
