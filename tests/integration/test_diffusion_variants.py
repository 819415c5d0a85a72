"""Every objective variant trains a step and every sampler samples through the recipe."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data.datasets import DATASETS
from gensys.diffusion.sample_loop import SAMPLERS
from gensys.recipes.diffusion import DDPMConfig, SamplerConfig, make_ddpm_recipe

SPEC = DATASETS["digits"]
TINY = dict(
    num_timesteps=20,
    channels=8,
    channel_mults=(1,),
    num_res_blocks=1,
    attention_resolutions=(),
    warmup_steps=1,
)


def _batch():
    x = jax.random.uniform(jax.random.key(0), (4, 8, 8, 1), minval=-1, maxval=1)
    return {"image": x, "label": jnp.arange(4, dtype=jnp.int32), "mask": jnp.ones(4)}


def _one_step(model: DDPMConfig, sampler: SamplerConfig, num: int = 4):
    recipe = make_ddpm_recipe(model, SPEC, sampler)
    state = jax.jit(recipe.init)(jax.random.key(1), _batch())
    state, metrics = jax.jit(recipe.train_step)(state, _batch(), jax.random.key(2))
    samples = jax.jit(recipe.sample, static_argnums=2)(state, jax.random.key(3), num)
    return metrics, samples


@pytest.mark.parametrize(
    "variant",
    [
        dict(parameterization="v", zero_terminal_snr=True, loss_weighting="min_snr"),
        dict(parameterization="x0", schedule="cosine", loss_weighting="snr"),
        dict(learned_variance=True, schedule="sigmoid"),
        dict(class_conditional=True, label_dropout=0.2, schedule="scaled_linear"),
    ],
    ids=["v-zsnr-minsnr", "x0-cosine-snr", "learned-variance", "cfg"],
)
def test_objective_variants_train_and_sample(variant):
    sampler = SamplerConfig(
        name="ddpm",
        num_steps=5,
        spacing="trailing",
        guidance_scale=3.0 if variant.get("class_conditional") else 1.0,
    )
    metrics, samples = _one_step(DDPMConfig(**TINY, **variant), sampler)
    assert np.isfinite(float(metrics["train/loss"]))
    assert samples.shape == (4, 8, 8, 1) and np.all(np.isfinite(samples))


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_runs_from_the_recipe(name):
    sampler = SamplerConfig(name=name, num_steps=4, eta=0.5, threshold="dynamic")
    _, samples = _one_step(DDPMConfig(**TINY), sampler, num=2)
    assert samples.shape == (2, 8, 8, 1) and np.all(np.abs(np.asarray(samples)) <= 1.0)


def test_bad_sampler_sections_are_refused():
    with pytest.raises(ValueError, match="guidance_scale needs a class_conditional"):
        make_ddpm_recipe(DDPMConfig(**TINY), SPEC, SamplerConfig(guidance_scale=2.0))
    with pytest.raises(ValueError, match="zero_terminal_snr needs"):
        make_ddpm_recipe(DDPMConfig(**TINY, zero_terminal_snr=True), SPEC)
    with pytest.raises(ValueError, match="sampler.name must be one of"):
        make_ddpm_recipe(DDPMConfig(**TINY), SPEC, SamplerConfig(name="plms"))
    with pytest.raises(ValueError, match="karras grid needs num_steps"):
        make_ddpm_recipe(DDPMConfig(**TINY), SPEC, SamplerConfig(name="heun"))
