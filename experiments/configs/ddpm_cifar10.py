"""DDPM on CIFAR-10 at the size of Ho et al. 2020 (FID 3.17, at most 3.75 bits/dim on
test; their Table 1).

A UNet of 128 base channels, multipliers (1, 2, 2, 2), two residual blocks a resolution,
self-attention at 16x16 and dropout 0.1 (35.7M parameters); the linear schedule of
1,000 steps and the simple epsilon loss; Adam at 2e-4 after 5,000 warm-up steps, gradients
clipped at norm 1, EMA 0.9999; batches of 128 with random horizontal flips; 800,000 steps.

CIFAR-10's binary distribution in ``--config.data.dir``:

    python -m experiments.main --config=experiments/configs/ddpm_cifar10.py \\
        --config.data.dir=DIR --workdir=runs/ddpm_cifar10

Speed: 26.6 steps/s on one H200
(``python -m benchmarks.gpu_check``, random pixels, the training loop's own rate;
``benchmarks/results/gpu_check.md``): 800,000 steps in about 8.4 hours. The step
alone is 30.2 ms in bfloat16 (15 % of the chip's bfloat16 peak) and 44.3 ms in float32.
A CPU cannot train it.
"""

from experiments.configs.base import get_diffusion_config, use_cifar10


def get_config():
    config = use_cifar10(get_diffusion_config(), batch_size=128, num_steps=800_000)
    config.data.random_flip = True
    # The bits/dim bound costs 1,000 network passes a test image: only at the end.
    config.train.eval_every = 0

    m = config.model
    m.num_timesteps = 1000
    m.schedule = "linear"
    m.parameterization = "eps"
    m.channels = 128
    m.channel_mults = (1, 2, 2, 2)
    m.num_res_blocks = 2
    m.attention_resolutions = (16,)
    m.dropout = 0.1
    m.learning_rate = 2e-4
    m.warmup_steps = 5000
    m.grad_clip_norm = 1.0
    m.ema_decay = 0.9999
    m.eval_bpd = True

    s = config.sampler
    s.name = "ddpm"
    s.threshold = "clip"
    return config
