"""Autoregressive models: MADE masks, exact categorical likelihoods, cached and uncached
ancestral sampling."""

from gensys.autoregressive.masks import made_masks, raster_kernel_mask
from gensys.autoregressive.model import (
    ARCHITECTURES,
    AutoregressiveModel,
    build_model,
)
from gensys.autoregressive.sampling import sample_by_rerunning, sample_with_cache

__all__ = [
    "ARCHITECTURES",
    "AutoregressiveModel",
    "build_model",
    "made_masks",
    "raster_kernel_mask",
    "sample_by_rerunning",
    "sample_with_cache",
]
