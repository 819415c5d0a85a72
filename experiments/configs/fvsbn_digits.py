"""FVSBN on scikit-learn's 8x8 digits: each pixel a softmax regression over its 17 levels
on the pixels before it in raster order (Frey 1998).

``eval/nll_nats`` and ``eval/bpd`` are the exact test NLL; compare with the digits
baselines (uniform 181.33 nats, independent pixels 106.33,
autoregressive logistic regression 90.76).

Step counts of the digits configs were chosen on a validation split (train on
``train[:1300]``, evaluate ``train[1300:]`` every 250 steps): FVSBN 91.02 nats at 3,000
steps and still falling slowly (91.64 at 2,000), NADE 90.01 and MADE 91.13 at 3,000 (both
still falling), PixelCNN lowest at 1,250 (82.00; 86.44 by 3,000 as it overfits), the
gated PixelCNN 79.14 at 750 (the last point measured), PixelRNN lowest at 1,500 (79.61),
the Transformer at 750 (92.13; 124.8 by 1,750).
"""

from experiments.configs.base import get_autoregressive_config


def get_config():
    config = get_autoregressive_config()
    config.data.name = "digits"
    config.data.batch_size = 128
    config.eval.split = "test"

    config.train.num_steps = 3000
    config.train.log_every = 100
    config.train.checkpoint_every = 500
    config.train.eval_every = 500

    m = config.model
    m.architecture = "fvsbn"
    m.learning_rate = 3e-3
    m.weight_decay = 0.0
    return config
