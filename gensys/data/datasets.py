"""The datasets gensys knows, and loading one split of them into memory.

Every dataset goes through tensorflow-datasets' ArrayRecord path
(``download_and_prepare(file_format="array_record")`` then a data source), which
needs no TensorFlow. There are three kinds:

- ``builtin``: prepared on first use from data that ships with a package
  (``digits``, from scikit-learn);
- ``local``: prepared from standard files in a directory the user gives
  (``binarized_mnist``: ``.amat``; ``mnist_idx``: IDX; ``cifar10_binary``: CIFAR-10's
  binary distribution), the TFDS manual-directory pattern;
- ``synthetic``: the 2-D toy densities of :mod:`gensys.data.toy2d`
  (``gaussians8``, ``two_moons``, ``checkerboard``), drawn in memory from a
  fixed seed per split; continuous (``num_levels = 0``), shaped ``[N, 1, 1, 2]``;
- ``catalogue``: TFDS catalogue datasets (``mnist``, ``fashion_mnist``,
  ``cifar10``), read when already prepared in ArrayRecord format and downloaded
  only when ``download=True`` and their source answers. Offline, TFDS itself
  retries for minutes; gensys fails at once and says what to do.

Splits accept TFDS slicing, e.g. ``"test[:9000]"``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import socket
import urllib.parse
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from gensys.data import builders, toy2d


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What gensys needs to know about a dataset before reading it."""

    kind: str  # "builtin", "local", "synthetic" or "catalogue"
    builder: str  # TFDS builder name (synthetic: the toy density's name)
    image_shape: tuple[int, int, int]
    num_levels: int  # distinct pixel values: 2 (binary), 17 (digits), 256 (8-bit); 0: continuous
    num_classes: int | None
    source_url: str | None = None  # catalogue datasets: where download_and_prepare fetches from


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec("builtin", "gensys_digits", (8, 8, 1), 17, 10),
    "binarized_mnist": DatasetSpec("local", "gensys_binarized_mnist", (28, 28, 1), 2, None),
    "mnist_idx": DatasetSpec("local", "gensys_mnist_idx", (28, 28, 1), 256, 10),
    "cifar10_binary": DatasetSpec("local", "gensys_cifar10", (32, 32, 3), 256, 10),
    "gaussians8": DatasetSpec("synthetic", "gaussians8", (1, 1, 2), 0, None),
    "two_moons": DatasetSpec("synthetic", "two_moons", (1, 1, 2), 0, None),
    "checkerboard": DatasetSpec("synthetic", "checkerboard", (1, 1, 2), 0, None),
    "mnist": DatasetSpec(
        "catalogue",
        "mnist",
        (28, 28, 1),
        256,
        10,
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion_mnist": DatasetSpec(
        "catalogue",
        "fashion_mnist",
        (28, 28, 1),
        256,
        10,
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar10": DatasetSpec(
        "catalogue",
        "cifar10",
        (32, 32, 3),
        256,
        10,
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    ),
}

_BUILDER_CLASSES = {
    "gensys_digits": builders.GensysDigits,
    "gensys_binarized_mnist": builders.GensysBinarizedMnist,
    "gensys_mnist_idx": builders.GensysMnistIdx,
    "gensys_cifar10": builders.GensysCifar10,
}


class DatasetNotAvailableError(RuntimeError):
    """A dataset is neither prepared locally nor fetchable right now."""


@dataclasses.dataclass(frozen=True)
class ArraySplit:
    """One split in memory: integer pixel levels and labels.

    Attributes:
        images: uint8 ``[N, H, W, C]`` with values in ``[0, num_levels)``, or
            float32 values for continuous data (``spec.num_levels == 0``).
        labels: int32 ``(N,)``; -1 where the dataset has no labels.
        spec: the dataset's :class:`DatasetSpec`.
        name: dataset name; split: the split string it was read with.
    """

    images: np.ndarray
    labels: np.ndarray
    spec: DatasetSpec
    name: str
    split: str

    def __len__(self) -> int:
        return int(self.images.shape[0])


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of a known dataset; ``ValueError`` listing the known ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def default_cache_dir() -> Path:
    """Where gensys prepares its own builders: ``$GENSYS_DATA_DIR`` or ``~/.cache/gensys/tfds``."""
    env = os.environ.get("GENSYS_DATA_DIR")
    return Path(env) if env else Path.home() / ".cache" / "gensys" / "tfds"


def load_split(
    name: str,
    split: str,
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = False,
) -> ArraySplit:
    """Reads one split of a dataset into memory.

    Args:
        name: a key of :data:`DATASETS`.
        split: a TFDS split string (``"train"``, ``"test[:9000]"``, ...).
        data_dir: for ``local`` datasets, the directory holding the standard
            files (required); for ``catalogue`` datasets, the TFDS data
            directory where they are prepared (TFDS's default when ``None``);
            unused for ``builtin`` ones.
        cache_dir: where gensys prepares builtin and local datasets
            (:func:`default_cache_dir` when ``None``).
        download: allow a catalogue dataset that is not prepared to be fetched.

    Raises:
        ValueError: unknown dataset or split.
        DatasetNotAvailableError: not prepared and not fetchable (at once, no retries).
    """
    spec = get_spec(name)
    if spec.kind == "synthetic":
        points = toy2d.load_points(spec.builder, split)
        labels = np.full((len(points),), -1, dtype=np.int32)
        return ArraySplit(images=points, labels=labels, spec=spec, name=name, split=split)
    builder = prepare_dataset(name, data_dir=data_dir, cache_dir=cache_dir, download=download)
    available = list(builder.info.splits.keys())
    base_split = split.split("[", 1)[0]
    if available and base_split not in available:
        raise ValueError(f"dataset {name!r} has no split {split!r}; available: {available}")
    source = builder.as_data_source(split=split)
    return _to_arrays(source, spec, name, split)


