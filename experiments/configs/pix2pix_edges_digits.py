"""pix2pix (Isola et al. 2017) on scikit-learn's digits at 16x16:
the Sobel edge map of a digit -> the digit.

The pairs are made from each digit by ``gensys.data.paired`` (task ``edges``); the
networks and settings are ``base.pix2pix_on_digits``'s.
"""

from experiments.configs.base import pix2pix_on_digits


def get_config():
    return pix2pix_on_digits("edges")
