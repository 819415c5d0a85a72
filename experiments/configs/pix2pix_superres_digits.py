"""pix2pix (Isola et al. 2017) on scikit-learn's digits at 16x16: the digit averaged over
4x4 blocks (seen at 4x4) -> the digit (super-resolution).

The pairs are made from each digit by ``gensys.data.paired`` (task ``super_resolution``); the
networks and settings are ``base.pix2pix_on_digits``'s.
"""

from experiments.configs.base import pix2pix_on_digits


def get_config():
    return pix2pix_on_digits("super_resolution")