def prepare_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = False,
) -> tfds.core.DatasetBuilder:
    """Returns the dataset's TFDS builder, prepared (see :func:`load_split` for the args)."""
    spec = get_spec(name)
    if spec.kind == "synthetic":
        raise ValueError(f"dataset {name!r} is drawn in memory; there is nothing to prepare")
    if spec.kind == "catalogue":
        builder = tfds.builder(
            spec.builder,
            data_dir=None if data_dir is None else str(data_dir),
            file_format="array_record",
        )
        if not builder.is_prepared():
            where = builder.data_dir
            if not download:
                raise DatasetNotAvailableError(
                    f"dataset {name!r} is not prepared in {where}. Prepare it on a machine "
                    f"with internet access (python -m gensys.data.prepare {name} --data_dir=DIR) "
                    f"and pass --config.data.dir=DIR, or set --config.data.download=True to "
                    f"fetch it now."
                )
            if not source_reachable(spec.source_url):
                raise DatasetNotAvailableError(
                    f"dataset {name!r} is not prepared in {where} and its source "
                    f"{spec.source_url} cannot be reached from this machine. Prepare it "
                    f"elsewhere (python -m gensys.data.prepare {name} --data_dir=DIR) and "
                    f"pass --config.data.dir=DIR."
                )
            builder = _prepared(
                lambda: tfds.builder(
                    spec.builder,
                    data_dir=None if data_dir is None else str(data_dir),
                    file_format="array_record",
                ),
                file_format="array_record",
            )
        return builder

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    builder_cls = _BUILDER_CLASSES[spec.builder]
    if spec.kind == "builtin":
        return _prepared(lambda: builder_cls(data_dir=str(root), file_format="array_record"))

    if data_dir is None:
        raise DatasetNotAvailableError(
            f"dataset {name!r} is read from local files: pass their directory as "
            f"--config.data.dir. {builder_cls.MANUAL_DOWNLOAD_INSTRUCTIONS}"
        )
    manual_dir = Path(data_dir).expanduser().resolve()
    if not manual_dir.is_dir():
        raise DatasetNotAvailableError(f"data directory for {name!r} does not exist: {manual_dir}")
    # One prepared copy per set of source files, so another directory (or
    # changed files) is never served from a stale preparation.
    local_root = str(root / "local" / _fingerprint(manual_dir))
    return _prepared(
        lambda: builder_cls(data_dir=local_root, file_format="array_record"),
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)),
    )


def _prepared(make_builder, **prepare_options) -> tfds.core.DatasetBuilder:
    """``make_builder()``'s dataset, prepared once however many jobs ask at the same time.

    TFDS writes into a temporary directory and renames it, but two jobs preparing the same
    dataset collide on that rename (``FileExistsError``). Preparation therefore holds an
    exclusive lock beside the dataset; a job that waited for it finds the dataset prepared
    by the other and reuses it (a fresh builder: the waiting one's info predates it).
    """
    builder = make_builder()
    if builder.is_prepared():
        return builder
    lock_path = Path(builder.data_dir).parent.parent / f".{builder.name}.prepare.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the job dies
        builder = make_builder()
        if not builder.is_prepared():
            builder.download_and_prepare(**prepare_options)
    return builder


def _fingerprint(directory: Path) -> str:
    """Names, sizes and times of the files in ``directory`` and its direct subfolders
    (CIFAR-10's extracted batches sit in one): a changed file prepares anew."""
    h = hashlib.sha256(str(directory).encode())
    files = [p for p in directory.iterdir() if p.is_file()]
    files += [p for d in directory.iterdir() if d.is_dir() for p in d.iterdir() if p.is_file()]
    for path in sorted(files):
        stat = path.stat()
        h.update(f"{path.relative_to(directory)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def source_reachable(url: str | None, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds."""
    if not url:
        return False
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _to_arrays(source, spec: DatasetSpec, name: str, split: str) -> ArraySplit:
    # Record by record: as fast as __getitems__ here (about 80 us a record), and
    # the only access that tfds.testing.mock_data's sources support.
    n = len(source)
    images = np.zeros((n, *spec.image_shape), dtype=np.uint8)
    labels = np.full((n,), -1, dtype=np.int32)
    for i in range(n):
        record = source[i]
        image = np.asarray(record["image"])
        if image.shape != spec.image_shape:
            raise ValueError(
                f"dataset {name!r}: record {i} has image shape {image.shape}, "
                f"expected {spec.image_shape}"
            )
        images[i] = image
        if "label" in record:
            labels[i] = int(record["label"])
    if n and int(images.max()) >= spec.num_levels:
        raise ValueError(
            f"dataset {name!r}: pixel value {int(images.max())} exceeds its "
            f"{spec.num_levels} levels"
        )
    return ArraySplit(images=images, labels=labels, spec=spec, name=name, split=split)
