"""The GAN recipe's ``model`` section (:class:`GANConfig`) and its validation, each bad
field named: what :mod:`gensys.recipes.gan` builds its players and losses from."""

from __future__ import annotations

import dataclasses

from gensys.data.datasets import DatasetSpec
from gensys.gan.losses import LOSSES
from gensys.gan.noise import PRIORS
from gensys.nets.dcgan import NORMS, dcgan_stages
from gensys.nets.mlp import ACTIVATIONS

NETWORKS = ("mlp", "dcgan")


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """The ``model`` section of a GAN config."""

    loss: str = "nonsaturating"
    network: str = "dcgan"  # mlp or dcgan
    latent_dim: int = 100
    prior: str = "normal"  # the noise z: "normal" N(0, I), or "uniform" U(-1, 1)^d
    image_size: int | None = None  # resize the data (bilinear) to this square side
    width: int = 64  # dcgan: feature maps of the first discriminator / last generator layer
    g_hidden: tuple[int, ...] = (256, 256)  # mlp generator
    d_hidden: tuple[int, ...] = (256, 256)  # mlp discriminator
    activation: str = "leaky_relu"  # mlp: both players' hidden layers (leaky_relu, gelu, ...)
    g_batch_norm: bool = False  # mlp generator: batch norm before each hidden activation
    g_output: str = "tanh"  # mlp generator on images: tanh, or sigmoid pixels mapped to [-1, 1]
    g_l1_weight: float = 0.0  # generator: + weight * mean |fake - real| (pixels in [0, 1])
    g_first: bool = False  # update the generator before the discriminator in each step
    d_norm: str = "batch"  # dcgan discriminator: batch, layer, instance or none
    d_spectral_norm: bool = False  # spectral normalisation of every discriminator layer
    class_conditional: bool = False
    conditioning: str = "projection"  # discriminator: concat or projection
    d_steps: int = 1
    optimizer: str = "adam"  # or "sgd" (with momentum, as Goodfellow et al. 2014)
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    beta1: float = 0.5  # adam
    beta2: float = 0.999  # adam
    momentum: float = 0.5  # sgd
    gp_weight: float = 10.0  # wgan_gp's lambda
    r1_weight: float = 0.0  # R1's gamma (0: off): gamma / 2 ||grad D||^2 at the reals
    r2_weight: float = 0.0  # R2's gamma (0: off): the same at the fakes
    penalty_every: int = 1  # R1 / R2 lazily: every k discriminator updates, times k
    clip_value: float = 0.01  # wgan's weight clipping
    # The penalties' critic (wgan_gp, r1, r2) on DCGAN players: "patches" computes its
    # convolutions as patches times kernels (gensys.nets.patch_conv), whose double backward
    # pass is several times faster on XLA:CPU; "xla" XLA's own; "auto": patches on CPU.
    penalty_convolutions: str = "auto"
    ema_decay: float = 0.999
    dominance_threshold: float = 0.95
    dominance_patience: int = 10  # log intervals


def check_gan_config(config: GANConfig, spec: DatasetSpec) -> None:
    if config.loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {config.loss!r}")
    if config.network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {config.network!r}")
    if config.prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {config.prior!r}")
    if config.d_norm not in NORMS:
        raise ValueError(f"d_norm must be one of {NORMS}, got {config.d_norm!r}")
    if config.d_steps < 1:
        raise ValueError(f"d_steps must be >= 1, got {config.d_steps}")
    mlp_only = {"activation": "leaky_relu", "g_batch_norm": False, "g_output": "tanh"}
    if config.network != "mlp":
        changed = [k for k, v in mlp_only.items() if getattr(config, k) != v]
        if changed:
            raise ValueError(f"{', '.join(changed)} apply to network='mlp' only")
    if config.activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {config.activation!r}"
        )
    if config.g_output not in ("tanh", "sigmoid"):
        raise ValueError(f"g_output must be 'tanh' or 'sigmoid', got {config.g_output!r}")
    if config.g_l1_weight < 0:
        raise ValueError(f"g_l1_weight must be >= 0, got {config.g_l1_weight}")
    if config.g_l1_weight > 0 and spec.num_levels == 0:
        raise ValueError("g_l1_weight needs images (pixels in [0, 1]), not 2-D points")
    if config.penalty_convolutions not in ("auto", "xla", "patches"):
        raise ValueError(
            f"penalty_convolutions must be 'auto', 'xla' or 'patches', got "
            f"{config.penalty_convolutions!r}"
        )
    if config.penalty_every < 1:
        raise ValueError(f"penalty_every must be >= 1, got {config.penalty_every}")
    if config.r1_weight < 0 or config.r2_weight < 0:
        raise ValueError(
            f"r1_weight and r2_weight must be >= 0, got {config.r1_weight}, {config.r2_weight}"
        )
    penalized = config.loss == "wgan_gp" or config.r1_weight > 0 or config.r2_weight > 0
    if penalized and config.network == "dcgan" and config.d_norm == "batch":
        raise ValueError(
            "a gradient penalty is taken per example, which batch norm in the discriminator "
            "breaks: set d_norm='layer' or 'none'"
        )
    if config.class_conditional and spec.num_classes is None:
        raise ValueError("class_conditional=True needs a labelled dataset")
    if spec.num_levels == 0 and (config.network != "mlp" or config.image_size):
        raise ValueError("2-D toy data need network='mlp' and no image_size")
    if config.network == "dcgan":
        size = config.image_size or spec.image_shape[0]
        if config.image_size is None and spec.image_shape[0] != spec.image_shape[1]:
            raise ValueError(f"DCGAN needs square images, got {spec.image_shape}")
        dcgan_stages(size)
