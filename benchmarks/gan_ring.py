"""Mode coverage on the 8-gaussians ring, one row per GAN loss.

    python -m benchmarks.gan_ring [--losses=minimax,nonsaturating,lsgan,wgan_gp] [--seeds=0,1]

Trains ``experiments/configs/wgangp_gaussians8.py`` with each loss and seed
(same MLP players of 3 x 256 units, Adam 1e-4 with betas (0.5, 0.9), batches of
256 points; ``wgan_gp`` takes its 5 critic steps and lambda = 10, the other
losses one discriminator step) for ``--num_steps`` generator steps, then
evaluates 10,000 samples of the EMA generator against the known modes:
``modes_covered`` (of 8; a mode counts with at least 0.8 % of the samples
within 3 standard deviations of it, PacGAN's bar) and ``high_quality_fraction``
(samples within 3 standard deviations of some mode; 0.989 for the real
distribution). Results go to ``benchmarks/results/gan_ring.{json,md}`` with a
scatter picture per run in ``benchmarks/results/gan_ring/``.
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
import time
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import start_runtime

_LOSSES = flags.DEFINE_list("losses", ["minimax", "nonsaturating", "lsgan", "wgan_gp"], "")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1"], "Training seeds per loss.")
_STEPS = flags.DEFINE_integer("num_steps", 3000, "Generator steps per run.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/gan_ring", "Where the runs are trained.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and pictures go.")


def main(argv):
    del argv
    start_runtime(2)

    import jax
    import numpy as np

    from experiments.configs.wgangp_gaussians8 import get_config
    from gensys.data import toy2d
    from gensys.data.datasets import load_split
    from gensys.eval.mode_coverage import mode_hits, modes_covered
    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    out = Path(_OUT.value)
    (out / "gan_ring").mkdir(parents=True, exist_ok=True)
    real = load_split("gaussians8", "test").images.reshape(-1, 2)
    hits = np.asarray(mode_hits(real, toy2d.GAUSSIANS8_MODES, toy2d.GAUSSIANS8_STD))
    floor = {
        "modes_covered": modes_covered(hits.mean(0)),
        "high_quality_fraction": float(hits.sum(1).mean()),
    }
    logging.info("real test points: %s", floor)

    runs = []
    for loss in _LOSSES.value:
        for seed in (int(s) for s in _SEEDS.value):
            raw = get_config()
            raw.model.loss = loss
            if loss != "wgan_gp":
                raw.model.d_steps = 1
                raw.data.batch_size = 256
            raw.train.num_steps = _STEPS.value
            raw.train.seed = seed
            raw.train.progress_bar = False
            config = from_mapping(ExperimentConfig, raw)
            workdir = Path(_WORKDIR.value) / f"{loss}_seed{seed}"
            start = time.perf_counter()
            result = loop.train(config, workdir, recipe_for(config))
            seconds = time.perf_counter() - start
            if result.interrupted:
                raise SystemExit("interrupted (SIGTERM): the checkpoint is saved; run again")
            m = result.last_metrics
            run = {"loss": loss, "seed": seed, "steps": result.step, "train_seconds": seconds}
            for generator in ("ema", "raw"):  # the average and the generator itself
                run[generator] = {
                    "modes_covered": m[f"eval/{generator}/modes_covered"],
                    "high_quality_fraction": m[f"eval/{generator}/high_quality_fraction"],
                    "mode_fractions": [m[f"eval/{generator}/mode_{i}"] for i in range(8)],
                }
            runs.append(run)
            logging.info("%s", run)
            picture = out / "gan_ring" / f"{loss}_seed{seed}.png"
            shutil.copy(workdir / "samples" / f"step_{result.step:07d}.png", picture)

    rows = []
    for loss in _LOSSES.value:
        mine = [r for r in runs if r["loss"] == loss]
        for generator in ("ema", "raw"):
            modes = [r[generator]["modes_covered"] for r in mine]
            quality = [r[generator]["high_quality_fraction"] for r in mine]
            rows.append(
                f"| {loss} | {generator} | {' / '.join(f'{v:.0f}' for v in modes)} | "
                f"{statistics.mean(quality):.3f} ({' / '.join(f'{v:.3f}' for v in quality)}) | "
                f"{statistics.mean(r['train_seconds'] for r in mine):.0f} |"
            )
    table = "\n".join(
        [
            "| loss | generator | modes covered (of 8), per seed | high-quality fraction, "
            "mean (per seed) | train s / run |",
            "|---|---|---|---|---|",
            *rows,
            f"| real test points | | {floor['modes_covered']} | "
            f"{floor['high_quality_fraction']:.3f} | |",
        ]
    )
    machine = f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}"
    header = (
        f"# GAN mode coverage on the 8-gaussians ring\n\n`python -m benchmarks.gan_ring "
        f"--losses={','.join(_LOSSES.value)} --seeds={','.join(_SEEDS.value)} "
        f"--num_steps={_STEPS.value}` on {machine} ({jax.device_count()} devices); "
        f"10,000 samples per run.\n\n"
    )
    (out / "gan_ring.md").write_text(header + table + "\n")
    (out / "gan_ring.json").write_text(json.dumps({"floor": floor, "runs": runs}, indent=1))
    print(header + table)


if __name__ == "__main__":
    app.run(main)
