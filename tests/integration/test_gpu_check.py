"""The accelerator check (``benchmarks/gpu_check.py``, ``make gpu-check``) end to end at
its tiny sizes on the CPU: the step in both dtypes, both samplers and one config's
training, on random pixels in CIFAR-10's format, written part by part."""

import dataclasses
import json

import jax
import pytest

from benchmarks import gpu_check


def test_gpu_check_runs_on_the_cpu_at_its_tiny_sizes(tmp_path):
    """Parts 1-3 and the report, part 2 in float32 only (bfloat16 differs by the config's
    ``compute_dtype``, whose UNet is tested in ``test_unet.py``; XLA:CPU compiles it
    slowly). Part 4 trains each config with the engine's loop (the configs themselves:
    ``test_cifar10_configs.py``); its table and picture are checked below."""
    settings = gpu_check.CheckSettings(
        configs=(), steps=2, timed_steps=1, dtypes=("float32",), tiny=True,
        workdir=str(tmp_path / "work"), out=str(tmp_path / "out"),
    )  # fmt: skip
    results = gpu_check.run_check(settings)
    report = (tmp_path / "out" / "gpu_check.md").read_text()
    devices = jax.local_device_count()  # data-parallel: 4 images a device
    assert f"| float32 | {4 * devices} | {devices} |" in report
    assert "| ddim 50 | 4 |" in report and "| dpmpp_2m 20 | 4 |" in report
    assert json.loads((tmp_path / "out" / "gpu_check.json").read_text()) == results
    assert all(r["median_seconds"] > 0 and r["flops"] > 0 for r in results["train_step"])


def test_gpu_check_reports_each_config_with_its_loss_curve(tmp_path):
    rows = [
        {"config": "vae_cifar10", "family": "vae", "steps": 300, "batch": 128,
         "wall_seconds": 61.0, "steps_per_sec": 9.5,
         "losses": {"train/loss": [[10, 5.0], [20, 4.0]]}, "eval": {"eval/bpd": 5.1}},
        {"config": "dcgan_cifar10", "family": "gan", "steps": 300, "batch": 128,
         "wall_seconds": 40.0, "steps_per_sec": None,
         "losses": {"train/d_loss": [[10, 1.3]], "train/g_loss": [[10, 0.7]]}, "eval": {}},
    ]  # fmt: skip
    gpu_check.draw_losses(rows, tmp_path / "losses.png")
    assert (tmp_path / "losses.png").stat().st_size > 1000
    device = {"backend": "gpu", "device": "NVIDIA H200", "local_devices": 1,
              "peak_bf16_flops": 989.4e12, "jax": "0"}  # fmt: skip
    results = {"commands": ["c"], "device": device, "machine": "m", "started": "s",
               "data": "d", "tiny": False, "steps": 300, "skipped": ["glow_cifar10"],
               "configs": rows,
               "train_step": [{"dtype": "bfloat16", "batch": 128, "devices": 1,
                               "median_seconds": 0.009, "compile_seconds": 30.0,
                               "flops": 4.5e12, "flops_per_second": 5e14,
                               "parameters": 35746307}]}  # fmt: skip
    report = gpu_check.render(results)
    assert "| vae_cifar10 | 128 | 300 | 9.50 | 61 s | bpd 5.1 |" in report
    assert "| dcgan_cifar10 | 128 | 300 | - | 40 s |  |" in report
    # 4.5 TFLOP at 989 TFLOP/s: 4.5 ms at peak; 9 ms measured is 51 % of it.
    assert "| bfloat16 | 128 | 1 | 9.0 ms | 4.5 ms |" in report and "| 51% |" in report
    assert "Skipped (time budget spent): glow_cifar10." in report


def test_gpu_check_refuses_an_unknown_config_before_running_anything(tmp_path):
    settings = gpu_check.CheckSettings(configs=("ddpm_cifar100",), out=str(tmp_path))
    with pytest.raises(ValueError, match=r"\['ddpm_cifar100'\] are not among"):
        gpu_check.run_check(settings)
    assert not any(tmp_path.iterdir())


