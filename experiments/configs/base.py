"""Defaults shared by every experiment config; each config imports this and overrides fields."""

import ml_collections


def get_base_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.family = "ddpm"

    config.data = ml_collections.ConfigDict()
    config.data.name = "digits"
    config.data.split = "train"
    config.data.dir = ml_collections.config_dict.placeholder(str)
    config.data.cache_dir = ml_collections.config_dict.placeholder(str)
    config.data.download = False
    config.data.batch_size = 128

    config.train = ml_collections.ConfigDict()
    config.train.num_steps = 1000
    config.train.seed = 0
    config.train.log_every = 50
    config.train.checkpoint_every = 500
    config.train.keep_checkpoints = 3
    config.train.sample_every = 0
    config.train.num_samples = 64
    config.train.eval_every = 0
    config.train.nonfinite_budget = 20
    config.train.progress_bar = True

    config.eval = ml_collections.ConfigDict()
    config.eval.split = "test"
    config.eval.batch_size = 256
    config.eval.max_examples = ml_collections.config_dict.placeholder(int)

    config.model = ml_collections.ConfigDict()
    return config
