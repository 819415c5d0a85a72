"""Image grids (and scatter pictures of 2-D points) as PNG files, for looking at samples."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from gensys.data.batches import from_model_output


def make_grid(images: np.ndarray, *, columns: int | None = None, padding: int = 1) -> np.ndarray:
    """Tiles ``[N, H, W, C]`` uint8 images into one ``[rows*(H+p)+p, cols*(W+p)+p, C]`` image."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 [N, H, W, C], got {images.dtype} {images.shape}")
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c), 255, np.uint8
    )
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def save_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    *,
    columns: int | None = None,
    min_size: int = 256,
) -> Path:
    """Saves model outputs in ``[-1, 1]`` (``[N, H, W, C]``) as a PNG grid.

    Small images are enlarged by an integer nearest-neighbour factor so the
    grid is at least ``min_size`` pixels wide (an 8x8 digit is otherwise a speck).
    """
    grid = make_grid(from_model_output(images), columns=columns)
    scale = max(1, math.ceil(min_size / grid.shape[1]))
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return path


def save_captioned_rows(
    rows: np.ndarray,
    captions: list[str] | tuple[str, ...],
    path: str | os.PathLike,
    *,
    cell: int = 32,
) -> Path:
    """Saves model outputs ``[R, C, H, W, ch]`` in ``[-1, 1]`` as a PNG of ``R`` rows, each
    with its caption written to its left (PIL's built-in font); images are enlarged by
    nearest neighbour to about ``cell`` pixels."""
    rows = np.asarray(rows)
    if rows.ndim != 5 or len(captions) != rows.shape[0]:
        raise ValueError(
            f"need rows [R, C, H, W, ch] and R captions, got {rows.shape} and {len(captions)}"
        )
    from PIL import ImageDraw, ImageFont

    scale = max(1, round(cell / rows.shape[2]))
    strips = [
        make_grid(from_model_output(row), columns=row.shape[0]).repeat(scale, 0).repeat(scale, 1)
        for row in rows
    ]
    font = ImageFont.load_default()
    margin = 8 + max(int(font.getlength(text)) for text in captions)
    height, width = strips[0].shape[0], strips[0].shape[1]
    canvas = Image.new("L", (margin + width, height * len(strips)), 255)
    draw = ImageDraw.Draw(canvas)
    for i, (strip, text) in enumerate(zip(strips, captions, strict=True)):
        gray = strip[..., 0] if strip.shape[-1] == 1 else strip.mean(-1).astype(np.uint8)
        canvas.paste(Image.fromarray(gray), (margin, i * height))
        draw.text((4, i * height + height // 2 - 5), text, fill=0, font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def save_points(
    points: np.ndarray,
    path: str | os.PathLike,
    *,
    extent: float = 5.0,
    size: int = 320,
) -> Path:
    """Saves 2-D samples (``[N, 2]``, or ``[N, 1, 1, 2]`` as the toy datasets hold them) as a
    density picture over ``[-extent, extent]^2``: a 2-D histogram, darker where more points
    fell (log scale), with the axes drawn through the origin. Points outside are dropped.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    counts, _, _ = np.histogram2d(
        -points[:, 1], points[:, 0], bins=size, range=[[-extent, extent], [-extent, extent]]
    )  # rows run top to bottom, so y is negated
    shade = np.log1p(counts) / max(np.log1p(counts.max()), 1e-9)
    image = np.full((size, size, 3), 255, np.uint8)
    image[size // 2, :] = image[:, size // 2] = 200  # axes
    ink = np.array([20, 40, 140], np.float64)
    mask = counts > 0
    alpha = (0.25 + 0.75 * shade[mask])[:, None]
    image[mask] = np.round(alpha * ink + (1 - alpha) * 255).astype(np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path
