"""Typed configs from ml_collections: every experiment config builds; typos fail early."""

import importlib.util
from pathlib import Path

import pytest

from gensys.data.datasets import get_spec
from gensys.diffusion.recipe import DDPMConfig
from gensys.families import build_recipe
from gensys.train.config import ExperimentConfig, from_mapping

CONFIGS = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "experiments" / "configs").glob("*.py")
    if p.stem not in ("__init__", "base")
)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_experiment_config_builds(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = from_mapping(ExperimentConfig, module.get_config())
    # Files are <model>_<dataset>.py; a model name may hold underscores.
    stem = path.stem
    binarized = stem.endswith("_binarized_mnist")
    model = stem.removesuffix("_binarized_mnist") if binarized else stem.rsplit("_", 1)[0]
    autoregressive = ("fvsbn", "nade", "made", "pixelcnn", "gated_pixelcnn", "pixelrnn",
                      "pixel_transformer")  # fmt: skip
    families = (
        {"ae": "vae", "cvae": "vae", "gan_mlp": "gan"}
        | dict.fromkeys(("dcgan", "cgan", "lsgan", "wgangp"), "gan")
        | dict.fromkeys(("realnvp", "glow"), "flow")
        | dict.fromkeys(autoregressive, "autoregressive")
        | dict.fromkeys(("pix2pix_edges", "pix2pix_inpaint", "pix2pix_superres"), "pix2pix")
    )
    assert config.family == families.get(model, model)
    if config.family == "autoregressive":
        assert config.model["architecture"] == model
    build_recipe(config.family, config.model, get_spec(config.data.name), config.sampler)


def test_unknown_fields_are_refused():
    with pytest.raises(ValueError, match=r"config.train: unknown field\(s\) \['num_stepz'\]"):
        from_mapping(ExperimentConfig, {"train": {"num_stepz": 3}})
    with pytest.raises(ValueError, match=r"config.model: unknown field\(s\) \['chanels'\]"):
        build_recipe("ddpm", {"chanels": 3}, get_spec("digits"))
    with pytest.raises(ValueError, match="unknown family 'vea'"):
        build_recipe("vea", {}, get_spec("digits"))


def test_types_are_checked_and_lists_become_tuples():
    config = from_mapping(DDPMConfig, {"channel_mults": [1, 2], "learning_rate": 1})
    assert config.channel_mults == (1, 2) and config.learning_rate == 1.0
    with pytest.raises(ValueError, match="config.num_timesteps must be of type"):
        from_mapping(DDPMConfig, {"num_timesteps": "many"}, "config")
