"""An autoregressive neural spline flow on the ring of 8 Gaussians (Durkan et al. 2019):
exact test NLL against the entropy floor, 2.833 nats.

Five layers of ActNorm and a masked autoregressive layer whose elementwise map is a
rational-quadratic spline of 8 bins on [-4, 4] (identity tails), its parameters from a
MADE of 2 x 128 ReLU units; the order is reversed between layers. ``--config.model.transform
=affine`` gives MAF (Papamakarios et al. 2017). Densities are one pass; sampling takes D = 2
passes a layer. The run also writes ``samples/density_<step>.png``.
"""

from experiments.configs import realnvp_gaussians8


def spline_flow(model, hidden=(128, 128)):
    """Sets ``model`` (a flow config's section) to this file's spline flow."""
    model.architecture = "maf"
    model.transform = "spline"
    model.num_layers = 5
    model.mlp_hidden = hidden
    model.num_bins = 8
    model.spline_bound = 4.0


def get_config(name: str = "gaussians8"):
    config = realnvp_gaussians8.get_config(name)
    spline_flow(config.model)
    return config
