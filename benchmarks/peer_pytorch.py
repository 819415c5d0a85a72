"""The PyTorch side of ``benchmarks/vs_pytorch.py``: diffusers' ``UNet2DModel`` doing the
same work as gensys's DDPM UNet (run in the peer environment, ``requirements-peer.txt``).

A worker of ``benchmarks/worker_protocol.py``, so the driver can interleave its
repetitions with gensys's. It imports neither JAX nor gensys.

The model matches ``benchmarks.vs_pytorch.UNET`` layer for layer: widths (32, 64, 64), two
residual blocks a level, one-head self-attention at 16x16 and in the middle, GroupNorm,
the same parameter count (checked by the driver). The training step is DDPM's: t and
noise drawn, x_t from the closed form, MSE on the noise, backward, global-norm clipping
to 1, Adam, and an EMA of the weights (as gensys's step does).
"""

from __future__ import annotations

import platform

import diffusers
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, UNet2DModel
from worker_protocol import (
    serve,
    unet_call_batch,
)  # this script's folder, benchmarks/, is on sys.path

BATCH = 64
IMAGE = (1, 32, 32)
NUM_TIMESTEPS = 1000


def make_unet(attention: bool = True) -> UNet2DModel:
    level_blocks = ("DownBlock2D", "AttnDownBlock2D", "DownBlock2D")
    up_blocks = ("UpBlock2D", "AttnUpBlock2D", "UpBlock2D")
    if not attention:
        level_blocks, up_blocks = ("DownBlock2D",) * 3, ("UpBlock2D",) * 3
    return UNet2DModel(
        sample_size=IMAGE[1],
        in_channels=IMAGE[0],
        out_channels=IMAGE[0],
        block_out_channels=(32, 64, 64),
        down_block_types=level_blocks,
        up_block_types=up_blocks,
        layers_per_block=2,
        norm_num_groups=8,
        attention_head_dim=64,  # one head, as gensys's AttentionBlock
        dropout=0.0,
    )


class TrainStep:
    def __init__(self):
        torch.manual_seed(0)
        self.model = make_unet().train()
        self.ema = [p.detach().clone() for p in self.model.parameters()]
        self.opt = torch.optim.Adam(self.model.parameters(), lr=2e-4)
        betas = torch.linspace(1e-4, 0.02, NUM_TIMESTEPS)
        self.alpha_bar = torch.cumprod(1.0 - betas, 0)
        self.x0 = torch.rand(BATCH, *IMAGE) * 2 - 1

    def __call__(self) -> None:
        t = torch.randint(0, NUM_TIMESTEPS, (BATCH,))
        noise = torch.randn_like(self.x0)
        a = self.alpha_bar[t].view(-1, 1, 1, 1)
        x_t = a.sqrt() * self.x0 + (1 - a).sqrt() * noise
        loss = torch.nn.functional.mse_loss(self.model(x_t, t).sample, noise)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, list(self.model.parameters()), 1 - 0.9995)
        loss.item()  # wait for the step, as gensys's timing blocks on its result


class Sampler:
    def __init__(self, scheduler, num_steps: int):
        torch.manual_seed(0)
        self.model = make_unet().eval()
        self.scheduler = scheduler
        self.num_steps = num_steps

    @torch.no_grad()
    def __call__(self) -> None:
        self.scheduler.set_timesteps(self.num_steps)
        x = torch.randn(BATCH, *IMAGE)
        for t in self.scheduler.timesteps:
            x = self.scheduler.step(self.model(x, t).sample, t, x).prev_sample
        float(x.sum())


def _schedule_kwargs():
    return dict(num_train_timesteps=NUM_TIMESTEPS, beta_start=1e-4, beta_end=0.02,
                beta_schedule="linear")  # fmt: skip


WORKLOADS = {
    "train_step": TrainStep,
    # DDIM (eta 0, "leading" spacing, x0 clipped to [-1, 1]) as gensys's ddim sampler.
    "ddim50": lambda: Sampler(
        DDIMScheduler(**_schedule_kwargs(), clip_sample=True, timestep_spacing="leading"), 50
    ),
    # DPM-Solver++(2M), "linspace" spacing, first order on the last step, as gensys's dpmpp_2m.
    "dpmpp20": lambda: Sampler(
        DPMSolverMultistepScheduler(
            **_schedule_kwargs(),
            algorithm_type="dpmsolver++",
            solver_order=2,
            timestep_spacing="linspace",
            lower_order_final=True,
        ),
        20,
    ),  # fmt: skip
}


class UNetCall:
    """One network evaluation at batch ``batch``: a sampler's step, without the update."""

    def __init__(self, batch: int):
        torch.manual_seed(0)
        self.model = make_unet().eval()
        self.x = torch.randn(batch, *IMAGE)
        self.t = torch.full((batch,), 500, dtype=torch.long)

    @torch.no_grad()
    def __call__(self) -> None:
        float(self.model(self.x, self.t).sample.sum())


def describe() -> dict:
    return {
        "framework": f"PyTorch {torch.__version__}, diffusers {diffusers.__version__}",
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in make_unet().parameters()),
    }


def build(workload: str):
    batch = unet_call_batch(workload)
    if batch is not None:
        return UNetCall(batch), {}
    return WORKLOADS[workload](), {}


if __name__ == "__main__":
    serve(describe, build)
