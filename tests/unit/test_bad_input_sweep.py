"""The bad-input sweep: every family's public functions, the metrics and the command line
given wrong ranks, dtypes, shapes, NaN, out-of-range levels, empty sets, unknown names
and unknown config fields; each gives an error naming the argument (or, under ``jit``
where values are unknown, NaN rather than a clamped or wrapped answer)."""

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys import flows
from gensys.data.datasets import get_spec
from gensys.distributions import bits_per_dim, categorical_log_prob
from gensys.eval.frechet import frechet_distance_of_features
from gensys.eval.inception_score import inception_score
from gensys.eval.kid import kernel_inception_distance
from gensys.eval.precision_recall import precision_recall
from gensys.eval.streaming import map_in_batches
from gensys.gan.losses import (
    discriminator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    nonsaturating_generator_loss,
)
from gensys.nets.autoregressive import build_model
from gensys.recipes.registry import build_recipe
from gensys.vae.bounds import iwae_bound
from gensys.vae.decoders import bernoulli_log_likelihood
from gensys.vae.latent import reparameterize

ROOT = Path(__file__).resolve().parents[2]
K = jax.random.key(0)
NAN = np.full((20, 3), np.nan)


def _critic(x):
    return jnp.sum(x, axis=-1)


def _log_px(x, z):
    return jnp.zeros(z.shape[:2])


ZEROS = np.zeros((20, 3))


def _fvsbn_log_prob(levels):
    model = build_model("fvsbn", (2, 2, 1), 17)
    return model.log_prob(model.init(K, jnp.zeros((1, 2, 2, 1), jnp.int32)), levels)


