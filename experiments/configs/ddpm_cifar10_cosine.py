"""Improved DDPM on CIFAR-10 (Nichol & Dhariwal 2021): the cosine schedule over 4,000
steps and the hybrid loss, L_simple + 0.001 L_vlb with the variances learned (the paper
reaches 2.94 bits/dim on CIFAR-10 test).

The UNet of ``ddpm_cifar10.py`` with three residual blocks a resolution, attention at
16x16 and 8x8, dropout 0.3 and twice the output channels (the second half interpolates
the log-variance between beta_t and the posterior's; 49.1M parameters); Adam at 1e-4,
batches of 128 with random flips, EMA 0.9999, 500,000 steps.

    python -m experiments.main --config=experiments/configs/ddpm_cifar10_cosine.py \\
        --config.data.dir=DIR --workdir=runs/ddpm_cifar10_cosine

Speed: not yet measured on a GPU (``make gpu-check``; its time budget ran out before
this config on one H200). A CPU cannot train it.
"""

from experiments.configs import ddpm_cifar10


def get_config():
    config = ddpm_cifar10.get_config()
    config.train.num_steps = 500_000
    m = config.model
    m.num_timesteps = 4000
    m.schedule = "cosine"
    m.learned_variance = True
    m.hybrid_lambda = 0.001
    m.num_res_blocks = 3
    m.attention_resolutions = (16, 8)
    m.dropout = 0.3
    m.learning_rate = 1e-4
    m.warmup_steps = 0
    return config
