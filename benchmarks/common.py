"""What every benchmark script sets up the same way: the runtime and its experiment configs."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Sequence


def start_runtime(cpu_devices: int = 2) -> None:
    """The persistent compilation cache, quiet library logs and ``cpu_devices`` host devices
    (call before JAX is first used)."""
    from gensys.train import runtime

    runtime.enable_compilation_cache()
    runtime.quiet_library_logs()
    runtime.set_cpu_devices(cpu_devices)


def experiment_config(name: str, *, num_steps: int | None = None, overrides: Sequence[str] = ()):
    """``experiments/configs/<name>.py`` as a ConfigDict, with ``train.num_steps`` set and
    each ``key=value`` override applied (values read as Python literals, e.g. ``'glow'``)."""
    raw = importlib.import_module(f"experiments.configs.{name}").get_config()
    for item in overrides:
        key, value = item.split("=", 1)
        raw.update_from_flattened_dict({key: ast.literal_eval(value)})
    if num_steps is not None:
        raw.train.num_steps = int(num_steps)
    return raw
