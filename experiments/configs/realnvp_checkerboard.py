"""RealNVP on the checkerboard: exact test NLL against the entropy floor (ln 32 = 3.466).

The model of ``realnvp_gaussians8.py`` with 12 couplings: a smooth flow has to squeeze
mass into the 8 sharp-edged squares, the hardest of the three toys.
"""

from experiments.configs import realnvp_gaussians8


def get_config():
    config = realnvp_gaussians8.get_config("checkerboard")
    config.model.num_layers = 12
    return config
