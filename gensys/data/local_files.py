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
