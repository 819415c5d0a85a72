"""The accelerator check (``benchmarks/gpu_check.py``, ``make gpu-check``) end to end at
its tiny sizes on the CPU: the step in both dtypes, both samplers and one config's
training, on random pixels in CIFAR-10's format, written part by part."""

import json

import jax
import pytest

from benchmarks import gpu_check


def test_gpu_check_runs_on_the_cpu_at_its_tiny_sizes(tmp_path):
    """Every part and the report, part 2 in float32 only (bfloat16 differs by the config's
    ``compute_dtype``, whose UNet is tested in ``test_unet.py``; XLA:CPU compiles it
    slowly) and part 4 on one config (the configs themselves: ``test_cifar10_configs.py``)."""
    settings = gpu_check.CheckSettings(
        configs=("vae_cifar10",), steps=2, timed_steps=1, dtypes=("float32",), tiny=True,
        workdir=str(tmp_path / "work"), out=str(tmp_path / "out"),
    )  # fmt: skip
    results = gpu_check.run_check(settings)
    report = (tmp_path / "out" / "gpu_check.md").read_text()
    devices = jax.local_device_count()  # data-parallel: 4 images a device
    assert f"| float32 | {4 * devices} | {devices} |" in report
    assert "| ddim 50 | 4 |" in report and "| dpmpp_2m 20 | 4 |" in report
    assert "| vae_cifar10 | 4 | 2 |" in report and "bpd" in report
    assert (tmp_path / "out" / "gpu_check" / "losses.png").stat().st_size > 1000
    assert json.loads((tmp_path / "out" / "gpu_check.json").read_text()) == results
    assert all(r["median_seconds"] > 0 and r["flops"] > 0 for r in results["train_step"])


def test_gpu_check_refuses_an_unknown_config_before_running_anything(tmp_path):
    settings = gpu_check.CheckSettings(configs=("ddpm_cifar100",), out=str(tmp_path))
    with pytest.raises(ValueError, match=r"\['ddpm_cifar100'\] are not among"):
        gpu_check.run_check(settings)
    assert not any(tmp_path.iterdir())
