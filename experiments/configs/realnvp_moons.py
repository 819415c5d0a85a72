"""RealNVP on two moons: exact test NLL against the entropy floor (2.394 nats).

The model of ``realnvp_gaussians8.py`` on the ``two_moons`` density.
"""

from experiments.configs import realnvp_gaussians8


def get_config():
    return realnvp_gaussians8.get_config("two_moons")
