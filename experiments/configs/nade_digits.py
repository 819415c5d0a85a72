"""NADE on scikit-learn's 8x8 digits: one shared sigmoid hidden layer of 128 units, a
softmax over the 17 levels per pixel (Larochelle & Murray 2011); samples drawn with the
incremental hidden state. Exact test NLL in ``eval/nll_nats`` and ``eval/bpd``."""

from experiments.configs import fvsbn_digits


def get_config():
    config = fvsbn_digits.get_config()
    m = config.model
    m.architecture = "nade"
    m.hidden = 128
    m.learning_rate = 1e-3
    return config
