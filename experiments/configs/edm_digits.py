"""EDM (Karras et al. 2022) on scikit-learn's 8x8 digits, on ``ddpm_digits.py``'s UNet,
optimiser, batch and length: the preconditioned denoiser with sigma_data = 0.5, log sigma ~
N(-1.2, 1.2^2) in training, and the deterministic Heun sampler on 18 EDM levels from 80 to
0.002 (35 evaluations).

    python -m experiments.main --config=experiments/configs/edm_digits.py --workdir=runs/edm
    # the stochastic sampler: --config.sampler.s_churn=40 --config.sampler.s_tmin=0.05
"""

from experiments.configs.base import get_edm_config
from experiments.configs.ddpm_digits import get_config as get_ddpm_digits_config


def get_config():
    ddpm = get_ddpm_digits_config()
    config = get_edm_config()
    config.data, config.eval, config.train = ddpm.data, ddpm.eval, ddpm.train
    shared = ("channels", "channel_mults", "num_res_blocks", "attention_resolutions", "dropout",
              "learning_rate", "warmup_steps", "grad_clip_norm", "ema_decay")  # fmt: skip
    for name in shared:
        config.model[name] = ddpm.model[name]
    return config
