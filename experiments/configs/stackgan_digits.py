"""StackGAN (Zhang et al. 2017) on scikit-learn's digits: captions (as ``text2image_digits``)
-> an 8x8 stage-I image -> a 16x16 stage-II image, each generator with conditioning
augmentation (32 dimensions, KL weight 2 / 128). Stage I's generator and both
discriminators have width 64; stage I trains for the first 2,000 of 3,000 steps, then
holds still while stage II finishes. The other settings are
``base.text_conditioned_on_digits``'s.
"""

from experiments.configs.base import text_conditioned_on_digits


def get_config():
    config = text_conditioned_on_digits("stackgan")
    config.model.update(width=64, stage1_steps=2000)
    return config
