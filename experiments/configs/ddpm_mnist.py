"""DDPM on 28x28 MNIST.

It reads MNIST IDX files from ``--config.data.dir`` (with only the 10,000 test
images, the first 9,000 train and the last 1,000 evaluate). With the full MNIST files
(train-images-idx3-ubyte ...) set ``--config.data.split=train`` and
``--config.eval.split=test``; with a prepared TFDS catalogue copy, set
``--config.data.name=mnist``.

The model is sized for a GPU. On a 2-core CPU (no GPU) a batch-128 step took
14.8 s (0.068 steps/s, measured over 30 steps with
``--config.train.num_steps=30``), so the 20,000 steps would take days there;
use ``ddpm_digits.py`` on a CPU.
"""

from experiments.configs.base import get_diffusion_config, use_mnist_idx


def get_config():
    config = use_mnist_idx(get_diffusion_config())
    config.data.batch_size = 128

    config.train.num_steps = 20000
    config.train.log_every = 100
    config.train.checkpoint_every = 2000
    config.train.sample_every = 5000
    config.train.num_samples = 64

    m = config.model
    m.num_timesteps = 1000
    m.schedule = "linear"
    m.channels = 64
    m.channel_mults = (1, 2, 2)
    m.num_res_blocks = 2
    m.attention_resolutions = (7,)
    m.dropout = 0.1
    m.class_conditional = False
    m.learning_rate = 2e-4
    m.warmup_steps = 1000
    m.grad_clip_norm = 1.0
    m.ema_decay = 0.9995
    m.compute_dtype = "float32"

    # Ancestral sampling on all 1000 steps; any sampler from the command line, e.g.
    # --config.sampler.name=dpmpp_2m --config.sampler.num_steps=20
    s = config.sampler
    s.name = "ddpm"
    s.threshold = "clip"
    return config
