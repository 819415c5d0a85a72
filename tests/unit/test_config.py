"""Typed configs from ml_collections: every experiment config builds; typos fail early."""

import importlib.util
from pathlib import Path

import pytest

from gensys.data.datasets import get_spec
from gensys.recipes.diffusion import DDPMConfig
from gensys.recipes.registry import build_recipe
from gensys.train.config import ExperimentConfig
from gensys.typed_config import from_mapping

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
    # Files are <model>_<dataset>.py (a model name may hold underscores), or
    # <model>_<dataset>_<variant>.py for a paper's variant of a config.
    stem = path.stem.removesuffix("_cosine")
    binarized = stem.endswith("_binarized_mnist")
    model = stem.removesuffix("_binarized_mnist") if binarized else stem.rsplit("_", 1)[0]
    autoregressive = ("fvsbn", "nade", "made", "pixelcnn", "gated_pixelcnn", "pixelrnn",
                      "pixel_transformer")  # fmt: skip
    families = (
        {"ae": "vae", "cvae": "vae", "gan_mlp": "gan", "gan_mlp_bn": "gan"}
        | dict.fromkeys(("dcgan", "cgan", "lsgan", "wgangp", "sngan"), "gan")
        | dict.fromkeys(("realnvp", "glow", "nsf", "maf"), "flow")
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


def _load_config_file(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_section_has_exactly_its_dataclass_fields(path):
    import dataclasses

    from gensys.recipes.registry import FAMILIES
    from gensys.train.config import DataConfig, EvalConfig, TrainConfig

    def fields(cls):
        return sorted(f.name for f in dataclasses.fields(cls))

    raw = _load_config_file(path)
    family = FAMILIES[raw.family]
    assert sorted(raw.keys()) == fields(ExperimentConfig)
    assert sorted(raw.data.keys()) == fields(DataConfig)
    assert sorted(raw.train.keys()) == fields(TrainConfig)
    assert sorted(raw.eval.keys()) == fields(EvalConfig)
    assert sorted(raw.model.keys()) == fields(family.config_cls)
    expected_sampler = fields(family.sampler_cls) if family.sampler_cls else []
    assert sorted(raw.sampler.keys()) == expected_sampler


def _documented_commands():
    """Every command line in README.md and docs/*.md that sets ``--config.<field>``, with the
    config file it names (the default experiment when it names none)."""
    import re

    repo = Path(__file__).resolve().parents[2]
    pages = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    found = []
    for page in pages:
        text = page.read_text()
        # Join continued shell lines so one command's flags stay together.
        text = text.replace("\\\n", " ")
        for number, line in enumerate(text.splitlines(), 1):
            flags = re.findall(r"--config\.[A-Za-z0-9_.]+=[^\s`'\"|)\]]+", line)
            if not flags:
                continue
            named = re.search(r"--config=(experiments/configs/\w+\.py)", line)
            config = named.group(1) if named else "experiments/configs/ddpm_digits.py"
            found.append(pytest.param(config, flags, id=f"{page.name}:{number}"))
    return found


@pytest.mark.parametrize("config_path,overrides", _documented_commands())
def test_every_documented_config_flag_parses(config_path, overrides):
    from absl import flags
    from ml_collections import config_flags

    from gensys.data.datasets import get_spec

    repo = Path(__file__).resolve().parents[2]
    argv = ["main", f"--config={repo / config_path}", *overrides]
    values = flags.FlagValues()
    config_flags.DEFINE_config_file(
        "config", None, "", flag_values=values, lock_config=True, sys_argv=argv
    )
    values(argv)
    config = from_mapping(ExperimentConfig, values.config)
    build_recipe(config.family, config.model, get_spec(config.data.name), config.sampler)


def test_documented_flags_are_found():
    # The scan above must see the README's commands, or it would pass on nothing.
    assert len(_documented_commands()) >= 3


@pytest.mark.parametrize(
    "section, field, value",
    [("train", "log_every", 0), ("train", "checkpoint_every", 0), ("train", "num_steps", -5),
     ("train", "keep_checkpoints", 0), ("train", "num_samples", 0), ("train", "eval_every", -1),
     ("train", "max_seconds", -1.0), ("data", "batch_size", 0), ("eval", "batch_size", 0),
     ("eval", "max_examples", 0)],
)  # fmt: skip
def test_loop_counts_out_of_range_are_one_line_errors_naming_the_field(section, field, value):
    # Each used to crash later (ZeroDivisionError), train nothing with exit 0, or keep no
    # checkpoint at all.
    with pytest.raises(ValueError, match=rf"^{section}\.{field} must be >= \d, got {value}$"):
        from_mapping(ExperimentConfig, {section: {field: value}})