def test_gpu_check_reports_a_failing_part_and_runs_the_next(tmp_path, monkeypatch):
    """A part that raises (a family broken on a new backend) is named with its error in
    the report, and the parts after it still run."""

    def train_config(name, *args):
        if name == "vae_cifar10":
            raise RuntimeError("no kernel for this backend")
        losses = {"train/g_loss": [[1, 0.7]]}
        return {"config": name, "family": "gan", "steps": 2, "batch": 4, "wall_seconds": 1.0,
                "steps_per_sec": 2.0, "losses": losses, "eval": {}}  # fmt: skip

    monkeypatch.setattr(gpu_check, "train_config", train_config)
    monkeypatch.setattr(gpu_check, "time_sampler", lambda *a: 1 / 0)
    settings = gpu_check.CheckSettings(
        configs=("vae_cifar10", "dcgan_cifar10"), dtypes=(), tiny=True,
        workdir=str(tmp_path / "work"), out=str(tmp_path / "out"),
    )  # fmt: skip
    results = gpu_check.run_check(settings)
    assert [row["config"] for row in results["configs"]] == ["dcgan_cifar10"]
    assert results["failed"] == [
        "sampling ddim: ZeroDivisionError: division by zero",
        "sampling dpmpp_2m: ZeroDivisionError: division by zero",
        "vae_cifar10: RuntimeError: no kernel for this backend",
    ]
    report = (tmp_path / "out" / "gpu_check.md").read_text()
    assert "- vae_cifar10: RuntimeError: no kernel for this backend" in report
    assert "| dcgan_cifar10 | 4 | 2 | 2.00 |" in report


def test_gpu_check_resumes_an_earlier_run_with_the_parts_it_lacks(tmp_path, monkeypatch):
    """--resume keeps the parts in out/gpu_check.json, runs only the missing ones, counts
    an old step row's FLOPs again and refuses an earlier run on another device."""
    out = tmp_path / "out"
    out.mkdir()
    device = gpu_check.device_facts()
    old_step = {"dtype": "float32", "batch": 4, "devices": 1, "median_seconds": 0.5,
                "compile_seconds": 3.0, "flops": 1.0, "flops_per_second": 2.0,
                "parameters": 10}  # fmt: skip
    done_config = {"config": "vae_cifar10", "family": "vae", "steps": 2, "batch": 4,
                   "wall_seconds": 1.0, "steps_per_sec": 2.0, "losses": {}, "eval": {}}  # fmt: skip
    earlier = {"device": device, "machine": "m", "data": "random pixels", "tiny": True, "steps": 2,
               "started": "2026-01-01 00:00 UTC", "train_step": [old_step],
               "sampling": [{"sampler": "ddim 50", "images": 4, "seconds": 1.0,
                             "images_per_second": 4.0, "first_call_seconds": 2.0}],
               "configs": [done_config]}  # fmt: skip
    (out / "gpu_check.json").write_text(json.dumps(earlier))
    ran = []
    monkeypatch.setattr(gpu_check, "train_config", lambda name, *a: ran.append(name) or
                        dict(done_config, config=name))  # fmt: skip
    monkeypatch.setattr(gpu_check, "time_sampler", lambda d, name, *a: ran.append(name) or
                        {"sampler": f"{name} 20", "images": 4, "seconds": 1.0,
                         "images_per_second": 4.0, "first_call_seconds": 2.0})  # fmt: skip
    monkeypatch.setattr(gpu_check, "time_train_step", lambda *a: 1 / 0)
    settings = gpu_check.CheckSettings(
        configs=("vae_cifar10", "dcgan_cifar10"), steps=2, dtypes=("float32",), tiny=True,
        workdir=str(tmp_path / "work"), out=str(out), resume=True,
    )  # fmt: skip
    results = gpu_check.run_check(settings)
    assert ran == ["dpmpp_2m", "dcgan_cifar10"] and results["failed"] == []
    assert [r["config"] for r in results["configs"]] == ["vae_cifar10", "dcgan_cifar10"]
    step = results["train_step"][0]
    assert step["flops_source"] == gpu_check.FLOPS_SOURCE and step["flops"] > 1e6
    assert step["flops_per_second"] == step["flops"] / 0.5
    assert results["started"] == "2026-01-01 00:00 UTC" and "resumed" in results
    assert "(resumed " in (out / "gpu_check.md").read_text()

    counted = step["flops"]

    earlier["device"] = dict(device, device="NVIDIA H200")
    (out / "gpu_check.json").write_text(json.dumps(earlier))
    with pytest.raises(ValueError, match=r"earlier run was on \d x NVIDIA H200"):
        gpu_check.run_check(settings)

    # --recount_flops: an accelerator's results, counted again here; nothing else runs.
    ran.clear()
    results = gpu_check.run_check(dataclasses.replace(settings, resume=False, recount_flops=True))
    assert ran == [] and results["device"]["device"] == "NVIDIA H200"
    assert results["train_step"][0]["flops"] == counted
    assert json.loads((out / "gpu_check.json").read_text()) == results
