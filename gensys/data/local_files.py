"""Readers for the standard local file formats (no TFDS, no TensorFlow).

- Binarized MNIST ``.amat`` (Larochelle & Murray 2011): text, one image a line,
  784 values ``0`` / ``1`` separated by spaces, row-major 28x28; optionally gzipped.
- IDX (LeCun et al., the MNIST distribution format): big-endian header
  ``0x00 0x00 <type> <ndim>``, ``ndim`` uint32 dimensions, then the data;
  optionally gzipped.
"""

from __future__ import annotations

import gzip
import os
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
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return f.read()


def read_amat(path: str | os.PathLike, side: int = 28) -> np.ndarray:
    """Reads a binarized-MNIST ``.amat`` / ``.amat.gz`` file.

    Returns:
        uint8 array ``[N, side, side, 1]`` with values in ``{0, 1}``.
    """
    raw = _read_bytes(path)
    lines = [line for line in raw.splitlines() if line.strip()]
    codes = np.frombuffer(raw, dtype=np.uint8)
    digits = codes[(codes == ord("0")) | (codes == ord("1"))] - ord("0")
    other = codes[~np.isin(codes, np.frombuffer(b"01 \t\r\n", dtype=np.uint8))]
    dim = side * side
    if other.size or digits.size != len(lines) * dim:
        raise ValueError(
            f"{path} is not a binarized-MNIST .amat file: expected {dim} values 0/1 "
            f"on each of its {len(lines)} lines, found {digits.size} binary values"
            + (f" and {other.size} other characters" if other.size else "")
        )
    return digits.reshape(len(lines), side, side, 1).astype(np.uint8)


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
