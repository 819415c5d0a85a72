"""MADE on scikit-learn's 8x8 digits: one masked hidden layer of 256 ReLUs, 8 mask sets
(the natural raster order and 7 random orderings, each with its own connectivity) drawn
one per training step and ensembled at test time (Germain et al. 2015, Sec. 4.2).
Samples use the first set (raster order). Exact test NLL in ``eval/nll_nats``."""

from experiments.configs import fvsbn_digits


def get_config():
    config = fvsbn_digits.get_config()
    m = config.model
    m.architecture = "made"
    m.hidden = 256
    m.num_layers = 1
    m.num_masks = 8
    m.order_agnostic = True
    m.learning_rate = 1e-3
    return config
