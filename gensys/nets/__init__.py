"""Flax Linen networks: arrays in, arrays out; no sampling randomness, no losses."""

from gensys.nets.embeddings import sinusoidal_embedding
from gensys.nets.unet import AttentionBlock, ResBlock, UNet

__all__ = ["AttentionBlock", "ResBlock", "UNet", "sinusoidal_embedding"]
