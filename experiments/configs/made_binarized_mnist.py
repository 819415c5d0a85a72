"""MADE on binarized MNIST at the paper's size: one masked hidden layer of 8,000 ReLUs (the
width in the MNIST command of the paper's code) and its direct input-to-output
connection, in raster order (Germain et al. 2015, Table 6: 88.40 nats on test with 1
mask, 88.04 with 32 masks ensembled; ``--config.model.num_masks=32`` trains and
ensembles 32 connectivities).

Without the direct connection MADE trails FVSBN (see :mod:`gensys.nets.made`). Statically
binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains on ``train``
(50,000 images) in batches of 100 with Adam at 1e-3 decayed by a cosine over 8,000 steps
and an L2 penalty of 1e-6 on the weights (in the loss's nats per pixel: a Gaussian prior
of standard deviation 0.16), evaluates the exact NLL on ``valid`` every 1,000 steps, keeps
the best checkpoint and stops after 4 evaluations without improvement.

Measured (``python -m benchmarks.binarized_mnist --models=made``, pinned to one core of a
2-core CPU while other runs used the other): 60 min (2.2 steps/s), best valid NLL 88.42
nats at step 5,000 (train about 80), 88.55 by step 8,000 as it overfits. The width is
what mattered: with 500 units the same recipe reached 91.40 after 30,000 steps (train
87.0), and no penalty, AdamW's decoupled decay or the paper's Adagrad closed that gap.
Figures: ``benchmarks/results/binarized_mnist.md``.
"""

from experiments.configs import made_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(made_digits.get_config(), num_steps=8000)
    config.train.eval_every = 1000
    config.train.checkpoint_every = 1000
    config.train.sample_every = 0
    m = config.model
    m.hidden = 8000
    m.num_layers = 1
    m.num_masks = 1
    m.order_agnostic = False
    m.direct_connection = True
    m.learning_rate = 1e-3
    m.decay_steps = config.train.num_steps
    m.l2 = 1e-6
    return config
