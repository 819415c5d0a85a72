"""An autoregressive network with its exact likelihood and its samplers, in one object.

``log p(x) = sum_i log Categorical(x_i; softmax(logits_i(x_{<i})))`` over the ``D`` pixels
of an image of integer levels (2 for binary images, 17 for digits, 256 for 8-bit
images): exact, so ``-log p(x)`` in nats and bits per dimension are the model's true NLL,
with no dequantization and no bound.

``conditional`` chooses how the network parameterises each pixel's categorical:
``"categorical"``, ``L`` free logits; ``"logistic_mixture"`` (PixelCNN++, Salimans et al.
2017) or ``"gaussian_mixture"`` (RNADE's mixture, Uria et al. 2013, discretized to the
levels' bins), ``3K`` parameters of a ``K``-component mixture (its means offset by
``linspace(-1, 1, K)`` to break the components' symmetry). The likelihood evaluates the
mixture at the observed level (:func:`gensys.distributions.discretized_mixture_log_prob`),
the samplers draw from every level's log-probability
(:func:`gensys.distributions.discretized_mixture_level_log_probs`): one distribution over
the ``L`` levels, so the accounting is unchanged, and no 256-way output per pixel.

Continuous data (``num_levels=0``: real vectors, such as the 2-D toy densities): MADE or
NADE with ``conditional="gaussian_mixture"`` is RNADE's model (Uria et al. 2013; MADE MoG
in Papamakarios et al. 2017), ``log p(x) = sum_i log sum_k pi_k N(x_i; mu_k, sigma_k^2)``,
an exact density in nats; samples are drawn coordinate by coordinate.

:func:`build_model` picks the network of ``architecture`` (:data:`ARCHITECTURES`);
:class:`AutoregressiveModel` gives ``log_prob`` and ``sample`` (cached where the network
has a ``step``: FVSBN, NADE, the Transformer) for a parameter pytree.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys import checks
from gensys.autoregressive.sampling import sample_by_rerunning, sample_with_cache
from gensys.distributions import (
    categorical_log_prob,
    discretized_mixture_level_log_probs,
    discretized_mixture_log_prob,
    gaussian_mixture_log_prob,
    sample_gaussian_mixture,
)
from gensys.nets.fvsbn import FVSBN
from gensys.nets.gated_pixelcnn import GatedPixelCNN
from gensys.nets.made import MADE
from gensys.nets.nade import NADE
from gensys.nets.pixel_transformer import PixelTransformer
from gensys.nets.pixelcnn import PixelCNN
from gensys.nets.pixelrnn import PixelRNN

ARCHITECTURES = (
    "fvsbn",
    "nade",
    "made",
    "pixelcnn",
    "gated_pixelcnn",
    "pixelrnn",
    "pixel_transformer",
)
CACHED = ("fvsbn", "nade", "pixel_transformer")  # networks with an incremental ``step``
CONDITIONALS = ("categorical", "logistic_mixture", "gaussian_mixture")
# Networks whose per-pixel output size is free (the others tie it to the levels).
MIXTURE_NETWORKS = ("nade", "made", "pixelcnn", "gated_pixelcnn", "pixelrnn")
SPATIAL = ("pixelcnn", "gated_pixelcnn", "pixelrnn")  # convolutional, channel groups


@dataclasses.dataclass(frozen=True)
class AutoregressiveModel:
    """``network`` maps one-hot levels ``[B, H, W, C, L]`` (and labels) to logits of the
    same shape, autoregressive in ``order`` (``None``: raster order)."""

    architecture: str
    network: nn.Module
    image_shape: tuple[int, int, int]
    num_levels: int
    num_masks: int = 1  # MADE's mask sets; 1 for every other network
    order: tuple[int, ...] | None = None
    conditional: str = "categorical"  # see the module docstring

    @property
    def continuous(self) -> bool:
        """Real-valued data (``num_levels == 0``): a Gaussian mixture's density."""
        return self.num_levels == 0

    def _network_input(self, x: jax.Array) -> jax.Array:
        if self.continuous:
            return x.astype(jnp.float32)[..., None]
        return jax.nn.one_hot(x, self.num_levels)

    def _level_logits(self, outputs: jax.Array) -> jax.Array:
        """The network's per-pixel outputs as the levels' logits ``[..., L]``."""
        if self.conditional == "categorical":
            return outputs
        kind = self.conditional.removesuffix("_mixture")
        return discretized_mixture_level_log_probs(outputs, self.num_levels, kind)

    @property
    def dims(self) -> int:
        return math.prod(self.image_shape)

    @property
    def has_cache(self) -> bool:
        return self.architecture in CACHED

    def init(self, key: jax.Array, levels: jax.Array, labels: jax.Array | None = None):
        return self.network.init(key, self._network_input(levels), labels)

    def _mixture_means_spread(self, outputs: jax.Array) -> jax.Array:
        """A mixture's parameters with the ``K`` means offset by ``linspace(-1, 1, K)``.

        Without it, a pixel whose parameters come from biases alone (the first in the
        order reads no input) has ``K`` identical components that get identical gradients
        and never separate; the fixed offsets break that symmetry at no cost."""
        if self.conditional == "categorical":
            return outputs
        k = outputs.shape[-1] // 3
        offsets = jnp.concatenate(
            [jnp.zeros(k), jnp.linspace(-1.0, 1.0, k) if k > 1 else jnp.zeros(1), jnp.zeros(k)]
        )
        return outputs + offsets.astype(outputs.dtype)

    def _outputs(self, params, levels, labels=None, mask_index=0) -> jax.Array:
        """Each pixel's parameters: ``[B, H, W, C, L]`` logits, or a mixture's ``3K``."""
        onehot = self._network_input(levels)
        if self.architecture == "made":
            raw = self.network.apply(params, onehot, labels, mask_index)
        else:
            raw = self.network.apply(params, onehot, labels)
        return self._mixture_means_spread(raw)

    def logits(self, params, levels, labels=None, mask_index=0) -> jax.Array:
        """``[B, H, W, C, L]`` logits of every pixel given the pixels before it."""
        if self.continuous:
            raise ValueError("a continuous model has densities, not level logits")
        return self._level_logits(self._outputs(params, levels, labels, mask_index))

    def log_prob(self, params, levels, labels=None, mask_index=0) -> jax.Array:
        """``log p(x)`` per image ``(B,)`` in nats, for ``levels [B, H, W, C]`` in ``[0, L)``
        (a continuous model: the density of real ``x [B, H, W, C]``)."""
        if self.continuous:
            checks.check_floating(levels, "x")
            checks.check_shape(levels, (None, *self.image_shape), "x")
            outputs = self._outputs(params, levels, labels, mask_index)
            return jnp.sum(gaussian_mixture_log_prob(levels, outputs), axis=(1, 2, 3))
        checks.check_integer(levels, "levels")
        checks.check_shape(levels, (None, *self.image_shape), "levels")
        if self.conditional == "categorical":
            logits = self.logits(params, levels, labels, mask_index)
            return jnp.sum(categorical_log_prob(levels, logits), axis=(1, 2, 3))
        # A mixture is evaluated at the observed level only (O(K) a pixel, not O(L K)):
        # the same number as the categorical of its levels' log-probabilities.
        valid = checks.check_levels(levels, self.num_levels, "levels")
        x = 2.0 * levels.astype(jnp.float32) / (self.num_levels - 1) - 1.0
        kind = self.conditional.removesuffix("_mixture")
        outputs = self._outputs(params, levels, labels, mask_index)
        log_probs = discretized_mixture_log_prob(x, outputs, self.num_levels, kind)
        return jnp.sum(jnp.where(valid, log_probs, jnp.nan), axis=(1, 2, 3))

    def ensemble_log_prob(self, params, levels, labels=None) -> jax.Array:
        """MADE's test-time ensemble ``log (1/K) sum_k p_k(x)`` over its ``K`` mask sets
        (Germain et al. 2015, Sec. 4.2); the plain ``log_prob`` for the other networks."""
        if self.num_masks == 1:
            return self.log_prob(params, levels, labels)
        per_mask = jnp.stack(
            [self.log_prob(params, levels, labels, k) for k in range(self.num_masks)]
        )
        return jax.nn.logsumexp(per_mask, axis=0) - math.log(self.num_masks)

    def sample(
        self,
        params,
        key: jax.Array,
        num: int,
        labels: jax.Array | None = None,
        *,
        cached: bool = True,
        prefix: jax.Array | None = None,
        num_given: int = 0,
    ) -> jax.Array:
        """``num`` images of levels ``[num, H, W, C]``: with the network's cache when it has
        one and ``cached``, else by re-running it per pixel. ``prefix`` and ``num_given``:
        see :mod:`gensys.autoregressive.sampling`. A continuous model draws real values,
        re-running the network once a coordinate."""
        if self.continuous:
            if prefix is not None or num_given:
                raise ValueError("completion (prefix, num_given) is for levels, not real data")
            return self._sample_real(params, key, num, labels)
        if cached and self.has_cache:
            cache = self.network.apply(params, num, method="init_cache")

            def step_fn(cache, t, previous):
                onehot = jax.nn.one_hot(previous, self.num_levels)
                outputs, cache = self.network.apply(params, cache, t, onehot, method="step")
                return self._level_logits(self._mixture_means_spread(outputs)), cache

            return sample_with_cache(
                key, step_fn, cache, num, self.image_shape, prefix=prefix, num_given=num_given
            )
        order = None if self.order is None else jnp.asarray(self.order)
        return sample_by_rerunning(
            key,
            lambda levels: self._outputs(params, levels, labels),
            num,
            self.image_shape,
            order=order,
            prefix=prefix,
            num_given=num_given,
            to_logits=self._level_logits,  # one pixel's at a time (identity: categorical)
        )

    def _sample_real(self, params, key, num, labels):
        dims = self.dims
        order = jnp.arange(dims) if self.order is None else jnp.asarray(self.order)

        def body(flat, t):
            position = order[t]
            x = flat.reshape(num, *self.image_shape)
            outputs = self._outputs(params, x, labels).reshape(num, dims, -1)
            value = sample_gaussian_mixture(jax.random.fold_in(key, t), outputs[:, position])
            return flat.at[:, position].set(value), None

        flat, _ = jax.lax.scan(body, jnp.zeros((num, dims), jnp.float32), jnp.arange(dims))
        return flat.reshape(num, *self.image_shape)


