"""Mode coverage on the 8-gaussians ring, one row per GAN loss and generator.

    python -m benchmarks.gan_ring [--losses=minimax,...,hinge] [--seeds=0,1,2]
        [--num_steps=N] [--override=model.ema_decay=0.99,...] [--render_only]

Trains ``experiments/configs/wgangp_gaussians8.py`` with each loss and seed (the same MLP
players of 3 x 256 units, Adam 1e-4 with betas (0.5, 0.9), batches of 256 points; ``wgan``
and ``wgan_gp`` take their 5 critic steps, the other losses one discriminator step) for
the config's generator steps (or ``--num_steps``) on one CPU device, then evaluates
10,000 samples of the EMA generator and of the raw one against the known modes:
``modes_covered`` (of 8; a mode counts with at least 0.8 % of the samples within 3
standard deviations of it, PacGAN's bar) and ``high_quality_fraction`` (samples within
3 standard deviations of some mode; 0.989 for the real distribution).

Each run writes ``benchmarks/results/gan_ring/rows/<loss>_seed<k>.json`` (so several
invocations, e.g. one a core, can run side by side) and a scatter picture of each
generator's samples; the table ``benchmarks/results/gan_ring.{md,json}`` is rendered
from every run file present.
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import start_runtime

ALL_LOSSES = ("minimax", "nonsaturating", "lsgan", "wgan", "wgan_gp", "hinge")
CRITIC_STEPS = {"wgan": 5, "wgan_gp": 5}  # the papers' critic updates per generator step

_LOSSES = flags.DEFINE_list("losses", list(ALL_LOSSES), "GAN losses to train.")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Training seeds per loss.")
_STEPS = flags.DEFINE_integer("num_steps", None, "Generator steps per run (default: config).")
_OVERRIDES = flags.DEFINE_list(
    "override", [], "key=value config overrides for every run (e.g. model.ema_decay=0.99)."
)
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Rewrite the table from the run files.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/gan_ring", "Where the runs are trained.")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and pictures go.")


def train_one(loss: str, seed: int, out: Path) -> dict:
    """Trains one loss and seed; returns its row (both generators' coverage)."""
    from benchmarks.common import train_from_scratch

    critic_steps = CRITIC_STEPS.get(loss, 1)
    settings = [
        f"model.loss={loss}",
        f"model.d_steps={critic_steps}",
        f"train.seed={seed}",
        f"data.batch_size={256 * critic_steps}",
    ]  # one real minibatch a critic step
    workdir = Path(_WORKDIR.value) / f"{loss}_seed{seed}"
    _, result, seconds = train_from_scratch(
        "wgangp_gaussians8", workdir, num_steps=_STEPS.value,
        overrides=[*settings, *_OVERRIDES.value],
    )  # fmt: skip
    m = result.last_metrics
    run = {
        "loss": loss, "seed": seed, "steps": result.step, "train_seconds": seconds,
        "d_steps": critic_steps, "overrides": list(_OVERRIDES.value),
    }  # fmt: skip
    for generator in ("ema", "raw"):  # the average and the generator itself
        run[generator] = {
            "modes_covered": m[f"eval/{generator}/modes_covered"],
            "high_quality_fraction": m[f"eval/{generator}/high_quality_fraction"],
            "mode_fractions": [m[f"eval/{generator}/mode_{i}"] for i in range(8)],
        }
    pictures = {"ema": f"step_{result.step:07d}.png", "raw": f"samples_raw_{result.step:07d}.png"}
    for generator, name in pictures.items():
        picture = out / "gan_ring" / f"{loss}_seed{seed}_{generator}.png"
        shutil.copy(workdir / "samples" / name, picture)
        run[generator]["picture"] = str(picture.relative_to(out))
    return run


def real_floor() -> dict:
    import numpy as np

    from gensys.data import toy2d
    from gensys.data.datasets import load_split
    from gensys.eval.mode_coverage import mode_hits, modes_covered

    real = load_split("gaussians8", "test").images.reshape(-1, 2)
    hits = np.asarray(mode_hits(real, toy2d.GAUSSIANS8_MODES, toy2d.GAUSSIANS8_STD))
    return {
        "modes_covered": modes_covered(hits.mean(0)),
        "high_quality_fraction": float(hits.sum(1).mean()),
    }


def render(runs: list[dict], floor: dict, machine: str) -> str:
    rows = []
    for loss in [name for name in ALL_LOSSES if any(r["loss"] == name for r in runs)]:
        mine = sorted((r for r in runs if r["loss"] == loss), key=lambda r: r["seed"])
        steps = sorted({r["steps"] for r in mine})
        overrides = sorted({o for r in mine for o in r["overrides"]})
        for generator in ("ema", "raw"):
            modes = [r[generator]["modes_covered"] for r in mine]
            quality = [r[generator]["high_quality_fraction"] for r in mine]
            met = all(m == 8 for m in modes) and all(q >= 0.8 for q in quality)
            rows.append(
                f"| {loss} | {generator} | {', '.join(str(r['seed']) for r in mine)} | "
                f"{' / '.join(f'{v:.0f}' for v in modes)} | "
                f"{statistics.mean(quality):.3f} ({' / '.join(f'{v:.3f}' for v in quality)}) | "
                f"{'yes' if met else '**no**'} | {'/'.join(map(str, steps))} | "
                f"{statistics.mean(r['train_seconds'] for r in mine):.0f} | "
                f"{' '.join(f'`{o}`' for o in overrides) or '-'} |"
            )
    lines = [
        "# GAN mode coverage on the 8-gaussians ring",
        "",
        f"`python -m benchmarks.gan_ring` on {machine}, one CPU device a run; 10,000 samples "
        "of each generator a run. The goal: 8 of 8 modes and a high-quality fraction of at "
        "least 0.8 on every seed. Pictures of each run's samples, EMA and raw generator: "
        "`benchmarks/results/gan_ring/<loss>_seed<k>_{ema,raw}.png`.",
        "",
        "| loss | generator | seeds | modes covered (of 8), per seed | high-quality fraction, "
        "mean (per seed) | goal met | steps | train s / run | overrides |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        f"| real test points | | | {floor['modes_covered']} | "
        f"{floor['high_quality_fraction']:.3f} | | | | |",
    ]
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    out = Path(_OUT.value)
    run_dir = out / "gan_ring" / "rows"  # one file a run ("runs/" is ignored by git)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not _RENDER_ONLY.value:
        start_runtime(1)
        for loss in _LOSSES.value:
            if loss not in ALL_LOSSES:
                raise app.UsageError(f"--losses: {loss!r} is not one of {list(ALL_LOSSES)}")
            for seed in (int(s) for s in _SEEDS.value):
                run = train_one(loss, seed, out)
                logging.info("%s", run)
                (run_dir / f"{loss}_seed{seed}.json").write_text(json.dumps(run, indent=1))
    else:
        start_runtime(1)
    import jax

    runs = [json.loads(p.read_text()) for p in sorted(run_dir.glob("*.json"))]
    floor = real_floor()
    machine = f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}"
    (out / "gan_ring.md").write_text(render(runs, floor, machine))
    (out / "gan_ring.json").write_text(json.dumps({"floor": floor, "runs": runs}, indent=1))
    print((out / "gan_ring.md").read_text())


if __name__ == "__main__":
    app.run(main)
