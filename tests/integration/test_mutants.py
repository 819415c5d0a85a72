"""Mutants the suite must kill: each breaks one line of gensys's source the way a real bug
(or a derivation with the opposite sign convention) would, and the test it names must then
fail. The table is in docs/testing.md.

A mutant is made from the function's own source: the line is replaced, the function is
compiled again in its module's namespace, and every reference to the original (module
attributes, re-exports, the family registry, a class's method) is patched for the
duration of the test; JAX's caches are cleared so no trace of the original survives. The
killing test is then called in-process, with its parameters, and must raise an
``AssertionError``. Without the mutant each killing test passes in its own module.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
import textwrap

import hypothesis
import jax
import pytest
from hypothesis import Phase

from gensys import diffusion, flows
from gensys.autoregressive import masks
from gensys.diffusion import losses, process, samplers
from gensys.recipes import gan as gan_recipe
from gensys.recipes import pix2pix as pix2pix_recipe
from gensys.recipes import vae as vae_recipe
from gensys.recipes.registry import FAMILIES
from gensys.vae import bounds

hypothesis.settings.register_profile(
    "mutants", phases=[Phase.explicit, Phase.reuse, Phase.generate], database=None
)


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    owner: object  # the module or class that defines the function
    function: str
    old: str  # the source text replaced (exactly once)
    new: str
    killed_by: str  # "module::test" (module under tests/), with keyword arguments below
    arguments: tuple = ()


MUTANTS = [
    Mutant("diffusion: noise target's sign flipped", losses, "diffusion_loss",
           "target = training_target(", "target = -training_target(",
           "unit.test_value_checks::test_diffusion_loss_of_the_true_noise_is_zero_and_of_zero_is_one"),
    Mutant("VAE: KL added instead of subtracted (the ELBO term's sign)", bounds, "elbo",
           '"elbo": reconstruction - beta * kl', '"elbo": reconstruction + beta * kl',
           "property.test_vae_bounds::test_elbo_averages_to_log_p_x_at_the_exact_posterior"),
    Mutant("GAN: the generator ascends its loss", gan_recipe, "make_gan_recipe",
           "per_example, values = generator_loss(config.loss, out), {}",
           "per_example, values = -generator_loss(config.loss, out), {}",
           "integration.test_learning::test_gan_covers_the_ring", (("cache", None),)),
    Mutant("GAN: real and fake swapped for the discriminator", gan_recipe, "make_gan_recipe",
           "discriminator_loss(config.loss, real_out, fake_out)",
           "discriminator_loss(config.loss, fake_out, real_out)",
           "integration.test_learning::test_gan_covers_the_ring", (("cache", None),)),
    Mutant("flow: the log-determinant dropped", flows.FlowDistribution, "log_prob",
           "return sum_per_example(normal_log_prob(z, 0.0, 0.0)) + log_det",
           "return sum_per_example(normal_log_prob(z, 0.0, 0.0))",
           "integration.test_flows::test_two_dimensional_flow_density_integrates_to_one",
           (("conditional", False),)),
    Mutant("MADE: an output sees its own input", masks, "made_masks",
           "input_degrees[None, :] > degrees[-1][:, None]",
           "input_degrees[None, :] >= degrees[-1][:, None]",
           "property.test_autoregressive_models::test_probabilities_of_all_binary_images_sum_to_one",
           (("architecture", "made"),)),
    Mutant("MADE: the direct connection lets an output see its own input", masks,
           "direct_masks", "positions[:, :, None] < positions[:, None, :]",
           "positions[:, :, None] <= positions[:, None, :]",
           "property.test_autoregressive_models::test_logits_depend_only_on_earlier_pixels",
           (("architecture", "made"),)),
    Mutant("MADE: the direct connection cut", masks, "direct_masks",
           "positions[:, :, None] < positions[:, None, :]",
           "positions[:, :, None] < 0 * positions[:, None, :]",
           "property.test_autoregressive_models::test_logits_depend_only_on_earlier_pixels",
           (("architecture", "made"),)),
    Mutant("PixelCNN: the first layer's mask of type B (sees the pixel itself)", masks,
           "channel_mask", "group_in < group_out if", "group_in <= group_out if",
           "property.test_autoregressive_models::test_logits_depend_only_on_earlier_pixels",
           (("architecture", "pixelcnn"),)),
    Mutant("DDPM: the forward-process posterior's variance replaced by zero", process,
           "q_posterior", "variance = extract(schedule.posterior_variance, t, nd)",
           "variance = 0.0 * extract(schedule.posterior_variance, t, nd)",
           "property.test_forward_process::test_posterior_is_bayes_rule"),
    Mutant("DDPM sampler: the posterior variance of a step replaced by zero", samplers,
           "ddpm_update", "        variance = small\n", "        variance = 0.0 * small\n",
           "property.test_samplers::test_ddpm_solver_step_matches_the_schedule_posterior"),
    Mutant("IWAE: a mean of log-weights instead of a log-mean-exp", bounds, "iwae_bound",
           "(log_max, total), _ = jax.lax.scan(body, start, jnp.arange(num_chunks))\n"
           "    return log_max + jnp.log(total) - math.log(num_samples)",
           "log_w = log_importance_weights(key, x, mean, log_var, log_likelihood, num_samples)\n"
           "    return jnp.mean(log_w, axis=1)",
           "property.test_vae_bounds::test_iwae_rises_with_k_towards_log_p_x"),
    # Found surviving before the value tests of this round were written:
    Mutant("diffusion: min-SNR weighting takes the max", diffusion.parameterization,
           "loss_weight", "jnp.minimum(snr, gamma)", "jnp.maximum(snr, gamma)",
           "unit.test_value_checks::test_diffusion_loss_weightings_on_a_constructed_case"),
    Mutant("VAE: the KL warm-up ignored", vae_recipe, "make_vae_recipe",
           "return config.beta * ramp", "return jnp.float32(config.beta)",
           "unit.test_value_checks::test_vae_kl_weight_follows_beta_and_warmup"),
    Mutant("pix2pix: the L1 weight not applied", pix2pix_recipe, "make_pix2pix_recipe",
           "total = adversarial + config.l1_weight * l1", "total = adversarial + l1",
           "unit.test_value_checks::test_pix2pix_applies_its_l1_weight"),
]  # fmt: skip


def _compile_mutant(mutant: Mutant):
    original = inspect.getattr_static(mutant.owner, mutant.function)
    function = inspect.unwrap(original)  # the source under a decorator such as a cache
    source = textwrap.dedent(inspect.getsource(function))
    assert source.count(mutant.old) == 1, f"{mutant.name}: the line to mutate moved"
    namespace: dict = {}
    code = compile(
        "from __future__ import annotations\n" + source.replace(mutant.old, mutant.new),
        f"<mutant: {mutant.name}>",
        "exec",
    )
    exec(code, function.__globals__, namespace)
    return original, namespace[function.__name__]


def _apply(monkeypatch, original, mutated, owner, function: str) -> None:
    """Every reference to ``original`` now reaches ``mutated``."""
    if inspect.isclass(owner):
        monkeypatch.setattr(owner, function, mutated)
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith(("gensys", "tests")):
            continue
        for attribute, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attribute, mutated)
    for name, family in FAMILIES.items():
        if family.make_recipe is original:
            monkeypatch.setitem(FAMILIES, name, dataclasses.replace(family, make_recipe=mutated))
    jax.clear_caches()


def _killing_test(mutant: Mutant, cache: str):
    module_name, test_name = mutant.killed_by.split("::")
    test = getattr(importlib.import_module(f"tests.{module_name}"), test_name)
    arguments = {k: (cache if k == "cache" else v) for k, v in mutant.arguments}
    return lambda: test(**arguments)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_suite_kills_the_mutant(mutant, monkeypatch, data_cache):
    original, mutated = _compile_mutant(mutant)
    killing_test = _killing_test(mutant, str(data_cache))
    _apply(monkeypatch, original, mutated, mutant.owner, mutant.function)
    try:
        # The first failing example is enough: hypothesis's shrinking would recompile the
        # mutant for every smaller example it tries.
        hypothesis.settings.load_profile("mutants")
        with pytest.raises(AssertionError):
            killing_test()
    finally:
        hypothesis.settings.load_profile("default")
        monkeypatch.undo()
        jax.clear_caches()


def test_the_table_of_mutants_is_documented():
    from pathlib import Path

    table = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    for mutant in MUTANTS:
        assert mutant.name in table, mutant.name
        assert mutant.killed_by.split("::")[1] in table, mutant.killed_by