def build_model(
    architecture: str,
    image_shape: tuple[int, int, int],
    num_levels: int,
    *,
    hidden: int = 64,
    num_layers: int = 2,
    kernel_size: int = 3,
    first_kernel_size: int = 7,
    num_heads: int = 4,
    num_masks: int = 1,
    order_agnostic: bool = False,
    direct_connection: bool = False,
    num_classes: int | None = None,
    conditional: str = "categorical",
    num_components: int = 5,
) -> AutoregressiveModel:
    """The network of ``architecture`` for images ``image_shape`` of ``num_levels`` levels.

    ``hidden``: NADE's hidden units, each MADE hidden layer's width, the convolutional and
    recurrent networks' feature maps, the Transformer's width. ``num_layers``: MADE's
    hidden layers, PixelCNN's residual blocks, the gated PixelCNN's gated layers, the
    Row LSTM layers, the Transformer blocks. ``direct_connection``: MADE's masked
    input-to-output layer. ``num_classes``: class conditioning (gated PixelCNN only).
    ``conditional``: each pixel's distribution (:data:`CONDITIONALS`; a mixture of
    ``num_components`` for the networks of :data:`MIXTURE_NETWORKS`).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    continuous = num_levels == 0
    if continuous and (conditional != "gaussian_mixture" or architecture not in ("made", "nade")):
        raise ValueError(
            "continuous data (num_levels=0) takes made or nade with conditional="
            f"'gaussian_mixture' (RNADE), got {architecture} with {conditional!r}"
        )
    if num_levels < 2 and not continuous:
        raise ValueError(f"autoregressive models need >= 2 levels (or 0: real values), "
                         f"got {num_levels}")  # fmt: skip
    if math.prod(image_shape) < 2:
        raise ValueError(f"an image needs >= 2 pixels to be autoregressive, got {image_shape}")
    channels = image_shape[-1]
    if architecture in SPATIAL and channels > 1 and (hidden % channels or hidden < 2 * channels):
        raise ValueError(
            f"{architecture} on {channels} channels splits its features into {channels} "
            f"channel groups: hidden must be a multiple of {channels} and at least "
            f"{2 * channels}, got {hidden}"
        )
    if num_classes is not None and architecture != "gated_pixelcnn":
        raise ValueError(f"class conditioning is built for gated_pixelcnn, not {architecture}")
    if hidden < 1 or num_layers < 1:
        raise ValueError(f"hidden and num_layers must be >= 1, got {hidden}, {num_layers}")
    if num_masks != 1 and architecture != "made":
        raise ValueError(f"num_masks is MADE's; {architecture} has one ordering")
    if direct_connection and architecture != "made":
        raise ValueError(f"direct_connection is MADE's, not {architecture}'s")
    if conditional not in CONDITIONALS:
        raise ValueError(f"conditional must be one of {CONDITIONALS}, got {conditional!r}")
    if conditional != "categorical":
        if architecture not in MIXTURE_NETWORKS:
            raise ValueError(f"a mixture conditional is built for {MIXTURE_NETWORKS}, "
                             f"not {architecture}")  # fmt: skip
        if num_components < 1:
            raise ValueError(f"num_components must be >= 1, got {num_components}")
    # The networks' ``num_levels`` is their output count a pixel: the levels' logits, or
    # the mixture's parameters.
    outputs = num_levels if conditional == "categorical" else 3 * num_components
    image_shape = tuple(image_shape)
    conv = dict(kernel_size=kernel_size, first_kernel_size=first_kernel_size)
    networks = {
        "fvsbn": lambda: FVSBN(image_shape, outputs),
        "nade": lambda: NADE(image_shape, outputs, hidden, real_inputs=continuous),
        "made": lambda: MADE(
            image_shape,
            outputs,
            (hidden,) * num_layers,
            num_masks,
            order_agnostic,
            direct=direct_connection,
            real_inputs=continuous,
        ),
        "pixelcnn": lambda: PixelCNN(outputs, hidden, num_layers, **conv),
        "gated_pixelcnn": lambda: GatedPixelCNN(
            outputs, hidden, num_layers, **conv, num_classes=num_classes
        ),
        "pixelrnn": lambda: PixelRNN(outputs, hidden, num_layers, **conv),
        "pixel_transformer": lambda: PixelTransformer(
            image_shape, outputs, hidden, num_layers, num_heads
        ),
    }
    network = networks[architecture]()
    order = None
    if architecture == "made":
        order = tuple(int(i) for i in network.masks()[0][0])
    return AutoregressiveModel(
        architecture, network, image_shape, num_levels, num_masks, order, conditional
    )
