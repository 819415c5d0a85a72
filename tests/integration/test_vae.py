"""Each VAE config trains, saves, resumes, evaluates its bound and samples (tiny sizes)."""

import dataclasses

import numpy as np
import pytest

from gensys.train import loop
from gensys.train.metric_writers import read_metrics
from tests.conftest import recipe_of, shared_data, small_run_config


def tiny(name, data_cache, num_steps, model=None, **data):
    small = {"hidden": (16,), "latent_dim": 2, "iwae_samples": 10, "iwae_chunk": 4}
    return small_run_config(name, data_cache, num_steps, {**small, **(model or {})}, **data)


FIGURES = {
    "vae_digits": {"reconstructions", "interpolations", "latent_map"},
    "ae_digits": {"reconstructions", "interpolations"},
    "cvae_digits": {"reconstructions", "interpolations", "class_samples"},
}


@pytest.mark.parametrize(
    "name, model",
    [
        ("vae_digits", None),
        ("ae_digits", None),
        ("cvae_digits", None),
    ],
    ids=["vae", "ae", "cvae"],
)
def test_digits_configs_train_resume_eval_sample(name, model, tmp_path, data_cache):
    two, three = tiny(name, data_cache, 2, model), tiny(name, data_cache, 3, model)
    loop.train(two, tmp_path, recipe_of(two))
    result = loop.train(three, tmp_path, recipe_of(three))
    assert result.step == 3 and np.isfinite(result.last_metrics["train/loss"])
    written = {p.name for p in (tmp_path / "samples").glob("*_0000003.png")}
    assert written == {f"{f}_0000003.png" for f in FIGURES[name]} | {"step_0000003.png"}
    metrics = loop.evaluate(three, tmp_path, recipe_of(three))
    if name == "ae_digits":
        assert "eval/nll_nats" not in metrics and metrics["eval/kl"] == 0
    else:
        # IWAE with K draws is at least the ELBO on average (here to within its noise).
        assert metrics["eval/nll_nats"] <= -metrics["eval/elbo"] + 1.0
        assert metrics["eval/bpd"] == pytest.approx(metrics["eval/nll_nats"] / (64 * np.log(2)))
    assert loop.sample(three, tmp_path, recipe_of(three)).exists()
    steps = [m["step"] for m in read_metrics(tmp_path) if "train/loss" in m]
    assert steps == [1, 2, 3]


def test_binarized_mnist_config(tmp_path, data_cache):
    directory = shared_data("binarized_mnist")
    config = tiny("vae_binarized_mnist", data_cache, 2, split="train[:16]", eval_split="valid[:8]")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, dir=str(directory)))
    loop.train(config, tmp_path, recipe_of(config))
    metrics = loop.evaluate(config, tmp_path, recipe_of(config))
    assert np.isfinite(metrics["eval/nll_nats"]) and metrics["eval/nll_nats"] > 0
    assert metrics["eval/nll_nats"] <= -metrics["eval/elbo"] + 1.0
