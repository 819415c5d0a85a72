"""gensys's own feature networks: digit classifiers whose hidden features score samples.

Sample-quality metrics need a fixed feature network; the standard one (Inception-v3
on ImageNet) means little on 8x8 digits and may not be downloaded here, so gensys
trains a small classifier for each of its image datasets, reproducibly (fixed seed,
full-batch Adam, deterministic on CPU), with one command::

    python -m gensys.eval.feature_nets --dataset=digits   # or mnist

and stores it in ``$GENSYS_FEATURE_DIR`` (default ``~/.cache/gensys/feature_nets``) as
``<name>.msgpack`` (parameters) beside ``<name>.json`` (how it was made and its test
accuracy). The network is :class:`~gensys.eval.digits_classifier.DigitsMLP`; its 64
hidden units are the features and its logits feed the Inception Score analogue.

=========  ===================================  ===============================
name       trains on                            tests on
=========  ===================================  ===============================
digits     scikit-learn digits ``train`` (1,500) ``test`` (297), 8x8, 17 levels
mnist      MNIST IDX ``test[:9000]``            ``test[9000:]``, 28x28, 256 levels
=========  ===================================  ===============================

(The MNIST training set is not kept on these machines; the generative MNIST configs
train on the same 9,000 images, see ``experiments/configs/base.py``.)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import time
from pathlib import Path

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from gensys.data.datasets import load_split
from gensys.eval.digits_classifier import (
    DigitsFeatures,
    DigitsMLP,
    as_float_images,
    train_feature_classifier,
)
from gensys.eval.streaming import map_in_batches

FEATURE_DIR_ENV = "GENSYS_FEATURE_DIR"
TRAIN_STEPS = 1500
SEED = 0


@dataclasses.dataclass(frozen=True)
class FeatureSource:
    """The labelled data a feature network is trained and tested on."""

    dataset: str
    train_split: str
    test_split: str


FEATURE_SOURCES = {
    "digits": FeatureSource("digits", "train", "test"),
    # MNIST's IDX files from --data_dir (the 10,000 test images suffice).
    "mnist": FeatureSource("mnist_idx", "test[:9000]", "test[9000:]"),
}


def default_feature_dir() -> Path:
    env = os.environ.get(FEATURE_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "gensys" / "feature_nets"


@dataclasses.dataclass(frozen=True)
class FeatureNet:
    """A trained classifier of one dataset's images and what it was trained on.

    ``features`` / ``logits`` take images ``[N, H, W, C]`` in ``[-1, 1]`` at any size:
    they are resized to the classifier's ``image_shape`` (area averages for whole
    factors, so a 32x32 sample of an 8x8 dataset is averaged down; antialiased linear
    otherwise) and rounded to its ``num_levels``, the grid real images lie on, so
    samples and real images are scored alike.
    """

    name: str
    classifier: DigitsFeatures
    image_shape: tuple[int, int, int]
    num_levels: int
    info: dict

    @property
    def test_accuracy(self) -> float:
        return self.classifier.test_accuracy

    def prepare(self, images: jax.Array) -> jax.Array:
        return prepare_images(images, self.image_shape, self.num_levels)

    def _outputs(self, images: np.ndarray, output: int, batch_size: int) -> np.ndarray:
        fn = functools.partial(
            _classifier_outputs, image_shape=self.image_shape, num_levels=self.num_levels,
            output=output,
        )  # fmt: skip
        return map_in_batches(fn, images, self.classifier.params, batch_size=batch_size)

    def features(self, images: np.ndarray, *, batch_size: int = 500) -> np.ndarray:
        """Hidden features ``[N, 64]``."""
        return self._outputs(images, 1, batch_size)

    def logits(self, images: np.ndarray, *, batch_size: int = 500) -> np.ndarray:
        """Class logits ``[N, 10]``."""
        return self._outputs(images, 0, batch_size)


def prepare_images(images: jax.Array, image_shape: tuple[int, int, int], num_levels: int):
    """``images [N, H, W, C]`` in ``[-1, 1]`` at ``image_shape`` on ``num_levels`` levels
    (see :class:`FeatureNet`)."""
    (h, w, c), (big_h, big_w) = image_shape, images.shape[1:3]
    if images.ndim != 4 or images.shape[-1] != c:
        raise ValueError(f"images must be [N, H, W, {c}], got shape {images.shape}")
    if big_h % h == 0 and big_w % w == 0:  # area average: undoes nearest upsampling
        x = images.reshape(-1, h, big_h // h, w, big_w // w, c).mean(axis=(2, 4))
    else:
        x = jax.image.resize(images, (images.shape[0], h, w, c), "linear")
    step = 2.0 / (num_levels - 1)
    return jnp.clip(jnp.round((x + 1.0) / step) * step - 1.0, -1.0, 1.0)


@functools.partial(jax.jit, static_argnames=("image_shape", "num_levels", "output"))
def _classifier_outputs(images, params, *, image_shape, num_levels, output):
    return DigitsMLP().apply(params, prepare_images(images, image_shape, num_levels))[output]


def _files(name: str, directory: str | os.PathLike | None) -> tuple[Path, Path]:
    base = Path(directory) if directory else default_feature_dir()
    return base / f"{name}.msgpack", base / f"{name}.json"


def _source(name: str) -> FeatureSource:
    if name not in FEATURE_SOURCES:
        raise ValueError(f"unknown feature network {name!r}; known: {sorted(FEATURE_SOURCES)}")
    return FEATURE_SOURCES[name]


def create_feature_net(
    name: str,
    *,
    directory: str | os.PathLike | None = None,
    data_dir: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> FeatureNet:
    """Trains the feature network ``name`` (:data:`FEATURE_SOURCES`), stores it, returns it."""
    source = _source(name)
    train = load_split(source.dataset, source.train_split, data_dir=data_dir, cache_dir=cache_dir)
    test = load_split(source.dataset, source.test_split, data_dir=data_dir, cache_dir=cache_dir)
    start = time.perf_counter()
    classifier = train_feature_classifier(
        as_float_images(train), train.labels, as_float_images(test), test.labels,
        steps=TRAIN_STEPS, seed=SEED,
    )  # fmt: skip
    info = {
        "name": name, "dataset": source.dataset, "train_split": source.train_split,
        "test_split": source.test_split, "num_train": len(train), "num_test": len(test),
        "image_shape": list(train.spec.image_shape), "num_levels": train.spec.num_levels,
        "network": "DigitsMLP(hidden=(256, 64))", "steps": TRAIN_STEPS, "seed": SEED,
        "test_accuracy": classifier.test_accuracy, "train_seconds": time.perf_counter() - start,
        "jax": jax.__version__,
    }  # fmt: skip
    params_path, info_path = _files(name, directory)
    params_path.parent.mkdir(parents=True, exist_ok=True)
    params_path.write_bytes(flax.serialization.to_bytes(classifier.params))
    info_path.write_text(json.dumps(info, indent=1) + "\n")
    return _net(name, classifier, info)


def _net(name: str, classifier: DigitsFeatures, info: dict) -> FeatureNet:
    return FeatureNet(name, classifier, tuple(info["image_shape"]), info["num_levels"], info)


def load_feature_net(
    name: str, *, directory: str | os.PathLike | None = None, create: bool = False, **create_kwargs
) -> FeatureNet:
    """The stored feature network ``name``; with ``create=True`` it is trained first when it
    is not there, otherwise a ``FileNotFoundError`` names the command that creates it."""
    _source(name)
    params_path, info_path = _files(name, directory)
    if not (params_path.exists() and info_path.exists()):
        if create:
            return create_feature_net(name, directory=directory, **create_kwargs)
        raise FileNotFoundError(
            f"no feature network {name!r} in {params_path.parent}: create it with "
            f"'python -m gensys.eval.feature_nets --dataset={name}'"
        )
    info = json.loads(info_path.read_text())
    module = DigitsMLP()
    template = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, *info["image_shape"])))
    params = flax.serialization.from_bytes(template, params_path.read_bytes())
    return _net(name, DigitsFeatures(params, info["test_accuracy"], module), info)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train and store a gensys feature network.")
    parser.add_argument("--dataset", choices=sorted(FEATURE_SOURCES), default="digits")
    parser.add_argument("--directory", default=None, help=f"default ${FEATURE_DIR_ENV} or ~/.cache")
    parser.add_argument("--data_dir", default=None, help="the dataset's files (MNIST IDX)")
    args = parser.parse_args(argv)
    net = create_feature_net(args.dataset, directory=args.directory, data_dir=args.data_dir)
    logging.set_verbosity(logging.INFO)
    logging.info("stored in %s:\n%s", _files(args.dataset, args.directory)[0].parent,
                 json.dumps(net.info, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
