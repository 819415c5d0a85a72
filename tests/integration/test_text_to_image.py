"""The text-to-image and StackGAN configs train, save, resume exactly, evaluate, sample and
draw their figures (tiny widths; 8x8 images, and for StackGAN 8x8 -> 16x16, DCGAN's
smallest side being 8)."""

import jax
import numpy as np

from gensys.train import loop
from gensys.train.checkpointing import Checkpointer
from gensys.train.metric_writers import read_metrics
from tests.conftest import recipe_of, small_run_config, train_straight_and_resumed

TINY_TEXT = {"embed_dim": 8, "text_hidden": 8, "condition_features": 4, "latent_dim": 4}


def tiny_text2image(data_cache, steps):
    model = {**TINY_TEXT, "image_size": 8, "width": 4}
    return small_run_config("text2image_digits", data_cache, steps, model)


def tiny_stackgan(data_cache, steps):
    model = {**TINY_TEXT, "image_size": 16, "stage1_size": 8, "width": 4, "stage2_width": 8,
             "num_residual": 1, "c_dim": 3, "stage1_steps": 2}  # fmt: skip
    return small_run_config("stackgan_digits", data_cache, steps, model)


def test_text2image_resumes_exactly_and_evaluates(tmp_path, data_cache):
    # The text side, both players, batch statistics, three optimizer states, sample captions.
    config, resumed, result = train_straight_and_resumed(
        lambda steps: tiny_text2image(data_cache, steps), tmp_path
    )
    for key in ("train/d_loss", "train/g_loss", "train/match_loss", "train/mismatch_accuracy"):
        assert np.isfinite(result.last_metrics[key]), key
    metrics = loop.evaluate(config, resumed, recipe_of(config))
    for key in ("eval/thickness_agreement", "eval/slant_agreement", "eval/match_accuracy"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert loop.sample(config, resumed, recipe_of(config)).exists()
    samples = resumed / "samples"
    assert list(samples.glob("captions_*.png")) and list(samples.glob("interpolations_*.png"))
    assert [m["step"] for m in read_metrics(resumed) if "train/loss" in m] == [1, 2, 3]


def test_stackgan_resumes_exactly_past_the_stage_one_freeze(tmp_path, data_cache):
    # Step 3 comes after stage I's last step (stage1_steps=2): the freeze resumes too.
    config, resumed, result = train_straight_and_resumed(
        lambda steps: tiny_stackgan(data_cache, steps), tmp_path
    )
    for key in ("train/stage1_kl", "train/stage2_kl", "train/stage2_g_loss"):
        assert np.isfinite(result.last_metrics[key]), key
    _, last, _ = loop.load_latest(config, resumed, recipe_of(config))
    checkpointer = Checkpointer(resumed / "checkpoints")
    try:
        at_two, _ = checkpointer.restore(2, last)
    finally:
        checkpointer.close()
    same = jax.tree.map(np.array_equal, at_two.model.stage1, last.model.stage1)
    assert all(jax.tree.leaves(same)), "stage I changed after stage1_steps"
    moved = jax.tree.map(np.array_equal, at_two.model.stage2.generator, last.model.stage2.generator)
    assert not all(jax.tree.leaves(moved)), "stage II did not train"
    metrics = loop.evaluate(config, resumed, recipe_of(config))
    assert 0.0 <= metrics["eval/stage2_slant_agreement"] <= 1.0
    assert list((resumed / "samples").glob("stages_*.png"))
