"""Text-to-image (Reed et al. 2016, GAN-INT-CLS) on scikit-learn's digits at 16x16.

Captions such as "a thick, slanted seven" are made from each digit's label and its
measured ink and slant (``gensys.data.captions``, three templates); a GRU encodes them.
The settings are ``base.text_conditioned_on_digits``'s.
"""

from experiments.configs.base import text_conditioned_on_digits


def get_config():
    return text_conditioned_on_digits("text2image")
