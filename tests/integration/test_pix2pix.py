"""Each pix2pix config trains, saves, resumes exactly, evaluates, samples and draws its
translations (tiny widths, 8x8 images: three encoder layers down to 1x1)."""

import importlib

import jax
import numpy as np
import pytest

from gensys.train import loop
from gensys.train.config import ExperimentConfig, from_mapping
from gensys.train.metric_writers import read_metrics


def tiny(name, data_cache, num_steps):
    raw = importlib.import_module(f"experiments.configs.{name}").get_config()
    raw.data.cache_dir = str(data_cache)
    raw.data.split, raw.eval.split = "train[:32]", "test[:16]"
    raw.data.batch_size = 4
    raw.eval.batch_size = 8
    raw.train.update(num_steps=num_steps, log_every=1, checkpoint_every=1, num_samples=4,
                     progress_bar=False)  # fmt: skip
    raw.model.update(image_size=8, g_width=4, g_max_width=8, d_widths=(4, 8))
    return from_mapping(ExperimentConfig, raw)


@pytest.mark.parametrize("name", ["pix2pix_inpaint_digits", "pix2pix_superres_digits"])
def test_pix2pix_configs_train_sample_evaluate(name, tmp_path, data_cache):
    result = loop.train(tiny(name, data_cache, 2), tmp_path)
    assert result.step == 2
    for key in ("train/d_loss", "train/l1", "train/g_adversarial", "eval/l1", "eval/d_real"):
        assert np.isfinite(result.last_metrics[key]), key
    assert (tmp_path / "samples" / "step_0000002.png").exists()
    assert list((tmp_path / "samples").glob("translations_*.png"))


def test_pix2pix_resumes_exactly(tmp_path, data_cache):
    name = "pix2pix_edges_digits"
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    loop.train(tiny(name, data_cache, 3), straight)
    loop.train(tiny(name, data_cache, 2), resumed)
    result = loop.train(tiny(name, data_cache, 3), resumed)
    assert result.step == 3
    # Both players, their batch statistics, both optimizer states and the sample inputs.
    config = tiny(name, data_cache, 3)
    _, a, _ = loop.load_latest(config, straight)
    _, b, _ = loop.load_latest(config, resumed)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert 0.0 <= loop.evaluate(config, resumed)["eval/l1"] <= 2.0
    assert loop.sample(config, resumed).exists()
    assert [m["step"] for m in read_metrics(resumed) if "train/loss" in m] == [1, 2, 3]
