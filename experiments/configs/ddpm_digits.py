"""DDPM on scikit-learn's 8x8 digits: the default gensys experiment (minutes on 2 CPU cores)."""

from experiments.configs.base import get_diffusion_config


def get_config():
    config = get_diffusion_config()
    config.data.name = "digits"
    config.data.batch_size = 64
    config.eval.split = "test"

    config.train.num_steps = 3000
    config.train.log_every = 100
    config.train.checkpoint_every = 1000
    config.train.sample_every = 0
    config.train.num_samples = 64

    m = config.model
    m.num_timesteps = 1000
    m.schedule = "linear"
    m.channels = 32
    m.channel_mults = (1, 2)
    m.num_res_blocks = 1
    m.attention_resolutions = (4,)
    m.dropout = 0.0
    m.class_conditional = False
    m.learning_rate = 1e-3
    m.warmup_steps = 200
    m.grad_clip_norm = 1.0
    m.ema_decay = 0.999
    m.compute_dtype = "float32"

    # Ancestral sampling on all 1000 steps; any sampler from the command line, e.g.
    # --config.sampler.name=dpmpp_2m --config.sampler.num_steps=20
    s = config.sampler
    s.name = "ddpm"
    s.threshold = "clip"
    return config