CASES = {
    "vae mean/log_var shapes": (lambda: reparameterize(K, jnp.zeros((2, 3)), jnp.zeros((2, 4))),
                                ValueError, "log_var and mean must have the same shape"),
    "vae integer mean": (lambda: reparameterize(K, jnp.zeros((2, 3), int), jnp.zeros((2, 3), int)),
                         TypeError, "mean must have a floating dtype"),
    "gan unknown loss": (lambda: discriminator_loss("foo", jnp.zeros(3), jnp.zeros(3)),
                         ValueError, "loss must be one of"),
    "gan real/fake shapes": (lambda: discriminator_loss("hinge", jnp.zeros(3), jnp.zeros(4)),
                             ValueError, "fake_logits and real_logits must have the same shape"),
    "gan integer logits": (lambda: hinge_discriminator_loss(jnp.zeros(3, int), jnp.zeros(3)),
                           TypeError, "real_logits must have a floating dtype"),
    "gan logits rank": (lambda: nonsaturating_generator_loss(jnp.zeros((3, 1))),
                        ValueError, r"fake_logits must have rank 1, got shape \(3, 1\)"),
    "gradient penalty mix": (lambda: gradient_penalty(_critic, jnp.zeros((3, 2)),
                                                      jnp.zeros((3, 2)), jnp.zeros(4)),
                             ValueError, r"mix must have shape \(3,\)"),
    "gradient penalty critic": (lambda: gradient_penalty(lambda x: x, jnp.zeros((3, 2)),
                                                         jnp.zeros((3, 2)), jnp.zeros(3)),
                                ValueError, "critic must map a batch"),
    "iwae log_var shape": (lambda: iwae_bound(K, jnp.zeros((2, 4)), jnp.zeros((2, 3)),
                                              jnp.zeros((2, 5)), _log_px, num_samples=2),
                           ValueError, "log_var and mean must have the same shape"),
    "iwae batch": (lambda: iwae_bound(K, jnp.zeros((3, 4)), jnp.zeros((2, 3)),
                                      jnp.zeros((2, 3)), _log_px, num_samples=2),
                   ValueError, "x must have the batch size of mean"),
    "iwae likelihood shape": (lambda: iwae_bound(K, jnp.zeros((2, 4)), jnp.zeros((2, 3)),
                                                 jnp.zeros((2, 3)), lambda x, z: z,
                                                 num_samples=2),
                              ValueError, r"log_likelihood must return log p\(x \| z\)"),
    "decoder integer x": (lambda: bernoulli_log_likelihood(jnp.zeros((2, 4), int),
                                                           jnp.zeros((2, 4)), 1),
                          TypeError, "x must have a floating dtype"),
    "levels above range": (lambda: categorical_log_prob(jnp.array([17]), jnp.zeros((1, 17))),
                           ValueError, r"x must be in \[0, 17\), got min 17"),
    "negative level": (lambda: categorical_log_prob(jnp.array([-1]), jnp.zeros((1, 17))),
                       ValueError, r"x must be in \[0, 17\), got min -1"),
    "float levels": (lambda: categorical_log_prob(jnp.array([1.0]), jnp.zeros((1, 17))),
                     TypeError, "x must have an integer dtype"),
    "logits shape": (lambda: categorical_log_prob(jnp.array([[1, 2]]), jnp.zeros((1, 3, 17))),
                     ValueError, "logits must have shape"),
    "autoregressive levels": (lambda: _fvsbn_log_prob(jnp.full((1, 2, 2, 1), 40)),
                              ValueError, r"must be in \[0, 17\)"),
    "autoregressive name": (lambda: build_model("pixelcnnn", (8, 8, 1), 17),
                            ValueError, "architecture must be one of"),
    "dequantize levels": (lambda: flows.uniform_dequantize(K, jnp.array([300]), 256),
                          ValueError, r"levels must be in \[0, 256\)"),
    "bits/dim of no dims": (lambda: bits_per_dim(jnp.ones(2), 0), ValueError, "dims must be >= 1"),
    "frechet NaN": (lambda: frechet_distance_of_features(NAN, ZEROS), ValueError,
                    r"features contains NaN or inf \(in 20 of 20 rows\)"),
    "frechet rank": (lambda: frechet_distance_of_features(np.zeros(3), np.zeros(3)),
                     ValueError, "features must be"),
    "kid NaN": (lambda: kernel_inception_distance(ZEROS, NAN, key=K),
                ValueError, "fake contains NaN"),
    "kid empty": (lambda: kernel_inception_distance(np.zeros((0, 3)), ZEROS, key=K),
                  ValueError, "at least 2 examples"),
    "precision NaN": (lambda: precision_recall(NAN, ZEROS), ValueError, "real contains NaN"),
    "inception score NaN": (lambda: inception_score(np.full((20, 10), np.inf)),
                            ValueError, "logits contains NaN or inf"),
    "empty batch": (lambda: map_in_batches(lambda x: x, np.zeros((0, 3))), ValueError, "non-empty"),
    "unknown family": (lambda: build_recipe("ebm", {}, get_spec("digits")),
                       ValueError, "unknown family 'ebm'; known families"),
    "unknown model field": (lambda: build_recipe("vae", {"hiden": 1}, get_spec("digits")),
                            ValueError, r"config.model: unknown field\(s\) \['hiden'\]"),
    "unknown dataset": (lambda: get_spec("cifar11"), ValueError, "unknown dataset 'cifar11'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_named(case):
    fn, error, message = CASES[case]
    with pytest.raises(error, match=message):
        fn()


def test_out_of_range_levels_under_jit_are_nan_not_clamped():
    logp = jax.jit(categorical_log_prob)(jnp.array([3, 17, -1]), jnp.zeros((3, 17)))
    assert np.isfinite(logp[0]) and np.isnan(logp[1]) and np.isnan(logp[2])
    y = jax.jit(flows.uniform_dequantize, static_argnums=2)(K, jnp.array([5, 256]), 256)
    assert 0 <= y[0] < 1 and np.isnan(y[1])


@pytest.mark.parametrize(
    "override, message",
    [("--config.model.hiden=1", "config.model has no field 'hiden'; known: ['activation'"),
     ("--config.modell.hidden=1", "config has no field 'modell'; known: ['data', 'eval'"),
     ("--config.data.name=cifar11", "unknown dataset 'cifar11'; known datasets")],
)  # fmt: skip
def test_command_line_names_unknown_fields_and_datasets(tmp_path, override, message):
    # A config that counts its executions: naming a bad field must not run it twice.
    counter = tmp_path / "executions"
    config = tmp_path / "counting_config.py"
    config.write_text(
        f"with open({str(counter)!r}, 'a') as f:\n    f.write('x')\n"
        "from experiments.configs.vae_digits import get_config\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "experiments.main", f"--config={config}",
         f"--workdir={tmp_path}", override],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0 and message in done.stderr, done.stderr[-1500:]
    assert counter.read_text() == "x"
