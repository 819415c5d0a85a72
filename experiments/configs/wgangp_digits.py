"""WGAN-GP (Gulrajani et al. 2017) on digits (32x32): the DCGAN networks with a critic
that uses layer norm instead of batch norm (the penalty is per example), 5 critic
steps of 64 real digits per generator step (so a loop batch of 320), lambda = 10,
Adam 1e-4 with betas (0.5, 0.9)."""

from experiments.configs.dcgan_digits import get_config as get_dcgan_config


def get_config():
    config = get_dcgan_config()
    config.data.batch_size = 5 * 64
    m = config.model
    m.loss = "wgan_gp"
    m.d_norm = "layer"
    m.d_steps = 5
    m.gp_weight = 10.0
    m.g_learning_rate = 1e-4
    m.d_learning_rate = 1e-4
    m.beta1 = 0.5
    m.beta2 = 0.9
    return config
