"""A VAE on statically binarized MNIST (Bernoulli decoder), the literature's setting.

One stochastic layer of 50 units and two deterministic tanh layers of 200 on each side
(Burda et al. 2016's one-layer model: the VAE's 86.76 nats on test, their Table 1, after
3,280 epochs). Trains on ``train`` (50,000 images) in batches of 100 with Adam at 1e-3
decayed by a cosine over the run; every 5,000 steps evaluates the IWAE bound with
K = 100 on ``valid``, keeps the best checkpoint by it and stops after 4 evaluations
without improvement. ``--config.model.iwae_samples=5000`` gives the literature's K (the
benchmark evaluates the best checkpoint so). Wall time and figures:
``benchmarks/results/binarized_mnist.md``.
"""

from experiments.configs.base import get_vae_config, use_binarized_mnist


def get_config():
    config = use_binarized_mnist(get_vae_config())
    config.data.batch_size = 100
    config.eval.batch_size = 100

    config.train.num_steps = 150_000
    config.train.log_every = 500
    config.train.checkpoint_every = 5000
    config.train.eval_every = 5000
    config.train.best_metric = "eval/nll_nats"
    config.train.patience = 4

    m = config.model
    m.latent_dim = 50
    m.hidden = (200, 200)
    m.decoder = "bernoulli"
    m.kl_warmup_steps = 0
    m.learning_rate = 1e-3
    m.decay_steps = config.train.num_steps
    m.iwae_samples = 100
    m.iwae_chunk = 100
    return config
