"""pix2pix (Isola et al. 2017) on scikit-learn's digits at 16x16:
a digit with a random 8x8 square blanked -> the digit (inpainting).

The pairs are made from each digit by ``gensys.data.paired`` (task ``inpaint``); the
networks and settings are ``base.pix2pix_on_digits``'s.
"""

from experiments.configs.base import pix2pix_on_digits


def get_config():
    return pix2pix_on_digits("inpaint")
