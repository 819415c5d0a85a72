"""Defaults shared by every experiment config; each config imports this and overrides fields."""

import dataclasses
import typing

import ml_collections


def config_dict_of(instance) -> ml_collections.ConfigDict:
    """A ConfigDict with every field of a typed config dataclass at its default.

    Fields that default to ``None`` become typed placeholders, so they can still be
    set from the command line (``--config.sampler.num_steps=50``).
    """
    hints = typing.get_type_hints(type(instance))
    values = {}
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if value is None:
            options = [a for a in typing.get_args(hints[field.name]) if a is not type(None)]
            value = ml_collections.config_dict.placeholder(options[0] if options else object)
        values[field.name] = value
    return ml_collections.ConfigDict(values)


def get_base_config() -> ml_collections.ConfigDict:
    """Every engine field (``data``, ``train``, ``eval``) at its dataclass default
    (:mod:`gensys.train.config` is the one source of defaults), and empty ``model`` and
    ``sampler`` sections for a family to fill."""
    from gensys.train.config import DataConfig, EvalConfig, ExperimentConfig, TrainConfig

    config = ml_collections.ConfigDict()
    config.family = ExperimentConfig().family
    config.data = config_dict_of(DataConfig())
    config.train = config_dict_of(TrainConfig())
    config.eval = config_dict_of(EvalConfig())
    config.model = ml_collections.ConfigDict()
    config.sampler = ml_collections.ConfigDict()
    return config


