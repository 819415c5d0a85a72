"""Each GAN config trains, saves, resumes exactly, evaluates and samples (tiny sizes)."""

import dataclasses
import importlib

import jax
import numpy as np
import pytest

from gensys.train import loop
from gensys.train.config import ExperimentConfig
from gensys.train.metric_writers import read_metrics
from gensys.typed_config import from_mapping
from tests.conftest import recipe_of, shared_data, train_straight_and_resumed

SPLITS = {
    "digits": ("train[:32]", "test[:16]"),
    "gaussians8": ("train[:64]", "test[:16]"),
    "mnist_idx": ("test[:32]", "test[9000:9016]"),
}


def tiny(name, data_cache, num_steps, image_size=8):
    raw = importlib.import_module(f"experiments.configs.{name}").get_config()
    if raw.data.name == "mnist_idx":
        raw.data.dir = str(shared_data("mnist"))
    raw.data.cache_dir = str(data_cache)
    raw.data.split, raw.eval.split = SPLITS[raw.data.name]
    raw.data.batch_size = 4 * raw.model.d_steps  # one minibatch of 4 per discriminator step
    raw.eval.batch_size = 8
    # Checkpoints only at the end of a run, which is all a resume needs (as tests.conftest.tiny).
    raw.train.update(num_steps=num_steps, log_every=1, checkpoint_every=num_steps,
                     num_samples=4, progress_bar=False)  # fmt: skip
    raw.model.update(width=4, latent_dim=4, g_hidden=(8,), d_hidden=(8,))
    if raw.model.network == "dcgan":
        raw.model.image_size = image_size  # 16: two stages, so batch norm in both players
    return from_mapping(ExperimentConfig, raw)


# Exact resumption is checked where the state differs in kind: batch-norm statistics in
# both players (dcgan), several critic steps and the penalty (wgangp on the ring), the
# spectral norms' power-iteration vectors (sngan); the other configs (the same kinds of
# state) train, sample and evaluate.
RESUMED = {"dcgan_digits": 16, "wgangp_gaussians8": 8, "sngan_digits": 8}
SMOKE = [
    "cgan_digits",
    "lsgan_digits",
    "wgangp_digits",
    "gan_mlp_mnist",
    "gan_mlp_bn_mnist",
    "dcgan_mnist",
]


@pytest.mark.parametrize("name", SMOKE)
def test_gan_configs_train_sample_evaluate(name, tmp_path, data_cache):
    config = tiny(name, data_cache, 2)
    result = loop.train(config, tmp_path, recipe_of(config))
    assert result.step == 2
    for key in ("train/d_loss", "train/g_loss", "eval/ema/real_accuracy", "eval/ema/g_loss",
                "eval/raw/g_loss", "eval/raw/fake_accuracy"):  # fmt: skip
        assert np.isfinite(result.last_metrics[key]), key
    assert (tmp_path / "samples" / "step_0000002.png").exists()  # the EMA generator
    assert (tmp_path / "samples" / "samples_raw_0000002.png").exists()  # the raw one


@pytest.mark.parametrize("name", sorted(RESUMED))
def test_gan_configs_resume_exactly(name, tmp_path, data_cache):
    size = RESUMED[name]
    # Both players, both optimizer states and the EMA continue exactly where they stopped.
    config, resumed, result = train_straight_and_resumed(
        lambda steps: tiny(name, data_cache, steps, size), tmp_path
    )
    for key in ("train/d_loss", "train/g_loss", "train/real_accuracy", "train/g_grad_norm"):
        assert np.isfinite(result.last_metrics[key]), key
    if name == "sngan_digits":  # the vectors moved and were restored with everything else
        stats = jax.device_get(result.state.model.players.discriminator["batch_stats"])
        assert {k.rsplit("/", 1)[-1] for group in stats.values() for k in group} == {"u", "sigma"}
        sigmas = [v for group in stats.values() for k, v in group.items() if k.endswith("sigma")]
        assert all(float(s) != 1.0 for s in sigmas)  # estimated, no longer the initial 1
    metrics = loop.evaluate(config, resumed, recipe_of(config))
    assert 0.0 <= metrics["eval/ema/real_accuracy"] <= 1.0
    if name == "wgangp_gaussians8":
        for generator in ("ema", "raw"):
            assert 0 <= metrics[f"eval/{generator}/modes_covered"] <= 8
            assert 0.0 <= metrics[f"eval/{generator}/high_quality_fraction"] <= 1.0
        assert (resumed / "samples" / "samples_raw_0000003.png").exists()
    assert loop.sample(config, resumed, recipe_of(config)).exists()
    steps = [m["step"] for m in read_metrics(resumed) if "train/loss" in m]
    assert steps == [1, 2, 3]


def test_dominance_monitor_warns_after_a_streak():
    from gensys.recipes.gan import make_dominance_monitor

    monitor = make_dominance_monitor(0.95, 3)
    won = {"train/real_accuracy": 0.99, "train/fake_accuracy": 0.98}
    even = {"train/real_accuracy": 0.6, "train/fake_accuracy": 0.99}
    assert [monitor(won) for _ in range(2)] == [None, None]
    assert monitor(even) is None  # the streak breaks
    messages = [monitor(won) for _ in range(6)]
    assert [m is not None for m in messages] == [False, False, True, False, False, True]
    assert "discriminator has won for 3 log intervals" in messages[2]


def test_gan_training_refuses_a_batch_that_does_not_split(tmp_path, data_cache):
    config = tiny("wgangp_gaussians8", data_cache, 1)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, batch_size=6))
    with pytest.raises(ValueError, match="multiple of d_steps"):
        loop.train(config, tmp_path, recipe_of(config))
