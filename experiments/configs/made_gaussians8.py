"""MADE with a mixture of Gaussians a coordinate (RNADE's conditional, Uria et al. 2013;
"MADE MoG" in Papamakarios et al. 2017) on the ring of 8 Gaussians: an exact density,
scored against the entropy floor of 2.833 nats beside the flows.

p(x1) p(x2 | x1), each a mixture of 10 Gaussians whose weights, means and scales come
from a MADE of 2 x 128 ReLU units; Adam 1e-3, batches of 512, as ``realnvp_gaussians8.py``.
The run writes ``samples/density_<step>.png``: the learned density beside the true one.
``--config.model.architecture=nade`` gives RNADE itself. Figures:
``benchmarks/results/flows.md`` (``python -m benchmarks.flows --configs=made_gaussians8``).
"""

from experiments.configs import realnvp_gaussians8
from experiments.configs.base import get_autoregressive_config


def get_config(name: str = "gaussians8"):
    flow = realnvp_gaussians8.get_config(name)
    config = get_autoregressive_config()
    config.data = flow.data
    config.eval = flow.eval
    config.train = flow.train
    m = config.model
    m.architecture = "made"
    m.hidden = 128
    m.num_layers = 2
    m.conditional = "gaussian_mixture"
    m.num_components = 10
    m.learning_rate = 1e-3
    m.warmup_steps = 100
    m.grad_clip_norm = 50.0
    return config
