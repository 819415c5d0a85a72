"""Normalizing flows (RealNVP, Glow) as a :class:`~gensys.recipes.recipe.Recipe`.

- Images (``spec.num_levels >= 2``): the integer levels ``k`` are dequantized,
  ``y = (k + u) / L``, pre-processed to the real line by RealNVP's logit transform
  (``preprocessing="logit"``) or Glow's centring ``y - 1/2`` (``"shift"``), and
  normalised by :class:`~gensys.nets.flows.MultiScaleFlow`. Every Jacobian is counted,
  so ``eval/nll_nats`` is the dequantization bound on ``-log P(k)`` of
  :mod:`gensys.flows.distribution` and ``eval/bpd`` its bits per dimension.
- Vectors (continuous data, the 2-D toy densities ``[B, 1, 1, 2]``):
  :class:`~gensys.nets.flows.CouplingFlow`, ``eval/nll_nats = -log p(x)`` exactly
  (``eval/bpd`` divides by ``D ln 2`` with ``D = 2``).

``class_conditional``: ``p(x | y)``, every conditioner reading the label's one-hot (samples
cycle through the labels; :func:`gensys.train.likelihood_scores.bayes_classify` turns it
into a classifier). ``dequantization="variational"``: ``u`` from Flow++'s learned
``q(u | x)`` (:class:`gensys.nets.dequantization.VariationalDequantizer`, trained jointly)
and ``eval/nll_nats`` its bound
(:func:`gensys.flows.distribution.variational_dequantization_bound`).

Trains on the mean NLL per dimension (nats) with Adam; samples come from the EMA
parameters at ``sample_temperature``. ``figures``: for images ``temperatures`` (a row
of samples per temperature in :data:`FIGURE_TEMPERATURES`, the same noise in every
row; Kingma & Dhariwal 2018, Fig. 8); for 2-D data ``density`` (the learned density
beside the true one on the sample pictures' ``[-5, 5]^2`` grid).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from gensys.data import toy2d
from gensys.data.datasets import DatasetSpec
from gensys.distributions import bits_per_dim
from gensys.eval.density_maps import learned_beside_true
from gensys.flows.bijectors import chain, logit_preprocessing, shift
from gensys.flows.distribution import (
    FlowDistribution,
    dequantize,
    uniform_dequantize,
    variational_dequantization_bound,
)
from gensys.nets.autoregressive_flows import VECTOR_TRANSFORMS, AutoregressiveFlow
from gensys.nets.dequantization import VariationalDequantizer
from gensys.nets.flows import ARCHITECTURES, CouplingFlow, MultiScaleFlow, as_bijector
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import (
    TrainState,
    apply_gradients,
    fresh_train_state,
    make_optimizer,
    masked_mean,
)

PREPROCESSINGS = ("logit", "shift")
DEQUANTIZATIONS = ("uniform", "variational")
FIGURE_TEMPERATURES = (0.0, 0.5, 0.7, 0.85, 1.0)


@dataclasses.dataclass(frozen=True)
class FlowConfig:
    """The ``model`` section of a flow config."""

    architecture: str = "glow"  # realnvp, glow, or maf (on the flattened data)
    # Images (MultiScaleFlow):
    num_scales: int = 2
    steps_per_scale: int = 4
    hidden: int = 64
    num_blocks: int = 1
    learned_prior: bool = True
    preprocessing: str = "logit"  # logit (RealNVP) or shift (Glow)
    logit_alpha: float = 0.05
    # Vectors (CouplingFlow):
    num_layers: int = 8
    mlp_hidden: tuple[int, ...] = (128, 128)
    # Vectors, architecture "maf": each layer's elementwise map, "affine" (MAF) or
    # "spline" (rational-quadratic, Durkan et al. 2019) with num_bins bins on
    # [-spline_bound, spline_bound] and identity tails.
    transform: str = "affine"
    num_bins: int = 8
    spline_bound: float = 4.0
    # The floor on the std ActNorm initialises from (architecture "maf", whose ActNorm acts
    # per pixel of the flattened image): see gensys.flows.actnorm_data_init.
    actnorm_min_std: float = 0.0
    # > 0: MAF's log-scales soft-clamped to (-bound, bound) (bounded_affine_transform).
    affine_log_scale_bound: float = 0.0
    # Both:
    additive: bool = False  # NICE's volume-preserving couplings
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    decay_steps: int = 0  # > 0: cosine decay of the rate to 1 % at this step
    grad_clip_norm: float = 50.0
    weight_decay: float = 0.0  # AdamW's decoupled decay: small data (digits) overfit without it
    ema_decay: float = 0.999
    sample_temperature: float = 1.0
    # p(x | y) for labelled data: every conditioner also reads the one-hot label (samples
    # cycle through the labels); the model then classifies by Bayes' rule
    # (gensys.train.likelihood_scores.bayes_classify).
    class_conditional: bool = False
    # Images: "uniform" dequantization noise, or "variational" (Flow++): a conditional flow
    # q(u | x) of dequantizer_steps checkerboard couplings with dequantizer_hidden
    # channels, trained jointly; eval/nll_nats is then its (tighter) bound.
    dequantization: str = "uniform"
    dequantizer_hidden: int = 32
    dequantizer_steps: int = 4


def _check(config: FlowConfig, spec: DatasetSpec) -> None:
    known = (*ARCHITECTURES, "maf")
    if config.architecture not in known:
        raise ValueError(f"architecture must be one of {known}, got {config.architecture!r}")
    if config.transform not in VECTOR_TRANSFORMS:
        raise ValueError(f"transform must be one of {VECTOR_TRANSFORMS}, got {config.transform!r}")
    if config.preprocessing not in PREPROCESSINGS:
        raise ValueError(
            f"preprocessing must be one of {PREPROCESSINGS}, got {config.preprocessing!r}"
        )
    if config.dequantization not in DEQUANTIZATIONS:
        raise ValueError(
            f"dequantization must be one of {DEQUANTIZATIONS}, got {config.dequantization!r}"
        )
    if config.class_conditional and spec.num_classes is None:
        raise ValueError("class_conditional=True needs a labelled dataset")
    if spec.num_levels == 1:
        raise ValueError("a dataset with one level has nothing to model")
    if spec.num_levels == 0:
        if spec.image_shape[:2] != (1, 1) or spec.image_shape[-1] < 2:
            raise ValueError(
                f"continuous data must be vectors [1, 1, D >= 2], got {spec.image_shape}"
            )
        if config.num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {config.num_layers}")
        if config.dequantization != "uniform":
            raise ValueError("continuous data is not dequantized: leave dequantization uniform")
        return
    if config.dequantization == "variational" and (
        config.dequantizer_hidden < 1 or config.dequantizer_steps < 1
    ):
        raise ValueError("dequantizer_hidden and dequantizer_steps must be >= 1")
    if config.architecture == "maf":  # on the flattened image: no scales to check
        return
    if config.num_scales < 1 or config.steps_per_scale < 1:
        raise ValueError("num_scales and steps_per_scale must be >= 1")
    h, w, _ = spec.image_shape
    # Glow squeezes at every scale, RealNVP at all but the last.
    squeezes = config.num_scales if config.architecture == "glow" else config.num_scales - 1
    if h % 2**squeezes or w % 2**squeezes:
        raise ValueError(
            f"{config.architecture} with {config.num_scales} scales squeezes {squeezes} times: "
            f"image side must be divisible by {2**squeezes}, got {spec.image_shape}"
        )
    if not 0.0 <= config.logit_alpha < 0.5:
        raise ValueError(f"logit_alpha must be in [0, 0.5), got {config.logit_alpha}")


def decayed(params):
    """Weight decay on every parameter but the 1x1 convolutions' fixed permutation and
    signs (decaying them would break the LU parameterization's inverse and log-det)."""

    def mark(path, _):
        name = jax.tree_util.keystr(path)
        return "'permutation'" not in name and "'sign'" not in name

    return jax.tree_util.tree_map_with_path(mark, params)


def make_flow_recipe(config: FlowConfig, spec: DatasetSpec) -> Recipe:
    """Builds the flow recipe for data of ``spec`` (images of levels, or 2-D points)."""
    _check(config, spec)
    continuous = spec.num_levels == 0
    dims = math.prod(spec.image_shape)
    if config.architecture == "maf":
        model = AutoregressiveFlow(
            config.transform,
            config.num_layers,
            tuple(config.mlp_hidden),
            config.num_bins,
            config.spline_bound,
            config.actnorm_min_std,
            config.affine_log_scale_bound,
        )
    elif continuous:
        model = CouplingFlow(
            config.architecture, config.num_layers, tuple(config.mlp_hidden), config.additive
        )
    else:
        model = MultiScaleFlow(
            config.architecture,
            config.num_scales,
            config.steps_per_scale,
            config.hidden,
            config.num_blocks,
            config.additive,
            config.learned_prior,
        )
    if continuous:
        preprocessing = None
    else:
        preprocessing = (
            logit_preprocessing(config.logit_alpha)
            if config.preprocessing == "logit"
            else shift(0.5)
        )
    optimizer = make_optimizer(
        config.learning_rate,
        warmup_steps=config.warmup_steps,
        grad_clip_norm=config.grad_clip_norm,
        weight_decay=config.weight_decay,
        weight_decay_mask=decayed,
        decay_steps=config.decay_steps,
    )

    variational = config.dequantization == "variational"
    dequantizer = (
        VariationalDequantizer(config.dequantizer_hidden, config.dequantizer_steps)
        if variational
        else None
    )

    def flow_params(params):
        """The flow's own parameters (with variational dequantization, params also hold the
        dequantizer's; a uniform run's tree is the flow's alone)."""
        return params["flow"] if variational else params

    def context_of(labels):
        """The conditioners' context: the one-hot label for a class-conditional flow."""
        if not config.class_conditional:
            return None
        return jax.nn.one_hot(jnp.maximum(labels, 0), spec.num_classes)

    def distribution(params, context=None) -> FlowDistribution:
        """Noise to the flow's data space: the points, or dequantized images in [0, 1)."""
        bijector = as_bijector(model, flow_params(params), context)
        if preprocessing is not None:
            bijector = chain(bijector, preprocessing)
        return FlowDistribution(bijector, spec.image_shape)

    def flow_input(params, batch, key):
        """``(y, log q(u | x))``: what the flow models (the points, or the dequantized images
        in [0, 1)) and the dequantization noise's log-density (0 when uniform)."""
        levels = batch["image"]
        if continuous:
            return levels.astype(jnp.float32), jnp.zeros(levels.shape[0], jnp.float32)
        if not variational:
            return uniform_dequantize(key, levels, spec.num_levels), jnp.zeros(levels.shape[0])
        eps = jax.random.logistic(key, levels.shape, jnp.float32)
        scaled = levels.astype(jnp.float32) / (spec.num_levels - 1) - 0.5
        u, log_q = dequantizer.apply(params["dequantizer"], eps, scaled)
        return dequantize(levels, u, spec.num_levels), log_q

    def nll_nats(params, batch, key):
        y, log_q = flow_input(params, batch, key)
        log_density = distribution(params, context_of(batch["label"])).log_prob(y)
        if continuous:
            return -log_density
        return -variational_dequantization_bound(log_density, log_q, spec.num_levels, dims)

    def init(key: jax.Array, batch: dict) -> TrainState:
        init_key, noise_key, dequantizer_key = jax.random.split(key, 3)
        params = {}
        if variational:
            eps = jax.random.logistic(noise_key, batch["image"].shape, jnp.float32)
            scaled = batch["image"].astype(jnp.float32) / (spec.num_levels - 1) - 0.5
            params["dequantizer"] = dequantizer.init(dequantizer_key, eps, scaled)
        y, _ = flow_input(params, batch, noise_key)
        # ActNorm initialises from the activations of this batch (its real examples).
        x = y if preprocessing is None else preprocessing.inverse(y)
        flow = model.init(init_key, x, inverse=True, weights=batch["mask"],
                          context=context_of(batch["label"]))  # fmt: skip
        return fresh_train_state({**params, "flow": flow} if variational else flow, optimizer)

    def train_step(state: TrainState, batch: dict, key: jax.Array):
        def loss_fn(params):
            nll = nll_nats(params, batch, key)
            return masked_mean(nll, batch["mask"]) / dims, nll

        (loss, nll), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        mean_nll = loss * dims
        metrics = {
            "train/loss": loss,
            "train/nll_nats": mean_nll,
            "train/bpd": bits_per_dim(mean_nll, dims),
        }
        return apply_gradients(state, grads, optimizer, config.ema_decay), metrics

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        nll = nll_nats(state.ema_params, batch, key)
        return {"nll_nats": nll, "bpd": bits_per_dim(nll, dims)}

    def to_output(y: jax.Array) -> jax.Array:
        """Flow space to what ``sample`` returns: points as they are, images in [-1, 1]."""
        return y if continuous else 2.0 * jnp.clip(y, 0.0, 1.0) - 1.0

    def cycled_labels(num: int) -> jax.Array:
        """Labels for ``num`` samples of a class-conditional flow: 0, 1, ..., cycling."""
        return jnp.arange(num, dtype=jnp.int32) % (spec.num_classes or 1)

    def sample(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        flow = distribution(state.ema_params, context_of(cycled_labels(num)))
        return to_output(flow.sample(key, num, config.sample_temperature))

    if continuous:
        density_figure = learned_beside_true(toy2d.LOG_DENSITIES.get(spec.builder))

        def figures(state: TrainState, batch: dict, key: jax.Array) -> dict[str, jax.Array]:
            return {"density": density_figure(distribution(state.ema_params).log_prob)}

    else:

        def figures(state: TrainState, batch: dict, key: jax.Array) -> dict[str, jax.Array]:
            flow = distribution(state.ema_params, context_of(cycled_labels(8)))
            z = jax.random.normal(key, (8, *spec.image_shape), jnp.float32)
            rows = [to_output(flow.bijector.forward(t * z)) for t in FIGURE_TEMPERATURES]
            return {"temperatures": jnp.stack(rows)}

    return Recipe(
        name="flow",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        representation="float" if continuous else "levels",
        sample_tag=f"t{config.sample_temperature:g}" if config.sample_temperature != 1.0 else "",
    )
