"""MADE on binarized MNIST: one masked hidden layer of 500 ReLUs and the direct
input-to-output connection of the paper's code, in raster order (Germain et al. 2015,
Table 6: 88.40 nats on test with 1 mask, 88.04 with 32 masks ensembled;
``--config.model.num_masks=32`` trains and ensembles 32 connectivities).

Without the direct connection MADE trails FVSBN (see :mod:`gensys.nets.made`). Statically
binarized MNIST from the ``.amat`` files in ``--config.data.dir``: trains on ``train``
(50,000 images) in batches of 100 with Adam at 1e-3 decayed by a cosine over 30,000 steps
and an L2 penalty of 1e-6 on the weights (in the loss's nats per pixel: a Gaussian prior
of standard deviation 0.16), evaluates the exact NLL on ``valid`` every 2,000 steps, keeps
the best checkpoint and stops after 4 evaluations without improvement.

Measured (``python -m benchmarks.binarized_mnist --models=made``, pinned to one core of a
2-core CPU while other runs used the other): 22 min, best valid NLL 91.40 nats at step
22,000 (train 87.0). Without the penalty the run overfitted after 8,000 steps (best
91.93, train 87.7); a penalty of 3e-7 gave 91.66, AdamW's decoupled decay 0.1 gave 91.29,
and the paper's Adagrad at 0.01 (no clipping, no decay) 92.80 after 46,000 steps, still
falling by 0.05 every 2,000. Figures: ``benchmarks/results/binarized_mnist.md``.
"""

from experiments.configs import made_digits
from experiments.configs.base import autoregressive_on_binarized_mnist


def get_config():
    config = autoregressive_on_binarized_mnist(made_digits.get_config(), num_steps=30_000)
    config.train.eval_every = 2000
    m = config.model
    m.hidden = 500
    m.num_layers = 1
    m.num_masks = 1
    m.order_agnostic = False
    m.direct_connection = True
    m.learning_rate = 1e-3
    m.decay_steps = config.train.num_steps
    m.l2 = 1e-6
    return config
