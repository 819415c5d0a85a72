"""TFDS builders for the datasets gensys serves itself.

They are prepared on first use into ArrayRecord files and read back with
``tfds.data_source``, the same TensorFlow-free path as catalogue datasets.

- ``gensys_digits``: scikit-learn's bundled 8x8 digits (1,797 images, values
  0..16), split once by a fixed permutation into 1,500 train and 297 test.
- ``gensys_binarized_mnist``: binarized MNIST from the standard ``.amat`` files
  in a manual directory (train, valid, test: whichever are present).
- ``gensys_mnist_idx``: MNIST (or any IDX-format image set) from
  ``train-*`` / ``t10k-*`` IDX files in a manual directory, as splits
  ``train`` and ``test`` (whichever are present).
- ``gensys_cifar10``: CIFAR-10 from the binary distribution (``cifar-10-binary.tar.gz``
  or its extracted ``.bin`` files) in a manual directory, as ``train`` and ``test``.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from gensys.data import local_files

DIGITS_NUM_TRAIN = 1500
DIGITS_SPLIT_SEED = 0

AMAT_SPLITS = ("train", "valid", "test")
IDX_SPLITS = {"train": "train", "test": "t10k"}


def digits_arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Digits split by a fixed permutation: ``{split: (images uint8 [N, 8, 8, 1], labels)}``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(images))
    train, test = order[:DIGITS_NUM_TRAIN], order[DIGITS_NUM_TRAIN:]
    return {"train": (images[train], labels[train]), "test": (images[test], labels[test])}


def _examples(images: np.ndarray, labels: np.ndarray | None):
    for i, image in enumerate(images):
        example = {"image": image}
        if labels is not None:
            example["label"] = int(labels[i])
        yield i, example


def _image_info(
    builder: tfds.core.DatasetBuilder,
    description: str,
    image_shape: tuple[int, int, int],
    num_classes: int | None,
) -> tfds.core.DatasetInfo:
    """uint8 images of ``image_shape`` and, when ``num_classes`` is set, class labels."""
    features = {"image": tfds.features.Tensor(shape=image_shape, dtype=np.uint8)}
    if num_classes is not None:
        features["label"] = tfds.features.ClassLabel(num_classes=num_classes)
    return tfds.core.DatasetInfo(
        builder=builder,
        description=description,
        features=tfds.features.FeaturesDict(features),
        supervised_keys=("image", "label") if num_classes is not None else None,
    )


class GensysDigits(tfds.core.GeneratorBasedBuilder):
    """scikit-learn's 8x8 digits (UCI optdigits test set), 17 gray levels."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "1,500 train / 297 test by a fixed permutation (seed 0)."}

    def _info(self) -> tfds.core.DatasetInfo:
        return _image_info(
            self, "8x8 handwritten digits with values 0..16 (scikit-learn).", (8, 8, 1), 10
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {name: _examples(*arrays) for name, arrays in digits_arrays().items()}

    def _generate_examples(self, images, labels):
        yield from _examples(images, labels)


class GensysBinarizedMnist(tfds.core.GeneratorBasedBuilder):
    """Statically binarized MNIST (Larochelle & Murray 2011) from local ``.amat`` files."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Place binarized_mnist_{train,valid,test}.amat (or .amat.gz) in a directory "
        "and pass it as --config.data.dir."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _image_info(
            self, "Binarized MNIST, 28x28, values 0/1, no labels.", (28, 28, 1), None
        )

    def _split_generators(self, dl_manager):
        splits = {}
        for split in AMAT_SPLITS:
            path = local_files.find_file(dl_manager.manual_dir, f"binarized_mnist_{split}.amat")
            if path is not None:
                splits[split] = _examples(local_files.read_amat(path), None)
        if not splits:
            raise FileNotFoundError(
                f"no binarized_mnist_<split>.amat[.gz] file in {dl_manager.manual_dir}"
            )
        return splits

    def _generate_examples(self, images):
        yield from _examples(images, None)


class GensysMnistIdx(tfds.core.GeneratorBasedBuilder):
    """MNIST-format grayscale images and labels from local IDX files."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Place train-images-idx3-ubyte / train-labels-idx1-ubyte and/or t10k-images-idx3-ubyte "
        "/ t10k-labels-idx1-ubyte (optionally .gz) in a directory and pass it as "
        "--config.data.dir."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _image_info(
            self, "MNIST from IDX files, 28x28 grayscale 0..255, 10 classes.", (28, 28, 1), 10
        )

    def _split_generators(self, dl_manager):
        splits = {}
        for split, prefix in IDX_SPLITS.items():
            images_path = local_files.find_file(
                dl_manager.manual_dir, f"{prefix}-images-idx3-ubyte"
            )
            if images_path is None:
                continue
            labels_path = local_files.find_file(
                dl_manager.manual_dir, f"{prefix}-labels-idx1-ubyte"
            )
            if labels_path is None:
                raise FileNotFoundError(
                    f"{images_path} has no labels file {prefix}-labels-idx1-ubyte[.gz] beside it"
                )
            images = local_files.read_idx(images_path)
            labels = local_files.read_idx(labels_path)
            if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
                raise ValueError(f"{images_path}: expected uint8 [N, 28, 28], got {images.shape}")
            if labels.shape != (images.shape[0],):
                raise ValueError(
                    f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images"
                )
            bad = np.flatnonzero((labels < 0) | (labels > 9))
            if bad.size:
                raise ValueError(
                    f"{labels_path}, record {int(bad[0])}: label {int(labels[bad[0]])} is "
                    f"outside 0..9 ({bad.size} such records)"
                )
            splits[split] = _examples(images[..., None], labels)
        if not splits:
            raise FileNotFoundError(
                f"no train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz] in "
                f"{dl_manager.manual_dir}"
            )
        return splits

    def _generate_examples(self, images, labels):
        yield from _examples(images, labels)


class GensysCifar10(tfds.core.GeneratorBasedBuilder):
    """CIFAR-10 (Krizhevsky 2009) from the local binary distribution."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Place cifar-10-binary.tar.gz (or its extracted cifar-10-batches-bin/ folder, or "
        "data_batch_1..5.bin and test_batch.bin) in a directory and pass it as "
        "--config.data.dir."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _image_info(
            self, "CIFAR-10, 32x32 RGB 0..255, 10 classes, 50,000 train / 10,000 test.",
            (32, 32, 3), 10,
        )  # fmt: skip

    def _split_generators(self, dl_manager):
        arrays = local_files.read_cifar10(dl_manager.manual_dir)
        return {split: _examples(images, labels) for split, (images, labels) in arrays.items()}

    def _generate_examples(self, images, labels):
        yield from _examples(images, labels)
