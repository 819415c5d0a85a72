"""A masked autoregressive flow (MAF; Papamakarios et al. 2017) on MNIST (256 levels):
bits/dim with uniform dequantization, beside Glow.

Five layers of ActNorm and a masked autoregressive affine layer from a MADE of one
hidden layer of 1,024 ReLU units on the flattened 784 pixels (the paper's MNIST MAF 5
has 1,024 units a layer), the order reversed between layers; RealNVP's logit
pre-processing (alpha = 0.05). MNIST comes from ``--config.data.dir`` as for
``glow_mnist.py`` (with only the 10,000 test images: train on 9,000, evaluate on 1,000).
Two departures from the paper, both needed for a finite loss here: ActNorm's std floored
at 0.5 and each layer's log-scales soft-clamped to (-1, 1). Sampling takes 784 passes a layer, so
it is slow: densities are the point of MAF.
Figures: ``benchmarks/results/flows.md``.
"""

from experiments.configs.base import get_flow_config, use_mnist_idx


def get_config():
    config = use_mnist_idx(get_flow_config())
    config.data.batch_size = 64
    config.eval.batch_size = 200

    config.train.num_steps = 3000
    config.train.log_every = 100
    config.train.checkpoint_every = 1000
    config.train.eval_every = 1000

    m = config.model
    m.architecture = "maf"
    m.transform = "affine"
    m.num_layers = 5
    m.mlp_hidden = (1024,)
    m.preprocessing = "logit"
    m.logit_alpha = 0.05
    # ActNorm is per pixel here: a border pixel constant in the initialising batch would
    # be scaled by ~50 and a later stroke there land ~300 std out; and MAF's unbounded
    # log-scales grow on such near-constant pixels. Without both, training was NaN by
    # step 100 at learning rates 1e-3, 1e-4 and 3e-5 (each with a 200-step warm-up). With
    # a bound of 3, batches still blew up (train bits/dim 45,957 at step 600); with 1,
    # 1,000 steps ran with no batch above 3.3 after step 250 (held-out 2.62 bits/dim).
    m.actnorm_min_std = 0.5
    m.affine_log_scale_bound = 1.0
    m.learning_rate = 1e-3
    m.warmup_steps = 200
    return config
