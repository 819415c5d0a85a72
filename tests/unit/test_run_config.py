"""A workdir's stored config against the config of a resumed or evaluated run."""

import dataclasses
import json

import pytest

from experiments.configs.dcgan_digits import get_config
from gensys.train.config import ExperimentConfig
from gensys.train.run_config import CONFIG_NAME, ConfigChangedError, check_unchanged, write_config
from gensys.typed_config import from_mapping


def test_a_field_added_since_the_run_is_unchanged_at_its_default(tmp_path):
    config = from_mapping(ExperimentConfig, get_config())
    write_config(tmp_path, config)
    path = tmp_path / CONFIG_NAME
    stored = json.loads(path.read_text())
    del stored["model.g_first"], stored["model.penalty_convolutions"]  # an older gensys's run
    path.write_text(json.dumps(stored))
    check_unchanged(tmp_path, config)  # the defaults: what that run trained with
    changed = dataclasses.replace(config, model={**config.model, "g_first": True})
    absent = r"model.g_first: <absent, so its default False> \(stored\) -> True"
    with pytest.raises(ConfigChangedError, match=absent):
        check_unchanged(tmp_path, changed)
    changed = dataclasses.replace(config, model={**config.model, "width": 8})
    with pytest.raises(ConfigChangedError, match=r"model.width: 32 \(stored\) -> 8 \(now\)"):
        check_unchanged(tmp_path, changed)
