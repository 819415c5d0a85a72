"""FVSBN on binarized MNIST: a logistic regression of each of the 784 pixels on the
pixels before it in raster order (Frey 1998; 97.45 nats on test in Larochelle & Murray
2011, Table 2).

Statically binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains on
``train`` (50,000 images) in batches of 100 with Adam at 3e-3 decayed by a cosine over the
run, evaluates the exact NLL on ``valid`` every 2,000 steps, keeps the best checkpoint and
stops after 4 evaluations without improvement.

Measured (``python -m benchmarks.binarized_mnist --models=fvsbn``, the process pinned to
one core of a 2-core CPU while other runs used the other): 9 min; the best valid NLL,
99.21 nats, came at step 8,000 and the run stopped at 16,000 as it overfitted (train NLL
97.8 at step 8,000, 97.1 at 16,000). Figures: ``benchmarks/results/binarized_mnist.md``.
"""

from experiments.configs import fvsbn_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(fvsbn_digits.get_config(), num_steps=30_000)
    config.train.eval_every = 2000
    m = config.model
    m.learning_rate = 3e-3
    m.decay_steps = config.train.num_steps
    return config
