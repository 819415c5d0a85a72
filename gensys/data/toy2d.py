"""Two-dimensional toy densities with known entropy, for exact checks.

They are the densities of FFJORD (Grathwohl et al. 2019) and most flow and GAN
papers since, drawn here from a fixed seed per split so every run sees the same
points (train 50,000, test 10,000):

- ``gaussians8``: an equal mixture of 8 isotropic Gaussians, std ``1 / (2 sqrt 2)``
  (0.354), centred on a ring of radius ``2 sqrt 2`` (2.83) at angles ``k pi / 4``.
  Entropy 2.833 nats by Monte Carlo with :func:`gaussians8_log_density`
  (:data:`ENTROPIES`), a little under
  ``ln 8 + 1 + ln(2 pi s^2)`` = 2.838 as the components overlap.
  The centres and std are :data:`GAUSSIANS8_MODES` and :data:`GAUSSIANS8_STD`:
  GAN mode coverage is measured against them.
- ``two_moons``: scikit-learn's interleaved half circles with noise 0.1,
  scaled by 2 and centred. Entropy 2.394 nats (:data:`ENTROPIES`).
- ``checkerboard``: uniform on the 8 dark squares of a 4 x 4 board of side-2
  squares over ``[-4, 4]^2``: area 32, entropy ``ln 32`` = 3.466 nats.

Points are float32 ``[N, 1, 1, 2]`` (one "pixel" with two channels), so they
travel through the same batches as images; the data are continuous
(``num_levels = 0``) and are fed to models as they are, not rescaled.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

SPLIT_SIZES = {"train": 50_000, "test": 10_000}

GAUSSIANS8_STD = 1.0 / (2.0 * np.sqrt(2.0))
GAUSSIANS8_MODES = (
    2.0
    * np.sqrt(2.0)
    * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=-1)
).astype(np.float32)


def gaussians8(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points ``[n, 2]`` from the ring of 8 Gaussians."""
    modes = rng.integers(0, 8, size=n)
    return GAUSSIANS8_MODES[modes] + GAUSSIANS8_STD * rng.standard_normal((n, 2))


def mixture_log_density(x: np.ndarray, centres: np.ndarray, std: float) -> np.ndarray:
    """``log p(x)`` of an equal mixture of ``N(centre, std^2 I)`` in 2-D, ``[N, 2] -> (N,)``,
    in chunks of points so the ``[points, centres]`` table stays small."""
    chunk = max(1, 4_000_000 // len(centres))
    out = np.empty(len(x))
    for i in range(0, len(x), chunk):
        sq = np.sum(np.square(x[i : i + chunk, None, :] - centres[None]), axis=-1)
        log_component = -0.5 * sq / std**2 - np.log(2 * np.pi * std**2)
        top = log_component.max(axis=1, keepdims=True)
        log_mean = np.log(np.mean(np.exp(log_component - top), axis=1, keepdims=True))
        out[i : i + chunk] = (top + log_mean)[:, 0]
    return out


def gaussians8_log_density(x: np.ndarray) -> np.ndarray:
    """Exact ``log p(x)`` of the ring, ``[N, 2] -> (N,)``."""
    return mixture_log_density(x, GAUSSIANS8_MODES.astype(np.float64), GAUSSIANS8_STD)


def two_moons(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points ``[n, 2]``: two interleaved half circles with Gaussian noise 0.1, x 2."""
    upper = rng.random(n) < 0.5
    angle = np.pi * rng.random(n)
    x = np.where(upper, np.cos(angle), 1.0 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], axis=-1) + 0.1 * rng.standard_normal((n, 2))
    return 2.0 * (points - np.array([0.5, 0.25]))


def checkerboard(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points ``[n, 2]`` uniform on the dark squares of the board."""
    x1 = rng.random(n) * 4.0 - 2.0
    x2 = rng.random(n) - 2.0 * rng.integers(0, 2, size=n) + np.floor(x1) % 2
    return 2.0 * np.stack([x1, x2], axis=-1)


def on_checkerboard(x: np.ndarray) -> np.ndarray:
    """Whether each point of ``[N, 2]`` lies on a dark square (where the density is 1/32)."""
    cells = np.floor(x / 2.0)
    inside = np.all(np.abs(x) <= 4.0, axis=-1)
    return inside & ((cells[:, 0] + cells[:, 1]) % 2 == 0)


def two_moons_log_density(x: np.ndarray, num_angles: int = 256) -> np.ndarray:
    """``log p(x)`` of :func:`two_moons`, ``[N, 2] -> (N,)``: each moon is its half circle
    (after the x 2 scaling) blurred by ``N(0, 0.2^2 I)``, the angle integrated by the
    midpoint rule over ``num_angles`` points (against 4,000 angles: mean error
    5e-7 nats, largest 0.005 in the far tails)."""
    angle = (np.arange(num_angles) + 0.5) * np.pi / num_angles
    upper = np.stack([np.cos(angle), np.sin(angle)], -1)
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], -1)
    centres = 2.0 * (np.concatenate([upper, lower]) - np.array([0.5, 0.25]))
    return mixture_log_density(x, centres, 0.2)


def checkerboard_log_density(x: np.ndarray) -> np.ndarray:
    """``log p(x)``: ``-ln 32`` on the dark squares, ``-inf`` elsewhere."""
    return np.where(on_checkerboard(x), -np.log(32.0), -np.inf)


SAMPLERS = {"gaussians8": gaussians8, "two_moons": two_moons, "checkerboard": checkerboard}
LOG_DENSITIES = {
    "gaussians8": gaussians8_log_density,
    "two_moons": two_moons_log_density,
    "checkerboard": checkerboard_log_density,
}
# Entropy in nats, the floor of any model's test NLL: gaussians8 and two_moons by
# entropy_monte_carlo(name, 2_000_000, seed=12345) (standard errors 0.0007 and 0.0005),
# checkerboard exactly ln 32.
ENTROPIES = {"gaussians8": 2.833, "two_moons": 2.394, "checkerboard": float(np.log(32.0))}


def entropy_monte_carlo(name: str, num: int, seed: int = 0) -> tuple[float, float]:
    """``(-mean log p(x), its standard error)`` over ``num`` fresh points of density ``name``."""
    rng = np.random.default_rng(seed)
    log_p = LOG_DENSITIES[name](SAMPLERS[name](rng, num))
    return float(-log_p.mean()), float(log_p.std() / np.sqrt(num))


def load_points(name: str, split: str) -> np.ndarray:
    """The fixed points of ``split`` (``"train"``, ``"test"``, optionally sliced as
    ``"train[:1000]"``) as float32 ``[N, 1, 1, 2]``."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown toy density {name!r}; known: {sorted(SAMPLERS)}")
    match = re.fullmatch(r"(\w+)(?:\[(-?\d*):(-?\d*)\])?", split)
    if match is None or match.group(1) not in SPLIT_SIZES:
        raise ValueError(
            f"toy dataset {name!r} has no split {split!r}; available: {sorted(SPLIT_SIZES)} "
            f"(optionally sliced by index, e.g. 'train[:1000]')"
        )
    base, start, stop = match.groups()
    # A seed per (density, split): the same points in every run and process.
    rng = np.random.default_rng(zlib.crc32(f"{name}/{base}".encode()))
    points = SAMPLERS[name](rng, SPLIT_SIZES[base]).astype(np.float32)
    points = points[slice(int(start) if start else None, int(stop) if stop else None)]
    return points.reshape(-1, 1, 1, 2)
