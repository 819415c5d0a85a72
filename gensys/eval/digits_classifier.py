"""A small classifier of scikit-learn's 8x8 digits whose hidden features score samples.

Until gensys has its own sample-quality metric for every dataset, digits
samples are scored by the Frechet distance between the features of this
classifier on real test digits and on samples (a "digits FID"; Heusel et al.
2017 use Inception features on natural images). The network is an MLP
``64 -> 256 -> 64 -> 10`` with ReLU; the features are the 64 hidden units
before the output layer. It is trained full-batch with Adam on the 1,500
training digits in a few seconds and is deterministic given its seed. It flattens
its input, so the same network serves other small grayscale sets (the GAN
benchmark trains one on 9,000 MNIST test images, ``benchmarks/gan_digits.py``).
"""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gensys.data.batches import to_model_input
from gensys.data.datasets import ArraySplit
from gensys.eval.streaming import map_in_batches


class DigitsMLP(nn.Module):
    """``[B, H, W, C]`` images in ``[-1, 1]`` -> (logits ``[B, 10]``, features ``[B, 64]``)."""

    hidden: tuple[int, ...] = (256, 64)
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = x.reshape(x.shape[0], -1)
        for width in self.hidden:
            h = nn.relu(nn.Dense(width)(h))
        return nn.Dense(self.num_classes)(h), h


@dataclasses.dataclass(frozen=True)
class DigitsFeatures:
    """A trained :class:`DigitsMLP` and its test accuracy."""

    params: dict
    test_accuracy: float
    module: DigitsMLP = DigitsMLP()

    def features(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Hidden features ``[N, 64]`` of images ``[N, H, W, C]`` in ``[-1, 1]``."""
        fn = functools.partial(_hidden_features, module=self.module)
        return map_in_batches(fn, images, self.params, batch_size=batch_size)

    def predict(self, images: np.ndarray) -> np.ndarray:
        logits = self.module.apply(self.params, jnp.asarray(images, jnp.float32))[0]
        return np.asarray(jnp.argmax(logits, -1))


@functools.partial(jax.jit, static_argnames="module")
def _hidden_features(images: jax.Array, params: dict, *, module: DigitsMLP) -> jax.Array:
    return module.apply(params, images.astype(jnp.float32))[1]


def as_float_images(split: ArraySplit) -> np.ndarray:
    return to_model_input(split.images, split.spec.num_levels, "float")


def train_digits_classifier(
    train: ArraySplit, test: ArraySplit, *, steps: int = 1500, seed: int = 0
) -> DigitsFeatures:
    """Fits :class:`DigitsMLP` (Adam, lr 1e-3, weight decay 1e-4) and reports test accuracy."""
    return train_feature_classifier(
        as_float_images(train), train.labels, as_float_images(test), test.labels,
        steps=steps, seed=seed,
    )  # fmt: skip


def train_feature_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    *,
    steps: int = 1500,
    seed: int = 0,
) -> DigitsFeatures:
    """:func:`train_digits_classifier` on float images ``[N, H, W, C]`` in ``[-1, 1]``."""
    module = DigitsMLP()
    x, y = jnp.asarray(images, jnp.float32), jnp.asarray(labels)
    params = module.init(jax.random.key(seed), x[:1])
    optimizer = optax.adamw(1e-3, weight_decay=1e-4)

    def loss_fn(params):
        logits = module.apply(params, x)[0]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def fit(params):
        def step(carry, _):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
        return params

    params = fit(params)
    trained = DigitsFeatures(params=params, test_accuracy=0.0, module=module)
    accuracy = float(np.mean(trained.predict(test_images) == np.asarray(test_labels)))
    return dataclasses.replace(trained, test_accuracy=accuracy)
