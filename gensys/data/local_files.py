"""Readers for the standard local file formats (no TFDS, no TensorFlow).

- Binarized MNIST ``.amat`` (Larochelle & Murray 2011): text, one image a line,
  784 values ``0`` / ``1`` separated by spaces, row-major 28x28; optionally gzipped.
- IDX (LeCun et al., the MNIST distribution format): big-endian header
  ``0x00 0x00 <type> <ndim>``, ``ndim`` uint32 dimensions, then the data;
  optionally gzipped.
- CIFAR-10, binary version (Krizhevsky 2009): ``data_batch_1.bin`` .. ``data_batch_5.bin``
  and ``test_batch.bin``, each a run of 3,073-byte records (1 label byte 0..9, then the
  1,024 red, 1,024 green and 1,024 blue bytes of a 32x32 image, rows first), either in
  ``cifar-10-binary.tar.gz`` as distributed or extracted (``cifar-10-batches-bin/``).
  The python version's pickles are never read.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: str | os.PathLike) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"\x1f\x8b":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as error:  # truncated, or damaged on the way
        raise ValueError(
            f"{path} is a damaged gzip file ({type(error).__name__}: {error}); copy or "
            "download it again"
        ) from None


def read_amat(path: str | os.PathLike, side: int = 28) -> np.ndarray:
    """Reads a binarized-MNIST ``.amat`` / ``.amat.gz`` file.

    Every non-blank line must hold exactly ``side * side`` values ``0`` / ``1``: a short
    line followed by a long one would otherwise shift every image after it. Errors name
    the file and the first bad line (1-based).

    Returns:
        uint8 array ``[N, side, side, 1]`` with values in ``{0, 1}``.
    """
    raw = _read_bytes(path)
    codes = np.frombuffer(raw, dtype=np.uint8)
    is_digit = (codes == ord("0")) | (codes == ord("1"))
    other = np.flatnonzero(~is_digit & ~np.isin(codes, np.frombuffer(b"01 \t\r\n", np.uint8)))
    line_of = np.cumsum(codes == ord("\n")) - (codes == ord("\n"))  # 0-based line of a byte
    if other.size:
        first = int(other[0])
        raise ValueError(
            f"{path}, line {int(line_of[first]) + 1}: not a binarized-MNIST .amat file "
            f"(character {chr(codes[first])!r}; only 0, 1 and spaces belong there)"
        )
    dim = side * side
    per_line = np.bincount(line_of[is_digit], minlength=int(line_of[-1]) + 1 if codes.size else 0)
    holding = np.flatnonzero(per_line)  # blank lines are skipped
    wrong = holding[per_line[holding] != dim]
    if wrong.size:
        line = int(wrong[0])
        raise ValueError(
            f"{path}, line {line + 1}: {int(per_line[line])} values, expected {dim} "
            f"({side}x{side}); {wrong.size} line(s) are wrong"
        )
    if not holding.size:
        raise ValueError(f"{path} holds no images (an empty .amat file)")
    digits = codes[is_digit] - ord("0")
    return digits.reshape(holding.size, side, side, 1).astype(np.uint8)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file (``.gz`` or plain) into an array of its stored shape and dtype."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file: bad magic number {raw[:4]!r}")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type 0x{type_code:02x}")
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {dims} ({expected} bytes of data), "
            f"file has {len(raw) - header}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))
    )


def find_file(directory: str | os.PathLike, stem: str) -> Path | None:
    """``directory/stem`` or ``directory/stem.gz``, whichever exists (plain first)."""
    for name in (stem, stem + ".gz"):
        candidate = Path(directory) / name
        if candidate.is_file():
            return candidate
    return None


CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-bin"
CIFAR10_SPLIT_FILES = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32


def parse_cifar10_records(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch: ``(images uint8 [N, 32, 32, 3], labels int64 [N])``.

    Errors name ``name`` and the record: a length that is not a whole number of records
    (a truncated file) or a label byte outside 0..9 (a damaged one, or not CIFAR-10).
    """
    size = CIFAR10_RECORD_BYTES
    if not raw:
        raise ValueError(f"{name} is empty: a CIFAR-10 batch holds {size}-byte records")
    if len(raw) % size:
        raise ValueError(
            f"{name}: {len(raw):,} bytes is not a whole number of {size:,}-byte CIFAR-10 "
            f"records (1 label byte + 3,072 pixel bytes): record {len(raw) // size} is cut "
            f"short after {len(raw) % size} bytes; the file is truncated"
        )
    records = np.frombuffer(raw, np.uint8).reshape(-1, size)
    labels = records[:, 0]
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ValueError(
            f"{name}, record {int(bad[0])}: label byte {int(labels[bad[0]])} is outside 0..9 "
            f"({bad.size} such records); not a CIFAR-10 binary batch, or a damaged one"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _cifar10_from_archive(path: Path) -> dict[str, bytes]:
    """The batch files' bytes by base name, from the distributed ``.tar.gz``."""
    wanted = {name for names in CIFAR10_SPLIT_FILES.values() for name in names}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                base = Path(member.name).name
                if member.isfile() and base in wanted:
                    found[base] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise ValueError(
            f"{path} is a damaged or truncated archive ({type(error).__name__}: {error}); "
            "copy or download it again"
        ) from None
    return found


def _cifar10_from_folder(directory: Path) -> dict[str, bytes]:
    """The batch files' bytes by base name, from ``directory/cifar-10-batches-bin`` or
    ``directory``."""
    names = [name for names in CIFAR10_SPLIT_FILES.values() for name in names]
    for folder in (directory / CIFAR10_FOLDER, directory):
        found = {name: _read_bytes(folder / name) for name in names if (folder / name).is_file()}
        if found:
            return found
    return {}


def read_cifar10(directory: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 from ``directory``: ``{split: (images [N, 32, 32, 3] uint8, labels)}`` for
    ``train`` (the five data batches, in order) and ``test``, whichever are present.

    Reads ``cifar-10-binary.tar.gz`` when the directory has it, else the extracted
    ``.bin`` files. A training split with some of its five batches missing is refused
    (it would silently train on less data).
    """
    directory = Path(directory)
    archive = directory / CIFAR10_ARCHIVE
    if archive.is_file():
        read, where = _cifar10_from_archive(archive), str(archive)
    else:
        read, where = _cifar10_from_folder(directory), str(directory)
    splits = {}
    for split, names in CIFAR10_SPLIT_FILES.items():
        present = [name for name in names if name in read]
        if not present:
            continue
        if len(present) != len(names):
            missing = [name for name in names if name not in read]
            raise FileNotFoundError(
                f"{where}: the CIFAR-10 {split} split needs {', '.join(names)}; "
                f"missing {', '.join(missing)}"
            )
        parts = [parse_cifar10_records(read[name], f"{where}: {name}") for name in names]
        splits[split] = (
            np.concatenate([images for images, _ in parts]),
            np.concatenate([labels for _, labels in parts]),
        )
    if not splits:
        raise FileNotFoundError(
            f"no CIFAR-10 binary files in {directory}: expected {CIFAR10_ARCHIVE}, or "
            f"data_batch_1..5.bin / test_batch.bin in it or in {CIFAR10_FOLDER}/ (the python "
            "version's pickles are not read)"
        )
    return splits


def write_cifar10(
    directory: str | os.PathLike,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    archive: bool = False,
) -> Path:
    """Writes images in CIFAR-10's binary format, the inverse of :func:`read_cifar10`.

    ``splits``: ``{"train": (images uint8 [N, 32, 32, 3], labels 0..9), "test": ...}``;
    ``train`` is cut into the five ``data_batch_<i>.bin`` files (so ``N >= 5``). Writes
    ``directory/cifar-10-batches-bin/``, or with ``archive`` ``cifar-10-binary.tar.gz``;
    returns that path. For tests and for converting other data to the format.
    """
    import io

    contents = {}
    for split, (images, labels) in splits.items():
        if split not in CIFAR10_SPLIT_FILES:
            raise ValueError(f"splits must be among {list(CIFAR10_SPLIT_FILES)}, got {split!r}")
        images, labels = np.asarray(images), np.asarray(labels)
        if images.dtype != np.uint8 or images.shape[1:] != (32, 32, 3):
            raise ValueError(f"{split}: images must be uint8 [N, 32, 32, 3], got {images.shape}")
        if labels.shape != images.shape[:1] or labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"{split}: one label in 0..9 per image, got {labels.shape}")
        names = CIFAR10_SPLIT_FILES[split]
        if len(images) < len(names):
            raise ValueError(f"{split}: at least {len(names)} images, got {len(images)}")
        planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # R, G, B planes
        records = np.concatenate([labels.astype(np.uint8)[:, None], planes], axis=1)
        for name, part in zip(names, np.array_split(records, len(names)), strict=True):
            contents[name] = part.tobytes()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if archive:
        path = directory / CIFAR10_ARCHIVE
        with tarfile.open(path, "w:gz") as tar:
            for name, raw in contents.items():
                info = tarfile.TarInfo(f"{CIFAR10_FOLDER}/{name}")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        return path
    folder = directory / CIFAR10_FOLDER
    folder.mkdir(exist_ok=True)
    for name, raw in contents.items():
        (folder / name).write_bytes(raw)
    return folder