def use_mnist_idx(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """MNIST from its IDX files in the directory given by ``--config.data.dir`` (required).

    With only the 10,000 test images (``t10k-*``), the first 9,000 train and the last 1,000
    evaluate, as set here; with the full files, also pass ``--config.data.split=train`` and
    ``--config.eval.split=test``; with a prepared TFDS copy, ``--config.data.name=mnist``."""
    config.data.name = "mnist_idx"
    config.data.split = "test[:9000]"
    config.eval.split = "test[9000:]"
    return config


def use_binarized_mnist(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Statically binarized MNIST (Larochelle & Murray 2011) from the ``.amat`` files in the
    directory given by ``--config.data.dir`` (required): train on ``train``, evaluate on
    ``valid`` (the literature reports ``test``: with its file in that directory, pass
    ``--config.eval.split=test``)."""
    config.data.name = "binarized_mnist"
    config.data.split = "train"
    config.eval.split = "valid"
    return config


def use_cifar10(
    config: ml_collections.ConfigDict, batch_size: int, num_steps: int
) -> ml_collections.ConfigDict:
    """CIFAR-10 from its binary distribution in the directory given by
    ``--config.data.dir`` (``cifar-10-binary.tar.gz`` or the extracted batches): train on
    the 50,000 training images in batches of ``batch_size`` for ``num_steps`` steps,
    evaluate on the 10,000 test images as the papers do; a log every 1,000 steps, a
    checkpoint every 10,000, samples and an evaluation every tenth of the run."""
    config.data.name = "cifar10_binary"
    config.data.split = "train"
    config.data.batch_size = batch_size
    config.eval.split = "test"
    config.eval.batch_size = 256
    config.train.update(
        num_steps=num_steps,
        log_every=1000,
        checkpoint_every=10_000,
        sample_every=num_steps // 10,
        eval_every=num_steps // 10,
    )
    return config


def get_diffusion_config() -> ml_collections.ConfigDict:
    """The base config with every diffusion model and sampler field at its default."""
    from gensys.recipes.diffusion import DDPMConfig, SamplerConfig

    config = get_base_config()
    config.family = "ddpm"
    config.model = config_dict_of(DDPMConfig())
    config.sampler = config_dict_of(SamplerConfig())
    return config


def get_edm_config() -> ml_collections.ConfigDict:
    """The base config with every EDM model and sampler field at its default."""
    from gensys.recipes.edm import EDMConfig, EDMSamplerConfig

    config = get_base_config()
    config.family = "edm"
    config.model = config_dict_of(EDMConfig())
    config.sampler = config_dict_of(EDMSamplerConfig())
    return config


def get_flow_matching_config() -> ml_collections.ConfigDict:
    """The base config with every flow-matching model and sampler field at its default."""
    from gensys.recipes.flow_matching import FlowMatchingConfig, FlowSamplerConfig

    config = get_base_config()
    config.family = "flow_matching"
    config.model = config_dict_of(FlowMatchingConfig())
    config.sampler = config_dict_of(FlowSamplerConfig())
    return config


def get_vae_config() -> ml_collections.ConfigDict:
    """The base config with every VAE / autoencoder model field at its default."""
    from gensys.recipes.vae import VAEConfig

    config = get_base_config()
    config.family = "vae"
    config.model = config_dict_of(VAEConfig())
    return config


def get_gan_config() -> ml_collections.ConfigDict:
    """The base config with every GAN model field at its default."""
    from gensys.recipes.gan import GANConfig

    config = get_base_config()
    config.family = "gan"
    config.model = config_dict_of(GANConfig())
    return config


def get_pix2pix_config() -> ml_collections.ConfigDict:
    """The base config with every pix2pix model field at its default."""
    from gensys.recipes.pix2pix import Pix2PixConfig

    config = get_base_config()
    config.family = "pix2pix"
    config.model = config_dict_of(Pix2PixConfig())
    return config


def pix2pix_on_digits(task: str) -> ml_collections.ConfigDict:
    """pix2pix for ``task`` on the digits resized to 16x16 (the ``pix2pix_*_digits`` configs).

    U-Net translator 16 -> 8 -> 4 -> 2 -> 1 (32, 64, 128, 128 features) with skips and
    dropout 0.5 on the first two decoder layers; PatchGAN discriminator on (input, image)
    pairs with 4x4 patch logits; non-saturating loss plus 100 x L1; Adam 2e-4, beta1 0.5;
    2,000 steps at batch 64.
    """
    config = get_pix2pix_config()
    config.data.name = "digits"
    config.data.batch_size = 64
    config.eval.split = "test"
    config.eval.batch_size = 100
    config.train.update(num_steps=2000, log_every=100, checkpoint_every=1000, num_samples=64)
    config.model.update(
        task=task, image_size=16, l1_weight=100.0, g_width=32, g_max_width=128, d_widths=(32, 64)
    )
    return config


def text_conditioned_on_digits(family: str) -> ml_collections.ConfigDict:
    """``text2image`` or ``stackgan`` on the digits at 16x16 with captions from labels and
    measured attributes (``gensys.data.captions``): every model field at its default
    (DCGAN-style networks of width 32, GRU text encoder to 64 dimensions, non-saturating
    loss, Adam 2e-4 with beta1 0.5); 3,000 steps at batch 64."""
    from gensys.recipes.stackgan import StackGANConfig
    from gensys.recipes.text2image import TextToImageConfig

    model = {"text2image": TextToImageConfig, "stackgan": StackGANConfig}[family]()
    config = get_base_config()
    config.family = family
    config.model = config_dict_of(model)
    config.data.name = "digits"
    config.data.batch_size = 64
    config.eval.split = "test"
    config.eval.batch_size = 100
    config.train.update(num_steps=3000, log_every=100, checkpoint_every=1000, num_samples=64)
    return config


def get_flow_config() -> ml_collections.ConfigDict:
    """The base config with every normalizing-flow model field at its default."""
    from gensys.recipes.flow import FlowConfig

    config = get_base_config()
    config.family = "flow"
    config.model = config_dict_of(FlowConfig())
    return config


def get_autoregressive_config() -> ml_collections.ConfigDict:
    """The base config with every autoregressive model field at its default."""
    from gensys.recipes.autoregressive import AutoregressiveConfig

    config = get_base_config()
    config.family = "autoregressive"
    config.model = config_dict_of(AutoregressiveConfig())
    return config


def autoregressive_on_binarized_mnist(
    config: ml_collections.ConfigDict, num_steps: int
) -> ml_collections.ConfigDict:
    """A digits autoregressive config moved to binarized MNIST (:func:`use_binarized_mnist`)
    with batches of 100, evaluation in batches of 500, and a log, checkpoint, evaluation
    and 16-sample grid on the scale of ``num_steps``."""
    config = use_binarized_mnist(config)
    config.data.batch_size = 100
    config.eval.batch_size = 500
    config.train.num_steps = num_steps
    config.train.log_every = 200
    config.train.checkpoint_every = 2000
    config.train.eval_every = 5000
    config.train.sample_every = 5000
    config.train.num_samples = 16
    # Model selection on valid: keep the best checkpoint, stop after 4 evaluations without
    # improvement.
    config.train.best_metric = "eval/nll_nats"
    config.train.patience = 4
    return config
