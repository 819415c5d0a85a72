"""FID (Heusel et al. 2017) with the standard Inception-v3 features, loaded from a local file.

gensys never downloads weights. FID needs the TensorFlow FID Inception graph's
weights as pytorch-fid publishes them (``pt_inception-2015-12-05-6726825d.pth``);
convert that file once on a machine with PyTorch::

    python -m gensys.eval.fid convert pt_inception-2015-12-05-6726825d.pth inception_fid.npz

and point ``GENSYS_INCEPTION_WEIGHTS`` (or the ``path`` argument) at the ``.npz``. Its
keys are the PyTorch ``state_dict`` names; :func:`variables_from_state_dict` checks
every name and shape.

The score follows the standard protocol:

1. images ``[N, H, W, C]`` in ``[-1, 1]`` are quantized to 8 bits, as saved samples
   are (clean-fid, Parmar et al. 2022);
2. resized to 299 x 299 in floating point with an antialiased bicubic filter, the
   resizing clean-fid recommends in place of the framework-specific bilinear
   resize of uint8 images (which aliases); grey images are repeated to 3 channels;
3. scaled to ``[-1, 1]`` and passed through :class:`~gensys.eval.inception_net.FIDInceptionV3`;
4. ``FID = ||mu_r - mu_g||^2 + tr(C_r + C_g - 2 sqrtm(C_r C_g))`` in float64 with
   pytorch-fid's check of the square root's imaginary part
   (:func:`gensys.eval.frechet.frechet_distance` with ``method="sqrtm"``).

Statistics stream in batches (:class:`gensys.eval.frechet.GaussianMoments`), so a
50,000-image reference never has to fit in memory. JAX's bicubic resize and PIL's
differ at the level of rounding, so FIDs here match clean-fid's to about that
level, not bit for bit; nothing here has been compared against published weights on
this machine (none may be downloaded).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gensys.eval.frechet import frechet_distance, streamed_gaussian_statistics
from gensys.eval.inception_net import FIDInceptionV3
from gensys.eval.streaming import map_in_batches

WEIGHTS_ENV = "GENSYS_INCEPTION_WEIGHTS"
INPUT_SIZE = 299
_IGNORED_SUFFIXES = ("num_batches_tracked",)
_BN = {("params", "scale"): "weight", ("params", "bias"): "bias",
       ("batch_stats", "mean"): "running_mean", ("batch_stats", "var"): "running_var"}  # fmt: skip


def _torch_name(collection: str, path: tuple[str, ...]) -> str:
    *modules, leaf = path
    if leaf == "kernel":
        return ".".join([*modules, "weight"])
    return ".".join([*modules, _BN[(collection, leaf)]])


def _template(width: float) -> dict:
    shapes = jax.eval_shape(
        FIDInceptionV3(width).init, jax.random.key(0), jnp.zeros((1, 75, 75, 3))
    )
    return jax.tree.map(lambda s: s.shape, shapes)


def _leaves(variables: Mapping) -> dict[tuple[str, tuple[str, ...]], object]:
    flat = {}
    for collection, tree in variables.items():
        for path, leaf in jax.tree_util.tree_flatten_with_path(
            tree, is_leaf=lambda x: isinstance(x, tuple)
        )[0]:
            flat[(collection, tuple(k.key for k in path))] = leaf
    return flat


def _unflatten(flat: dict[tuple[str, tuple[str, ...]], np.ndarray]) -> dict:
    out: dict = {}
    for (collection, path), value in flat.items():
        node = out.setdefault(collection, {})
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


def variables_from_state_dict(state_dict: Mapping[str, np.ndarray], *, width: float = 1.0) -> dict:
    """Flax variables of :class:`FIDInceptionV3` from PyTorch ``state_dict`` arrays
    (convolution weights ``[O, I, kh, kw]`` become kernels ``[kh, kw, I, O]``). Raises a
    ``ValueError`` listing every missing name and every mismatched shape; the classifier
    (``fc.*``) and batch counters are ignored."""
    flat, problems = {}, []
    for (collection, path), shape in _leaves(_template(width)).items():
        name = _torch_name(collection, path)
        if name not in state_dict:
            problems.append(f"missing {name} {tuple(shape)}")
            continue
        value = np.asarray(state_dict[name], np.float32)
        if path[-1] == "kernel":
            value = value.transpose(2, 3, 1, 0)
        if value.shape != tuple(shape):
            problems.append(f"{name}: file {value.shape}, network {tuple(shape)}")
        flat[(collection, path)] = value
    if problems:
        raise ValueError("the Inception weights do not fit FIDInceptionV3: " + "; ".join(problems))
    return _unflatten(flat)


def state_dict_from_variables(variables: Mapping) -> dict[str, np.ndarray]:
    """The inverse of :func:`variables_from_state_dict`: PyTorch names and layouts."""
    out = {}
    for (collection, path), value in _leaves(variables).items():
        value = np.asarray(value)
        out[_torch_name(collection, path)] = (
            value.transpose(3, 2, 0, 1) if path[-1] == "kernel" else value
        )
    return out


def random_variables(seed: int, *, width: float) -> dict:
    """A randomly initialised stand-in (He-normal kernels, unit batch statistics), drawn
    with NumPy so that nothing is compiled (the network's initialiser takes tens of
    seconds to compile on a CPU)."""
    rng = np.random.default_rng(seed)
    out = {}
    for (collection, path), shape in _leaves(_template(width)).items():
        if path[-1] == "kernel":
            value = rng.normal(size=shape) * np.sqrt(2.0 / np.prod(shape[:-1]))
        else:
            value = np.ones(shape) if path[-1] in ("scale", "var") else np.zeros(shape)
        out[(collection, path)] = value.astype(np.float32)
    return _unflatten(out)


def load_inception_weights(path: str | os.PathLike | None = None, *, width: float = 1.0) -> dict:
    """Variables of the network from the ``.npz`` at ``path`` (default: the file named by
    ``$GENSYS_INCEPTION_WEIGHTS``)."""
    path = path or os.environ.get(WEIGHTS_ENV)
    if not path or not Path(path).is_file():
        raise FileNotFoundError(
            f"FID needs the Inception-v3 weights file, got {str(path)!r}: download pytorch-fid's "
            "pt_inception-2015-12-05-6726825d.pth on a connected machine, convert it with "
            "'python -m gensys.eval.fid convert <pth> <npz>', and pass the .npz path or set "
            f"{WEIGHTS_ENV}"
        )
    with np.load(path) as data:
        return variables_from_state_dict(dict(data), width=width)


def to_inception_input(images: jax.Array, size: int = INPUT_SIZE) -> jax.Array:
    """``[B, H, W, C]`` in ``[-1, 1]`` (C = 1 or 3) -> ``[B, size, size, 3]`` in ``[-1, 1]``:
    quantized to 8 bits, bicubic-resized with antialiasing in float, grey repeated."""
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be [B, H, W, 1 or 3], got shape {images.shape}")
    pixels = jnp.round(jnp.clip((images + 1.0) * 127.5, 0.0, 255.0))
    pixels = jax.image.resize(pixels, (images.shape[0], size, size, images.shape[-1]), "bicubic")
    pixels = jnp.broadcast_to(pixels, (*pixels.shape[:3], 3))
    return pixels / 127.5 - 1.0


@functools.partial(jax.jit, static_argnames=("width", "size"))
def inception_features(images: jax.Array, variables: dict, *, width: float, size: int) -> jax.Array:
    """Pool features ``[B, 2048 * width]`` of ``images [B, H, W, C]`` in ``[-1, 1]``."""
    return FIDInceptionV3(width).apply(variables, to_inception_input(images, size))


@dataclasses.dataclass(frozen=True, eq=False)
class InceptionFeatures:
    """The FID feature extractor: weights, network width and input size."""

    variables: dict
    width: float = 1.0
    size: int = INPUT_SIZE

    def features(self, images: np.ndarray, *, batch_size: int = 100) -> np.ndarray:
        fn = functools.partial(inception_features, width=self.width, size=self.size)
        return map_in_batches(fn, images, self.variables, batch_size=batch_size)

    def statistics(self, images: np.ndarray, *, batch_size: int = 100):
        """Mean and covariance of the pool features, streamed."""
        fn = functools.partial(inception_features, width=self.width, size=self.size)
        return streamed_gaussian_statistics(fn, images, self.variables, batch_size=batch_size)


def fid(
    real_images: np.ndarray,
    fake_images: np.ndarray,
    extractor: InceptionFeatures,
    *,
    batch_size: int = 100,
) -> float:
    """FID between two image sets ``[N, H, W, C]`` in ``[-1, 1]`` (module docstring)."""
    real = extractor.statistics(real_images, batch_size=batch_size)
    fake = extractor.statistics(fake_images, batch_size=batch_size)
    return frechet_distance(*real, *fake, method="sqrtm")


def convert_torch_checkpoint(source: str, destination: str) -> None:
    """pytorch-fid's ``.pth`` -> gensys's ``.npz`` (needs PyTorch; checked on the way)."""
    try:
        import torch
    except ImportError as error:
        raise SystemExit("converting a .pth file needs PyTorch: pip install torch") from error
    # weights_only: a .pth is a pickle; only tensors are read, no code it may carry runs.
    loaded = torch.load(source, map_location="cpu", weights_only=True)
    state = {k: v.numpy() for k, v in loaded.items() if not k.endswith(_IGNORED_SUFFIXES)}
    variables_from_state_dict(state)
    np.savez(destination, **state)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "convert":
        raise SystemExit("usage: python -m gensys.eval.fid convert <pytorch-fid .pth> <out .npz>")
    convert_torch_checkpoint(sys.argv[2], sys.argv[3])
