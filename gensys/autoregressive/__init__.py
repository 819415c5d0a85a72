"""Autoregressive math: MADE's masks from degrees, raster kernel masks, and ancestral sampling
(cached and by re-running) for any network. The networks and their exact likelihoods are
:mod:`gensys.nets.autoregressive`."""

from gensys.autoregressive.masks import direct_masks, made_masks, raster_kernel_mask
from gensys.autoregressive.sampling import sample_by_rerunning, sample_with_cache

__all__ = [
    "direct_masks",
    "made_masks",
    "raster_kernel_mask",
    "sample_by_rerunning",
    "sample_with_cache",
]
