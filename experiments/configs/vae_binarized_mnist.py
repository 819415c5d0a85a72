"""A VAE on statically binarized MNIST (Bernoulli decoder), the literature's setting.

One stochastic layer of 50 units, two deterministic tanh layers of 200 each side
(Burda et al. 2016's one-layer model: the VAE's 86.76 nats on the test split, their
Table 1). Trains on ``train`` and evaluates the IWAE bound on ``valid`` from the
``.amat`` files in ``--config.data.dir``;
``--config.model.iwae_samples=5000`` gives the literature's K.
"""

from experiments.configs.base import get_vae_config, use_binarized_mnist


def get_config():
    config = use_binarized_mnist(get_vae_config())
    config.data.batch_size = 100
    config.eval.batch_size = 100

    config.train.num_steps = 100_000
    config.train.log_every = 500
    config.train.checkpoint_every = 5000

    m = config.model
    m.latent_dim = 50
    m.hidden = (200, 200)
    m.decoder = "bernoulli"
    m.kl_warmup_steps = 0
    m.learning_rate = 1e-3
    m.iwae_samples = 5000
    m.iwae_chunk = 500
    return config
