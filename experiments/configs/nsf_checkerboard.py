"""The neural spline flow of ``nsf_gaussians8.py`` on the checkerboard (entropy ln 32 =
3.466 nats): splines can bend mass into the sharp-edged squares that affine couplings
smear."""

from experiments.configs import nsf_gaussians8


def get_config():
    return nsf_gaussians8.get_config("checkerboard")
