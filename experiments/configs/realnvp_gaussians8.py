"""RealNVP on the ring of 8 Gaussians: exact test NLL against the entropy floor.

Eight affine couplings with alternating halves, each after an ActNorm, with MLP
conditioners of 2 x 128 ReLU units (Dinh et al. 2017 on vectors). ``--mode=eval`` writes
``eval/nll_nats`` on the 10,000 test points; the floor is the density's entropy, 2.833
nats (``gensys.data.toy2d.ENTROPIES``). The run also writes ``samples/density_<step>.png``:
the learned density beside the true one.
"""

from experiments.configs.base import get_flow_config


def get_config(name: str = "gaussians8"):
    config = get_flow_config()
    config.data.name = name
    config.data.batch_size = 512
    config.eval.split = "test"
    config.eval.batch_size = 1000

    config.train.num_steps = 5000
    config.train.log_every = 250
    config.train.checkpoint_every = 1000
    config.train.num_samples = 10000

    m = config.model
    m.architecture = "realnvp"
    m.num_layers = 8
    m.mlp_hidden = (128, 128)
    m.learning_rate = 1e-3
    m.warmup_steps = 100
    return config
