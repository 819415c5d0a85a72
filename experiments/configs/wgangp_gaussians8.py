"""WGAN-GP on the 8-gaussians ring: mode coverage against the known modes.

MLP generator and critic of 3 x 256 LeakyReLU units, an 8-d latent, Adam 1e-4
with betas (0.5, 0.9), 5 critic steps of 256 points per generator step and
lambda = 10 (Gulrajani et al. 2017). ``--mode=eval`` writes ``eval/ema/modes_covered``
(of 8) and ``eval/ema/high_quality_fraction`` over 10,000 samples, and the same of the raw
generator as ``eval/raw/...``; swap the loss with
``--config.model.loss=nonsaturating|minimax|lsgan|hinge`` (and ``--config.model.d_steps=1``).
"""

from experiments.configs.base import get_gan_config


def get_config():
    config = get_gan_config()
    config.data.name = "gaussians8"
    config.data.batch_size = 5 * 256  # one real minibatch of 256 per critic step
    config.eval.split = "test"
    config.eval.batch_size = 1000

    config.train.num_steps = 4000
    config.train.log_every = 200
    config.train.checkpoint_every = 1000
    config.train.num_samples = 2000

    m = config.model
    m.loss = "wgan_gp"
    m.network = "mlp"
    m.latent_dim = 8
    m.g_hidden = (256, 256, 256)
    m.d_hidden = (256, 256, 256)
    m.d_steps = 5
    m.g_learning_rate = 1e-4
    m.d_learning_rate = 1e-4
    m.beta1 = 0.5
    m.beta2 = 0.9
    m.gp_weight = 10.0
    return config
