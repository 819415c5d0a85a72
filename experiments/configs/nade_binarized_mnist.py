"""NADE on binarized MNIST: 500 sigmoid hidden units shared by all 784 conditionals in
raster order (Larochelle & Murray 2011: 88.86 nats on test, Table 2).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains on
``train`` (50,000 images) in batches of 100 with Adam at 2e-3 decayed by a cosine over the
run (the paper used SGD for far longer), evaluates the exact NLL on ``valid`` every 1,000
steps, keeps the best checkpoint and stops after 4 evaluations without improvement.

Measured (``python -m benchmarks.binarized_mnist --models=nade
--override=train.max_seconds=3600.0``, pinned to one core of a 2-core CPU while other runs
used the other): the hour ended at step 7,756 of 10,000 (2.3 steps a second) with valid NLL
88.22 nats, still falling (88.39 at step 6,000, 88.27 at 7,000). Figures:
``benchmarks/results/binarized_mnist.md``.
"""

from experiments.configs import nade_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(nade_digits.get_config(), num_steps=10_000)
    config.train.eval_every = 1000
    config.train.checkpoint_every = 1000
    m = config.model
    m.hidden = 500
    m.learning_rate = 2e-3
    m.decay_steps = config.train.num_steps
    return config
