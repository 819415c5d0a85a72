"""Batches from an in-memory split: deterministic, resumable, fixed-shape.

- The order of epoch ``e`` is a permutation drawn from ``seed`` and ``e`` alone,
  so it does not depend on where a run was interrupted.
- Every batch has the same shape: the short last batch of an epoch is padded
  with zeros and carries ``mask = 0`` on the padding, so a jitted step is traced
  once. Losses and metrics must weight examples by ``batch["mask"]``. With
  ``drop_remainder`` (networks with batch statistics, which would count the padding)
  the short batch is dropped instead; each epoch's permutation is new, so no example is
  left out for good.
- A training batch larger than the split is an error, not mostly padding.
- The position (epoch and batch within it) is a small dict that a checkpoint
  stores; restoring it gives exactly the batches an uninterrupted run would see.
- With several processes, each one returns its own contiguous slice of every
  global batch (``process_index`` of ``process_count``).
- ``random_flip`` mirrors each training image left to right with probability 1/2 (Ho et
  al. 2020 on CIFAR-10), the coins drawn from ``seed``, epoch and position: resumed runs
  see the same flips.

A batch is a dict of NumPy arrays: ``image`` (float32 in [-1, 1], or int32 levels
in ``[0, num_levels)``), ``label`` int32 (-1 when unlabeled) and ``mask`` float32.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from gensys.data.datasets import ArraySplit

REPRESENTATIONS = ("float", "levels")


def to_model_input(images: np.ndarray, num_levels: int, representation: str) -> np.ndarray:
    """Integer levels ``[0, L)`` to the model's representation.

    ``"float"``: ``x = 2 * level / (L - 1) - 1`` in ``[-1, 1]`` (float32);
    ``"levels"``: the integer levels as int32. Continuous data (``num_levels = 0``,
    the 2-D toy densities) are passed through as float32 and have no levels.
    """
    if num_levels == 0:
        if representation != "float":
            raise ValueError("continuous data (num_levels = 0) has no integer levels")
        return images.astype(np.float32)
    if representation == "float":
        return images.astype(np.float32) * np.float32(2.0 / (num_levels - 1)) - np.float32(1.0)
    if representation == "levels":
        return images.astype(np.int32)
    raise ValueError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")


def from_model_output(x: np.ndarray) -> np.ndarray:
    """``[-1, 1]`` floats to uint8 ``[0, 255]`` for viewing and saving."""
    return np.clip(np.round((np.asarray(x, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


class BatchIterator(Iterator[dict[str, np.ndarray]]):
    """Endless epoch-based batches over an :class:`ArraySplit`."""

    def __init__(
        self,
        data: ArraySplit,
        batch_size: int,
        *,
        seed: int,
        shuffle: bool = True,
        representation: str = "float",
        process_index: int = 0,
        process_count: int = 1,
        drop_remainder: bool = False,
        random_flip: bool = False,
    ):
        if len(data) == 0:
            raise ValueError(f"dataset {data.name!r} split {data.split!r} is empty")
        if batch_size > len(data):
            raise ValueError(
                f"batch size {batch_size} is larger than {data.name}/{data.split} "
                f"({len(data)} examples): set data.batch_size to at most {len(data)}"
            )
        if batch_size < 1 or batch_size % process_count:
            raise ValueError(
                f"batch_size must be a positive multiple of the process count "
                f"{process_count}, got {batch_size}"
            )
        if representation not in REPRESENTATIONS:
            raise ValueError(
                f"representation must be one of {REPRESENTATIONS}, got {representation!r}"
            )
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.representation = representation
        self.process_index = process_index
        self.process_count = process_count
        self.drop_remainder = drop_remainder
        self.random_flip = random_flip
        self.batches_per_epoch = (
            len(data) // batch_size if drop_remainder else math.ceil(len(data) / batch_size)
        )
        self.epoch = 0
        self.position = 0
        self._order: np.ndarray | None = None

    def get_state(self) -> dict[str, int]:
        """The position, as a JSON-serialisable dict."""
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def set_state(self, state: dict[str, int]) -> None:
        """Restores a position saved by :meth:`get_state`."""
        if int(state.get("seed", self.seed)) != self.seed:
            raise ValueError(
                f"iterator state was saved with seed {state['seed']}, this iterator has {self.seed}"
            )
        position = int(state["position"])
        if not 0 <= position < self.batches_per_epoch:
            raise ValueError(
                f"iterator position must be in [0, {self.batches_per_epoch}), got {position}"
            )
        self.epoch, self.position = int(state["epoch"]), position
        self._order = None

    def _epoch_order(self) -> np.ndarray:
        if self._order is None:
            n = len(self.data)
            self._order = (
                np.random.default_rng([self.seed, self.epoch]).permutation(n)
                if self.shuffle
                else np.arange(n)
            )
        return self._order

    def __next__(self) -> dict[str, np.ndarray]:
        order = self._epoch_order()
        start = self.position * self.batch_size
        indices = order[start : start + self.batch_size]
        flip = None
        if self.random_flip:  # one coin per example of the global batch
            coins = np.random.default_rng([self.seed, self.epoch, self.position, 1])
            flip = coins.random(self.batch_size) < 0.5
        batch = make_batch(
            self.data,
            indices,
            self.batch_size,
            self.representation,
            self.process_index,
            self.process_count,
            flip=flip,
        )
        self.position += 1
        if self.position == self.batches_per_epoch:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        return batch


def make_batch(
    data: ArraySplit,
    indices: np.ndarray,
    batch_size: int,
    representation: str,
    process_index: int = 0,
    process_count: int = 1,
    *,
    flip: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The process-local part of a global batch of ``indices``, padded to ``batch_size``;
    ``flip [batch_size]``: which examples of the global batch to mirror left to right."""
    valid = len(indices)
    padded = np.zeros(batch_size, dtype=np.int64)
    padded[:valid] = indices
    mask = np.zeros(batch_size, dtype=np.float32)
    mask[:valid] = 1.0
    local = batch_size // process_count
    sl = slice(process_index * local, (process_index + 1) * local)
    idx, mask = padded[sl], mask[sl]
    images = data.images[idx]
    if flip is not None:
        images = np.where(flip[sl].reshape(-1, 1, 1, 1), images[:, :, ::-1], images)
    images = to_model_input(images, data.spec.num_levels, representation)
    images = images * mask.reshape(-1, 1, 1, 1).astype(images.dtype)
    labels = np.where(mask > 0, data.labels[idx], -1).astype(np.int32)
    return {"image": images, "label": labels, "mask": mask}


def eval_batches(
    data: ArraySplit,
    batch_size: int,
    *,
    representation: str = "float",
    process_index: int = 0,
    process_count: int = 1,
    max_examples: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """One ordered pass over (the first ``max_examples`` of) a split, padded and masked."""
    n = len(data) if max_examples is None else min(len(data), max_examples)
    for start in range(0, n, batch_size):
        indices = np.arange(start, min(start + batch_size, n))
        yield make_batch(data, indices, batch_size, representation, process_index, process_count)
