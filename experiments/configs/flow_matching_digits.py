"""Flow matching (rectified flow: Lipman et al. 2023, Liu et al. 2023) on scikit-learn's 8x8
digits, on ``ddpm_digits.py``'s UNet, optimiser, batch and length: the network regresses
the velocity of the straight path from N(0, I) noise to the data, with t ~ U(0, 1) (seen by
the UNet as 1000 t), and samples by Heun's method on 50 uniform steps (99 evaluations).

    python -m experiments.main --config=experiments/configs/flow_matching_digits.py \\
        --workdir=runs/flow_matching_digits
    # the exact NLL by the ODE (dequantized to the 17 levels) in --mode=eval:
    #   --config.model.eval_ode_steps=64
"""

from experiments.configs.base import get_flow_matching_config
from experiments.configs.ddpm_digits import get_config as get_ddpm_digits_config


def get_config():
    ddpm = get_ddpm_digits_config()
    config = get_flow_matching_config()
    config.data, config.eval, config.train = ddpm.data, ddpm.eval, ddpm.train
    m = config.model
    shared = ("channels", "channel_mults", "num_res_blocks", "attention_resolutions", "dropout",
              "learning_rate", "warmup_steps", "grad_clip_norm", "ema_decay")  # fmt: skip
    for name in shared:
        m[name] = ddpm.model[name]
    config.sampler.name = "heun"
    config.sampler.num_steps = 50
    return config
