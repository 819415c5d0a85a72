"""Each pix2pix config trains, saves, resumes exactly, evaluates, samples and draws its
translations (tiny widths, 8x8 images: three encoder layers down to 1x1)."""

import numpy as np
import pytest

from gensys.train import loop
from gensys.train.metric_writers import read_metrics
from tests.conftest import recipe_of, small_run_config, train_straight_and_resumed


def tiny(name, data_cache, num_steps):
    model = {"image_size": 8, "g_width": 4, "g_max_width": 8, "d_widths": (4, 8)}
    return small_run_config(name, data_cache, num_steps, model)


@pytest.mark.parametrize("name", ["pix2pix_inpaint_digits", "pix2pix_superres_digits"])
def test_pix2pix_configs_train_sample_evaluate(name, tmp_path, data_cache):
    config = tiny(name, data_cache, 2)
    result = loop.train(config, tmp_path, recipe_of(config))
    assert result.step == 2
    for key in ("train/d_loss", "train/l1", "train/g_adversarial", "eval/l1", "eval/d_real"):
        assert np.isfinite(result.last_metrics[key]), key
    assert (tmp_path / "samples" / "step_0000002.png").exists()
    assert list((tmp_path / "samples").glob("translations_*.png"))


def test_pix2pix_resumes_exactly(tmp_path, data_cache):
    name = "pix2pix_edges_digits"
    # Both players, their batch statistics, both optimizer states and the sample inputs.
    config, resumed, _ = train_straight_and_resumed(
        lambda steps: tiny(name, data_cache, steps), tmp_path
    )
    assert 0.0 <= loop.evaluate(config, resumed, recipe_of(config))["eval/l1"] <= 2.0
    assert loop.sample(config, resumed, recipe_of(config)).exists()
    assert [m["step"] for m in read_metrics(resumed) if "train/loss" in m] == [1, 2, 3]
