"""Autoregressive models (FVSBN, NADE, MADE, PixelCNN, gated PixelCNN, PixelRNN, a pixel
Transformer) as a :class:`~gensys.recipes.recipe.Recipe`.

Trains on the exact NLL per dimension (nats) of :mod:`gensys.nets.autoregressive` with
Adam; MADE with several mask sets draws one per step (order- and
connectivity-agnostic training). ``eval_step`` gives per image ``nll_nats = -log p(x)``
(MADE: its ensemble over the mask sets) and ``bpd``, both exact. Samples come from the
EMA parameters, cached where the network allows (``cached_sampling``); a
class-conditional gated PixelCNN draws classes ``0, 1, ...`` in turn.

``figures``: ``completions``, from the first eval images: the originals, their top half
(the rest grey), and two completions of the bottom half drawn from the model.

Real vectors ``[1, 1, D]`` (the 2-D toys): MADE or NADE with ``conditional=
"gaussian_mixture"`` (RNADE), ``nll_nats`` the exact ``-log p(x)`` of the density;
``figures`` the learned density beside the true one, as for the flows.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gensys.data import toy2d
from gensys.data.datasets import DatasetSpec
from gensys.distributions import bits_per_dim
from gensys.eval.density_maps import learned_beside_true
from gensys.nets.autoregressive import ARCHITECTURES, AutoregressiveModel, build_model
from gensys.recipes.recipe import Recipe
from gensys.recipes.state import (
    TrainState,
    apply_gradients,
    fresh_train_state,
    make_optimizer,
    masked_mean,
)

COMPLETIONS = 2
FIGURE_COLUMNS = 8


@dataclasses.dataclass(frozen=True)
class AutoregressiveConfig:
    """The ``model`` section of an autoregressive config (see :func:`build_model`)."""

    architecture: str = "pixelcnn"
    hidden: int = 64
    num_layers: int = 4
    kernel_size: int = 3
    first_kernel_size: int = 7
    num_heads: int = 4
    num_masks: int = 1  # MADE: mask sets trained and ensembled
    order_agnostic: bool = False  # MADE: mask sets beyond the first use random orderings
    direct_connection: bool = False  # MADE: masked input-to-output weights beside the hidden
    class_conditional: bool = False  # gated PixelCNN
    optimizer: str = "adam"  # "adagrad" (the MADE paper's) or "sgd" (no momentum here)
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    decay_steps: int = 0
    grad_clip_norm: float = 1.0  # 0: no clipping
    weight_decay: float = 0.0  # AdamW's, decoupled
    # An L2 penalty l2/2 * sum(W^2) on the weight matrices, added to the training loss,
    # which is in nats per dimension: a Gaussian prior N(0, s^2) on N images of D pixels
    # is l2 = 1 / (N * D * s^2) (s = 0.5 on binarized MNIST: 1e-7).
    l2: float = 0.0
    ema_decay: float = 0.999
    cached_sampling: bool = True
    # Each pixel's distribution over the levels: "categorical" (L logits), or a
    # "logistic_mixture" (PixelCNN++) / "gaussian_mixture" (RNADE) of num_components,
    # discretized to the levels (NADE, MADE and the convolutional networks).
    conditional: str = "categorical"
    num_components: int = 5


def model_of(config: AutoregressiveConfig, spec: DatasetSpec) -> AutoregressiveModel:
    """The network and its likelihood for data of ``spec``."""
    if config.architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {ARCHITECTURES}, got {config.architecture!r}"
        )
    if spec.num_levels == 1 or spec.num_levels < 0:
        raise ValueError(
            f"autoregressive models need levels >= 2, or real vectors, got {spec.num_levels}"
        )
    if spec.num_levels == 0 and spec.image_shape[:2] != (1, 1):
        raise ValueError(f"continuous data must be vectors [1, 1, D], got {spec.image_shape}")
    if config.class_conditional and spec.num_classes is None:
        raise ValueError("class_conditional=True needs a labelled dataset")
    return build_model(
        config.architecture,
        spec.image_shape,
        spec.num_levels,
        hidden=config.hidden,
        num_layers=config.num_layers,
        kernel_size=config.kernel_size,
        first_kernel_size=config.first_kernel_size,
        num_heads=config.num_heads,
        num_masks=config.num_masks,
        order_agnostic=config.order_agnostic,
        direct_connection=config.direct_connection,
        num_classes=spec.num_classes if config.class_conditional else None,
        conditional=config.conditional,
        num_components=config.num_components,
    )


def make_autoregressive_recipe(config: AutoregressiveConfig, spec: DatasetSpec) -> Recipe:
    """Builds the recipe of ``config.architecture`` for images of ``spec``'s levels."""
    model = model_of(config, spec)
    dims, levels = model.dims, spec.num_levels
    continuous = model.continuous
    optimizer = make_optimizer(
        config.learning_rate,
        warmup_steps=config.warmup_steps,
        grad_clip_norm=config.grad_clip_norm or None,
        weight_decay=config.weight_decay,
        decay_steps=config.decay_steps,
        name=config.optimizer,
        l2=config.l2,
    )

    def labels_of(batch):
        # Padding carries label -1; any class will do there (its mask is 0).
        return jnp.maximum(batch["label"], 0) if config.class_conditional else None

    def init(key: jax.Array, batch: dict) -> TrainState:
        return fresh_train_state(model.init(key, batch["image"], labels_of(batch)), optimizer)

    def train_step(state: TrainState, batch: dict, key: jax.Array):
        mask_index = jax.random.randint(key, (), 0, config.num_masks)

        def loss_fn(params):
            nll = -model.log_prob(params, batch["image"], labels_of(batch), mask_index)
            return masked_mean(nll, batch["mask"]) / dims

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        metrics = {
            "train/loss": loss,
            "train/nll_nats": loss * dims,
            "train/bpd": bits_per_dim(loss * dims, dims),
        }
        return apply_gradients(state, grads, optimizer, config.ema_decay), metrics

    def eval_step(state: TrainState, batch: dict, key: jax.Array) -> dict:
        nll = -model.ensemble_log_prob(state.ema_params, batch["image"], labels_of(batch))
        return {"nll_nats": nll, "bpd": bits_per_dim(nll, dims)}

    def to_images(x: jax.Array) -> jax.Array:
        """Levels to images in [-1, 1]; real points stay as they are."""
        return x if continuous else 2.0 * x.astype(jnp.float32) / (levels - 1) - 1.0

    def sample(state: TrainState, key: jax.Array, num: int) -> jax.Array:
        labels = None
        if config.class_conditional:
            labels = jnp.arange(num, dtype=jnp.int32) % spec.num_classes
        drawn = model.sample(state.ema_params, key, num, labels, cached=config.cached_sampling)
        return to_images(drawn)

    density_figure = None
    if continuous and dims == 2:
        density_figure = learned_beside_true(toy2d.LOG_DENSITIES.get(spec.builder))

    def figures(state: TrainState, batch: dict, key: jax.Array) -> dict[str, jax.Array]:
        if continuous:  # points: their density (2-D), nothing to complete
            if density_figure is None:
                return {}
            return {"density": density_figure(lambda x: model.log_prob(state.ema_params, x))}
        originals = batch["image"][:FIGURE_COLUMNS]
        labels = labels_of(batch)
        n = originals.shape[0]
        given = dims // 2
        repeated = jnp.tile(originals, (COMPLETIONS, 1, 1, 1))
        drawn = model.sample(
            state.ema_params,
            key,
            COMPLETIONS * n,
            None if labels is None else jnp.tile(labels[:n], COMPLETIONS),
            cached=config.cached_sampling,
            prefix=repeated,
            num_given=given,
        )
        visible = jnp.arange(dims).reshape(1, *spec.image_shape) < given
        halves = jnp.where(visible, to_images(originals), 0.0)
        rows = [to_images(originals), halves, *jnp.split(to_images(drawn), COMPLETIONS)]
        return {"completions": jnp.stack(rows)}

    return Recipe(
        name="autoregressive",
        init=init,
        train_step=train_step,
        eval_step=eval_step,
        sample=sample,
        figures=figures,
        representation="float" if continuous else "levels",
        sample_tag="" if config.cached_sampling or not model.has_cache else "uncached",
    )
