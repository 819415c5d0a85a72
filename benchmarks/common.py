"""What every benchmark script sets up the same way: the runtime and its experiment configs."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Sequence
from pathlib import Path

# Benchmarks (never the library or its configs) read the project's local copies of the
# datasets that have no bundled copy, when no --config.data.dir is given.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LOCAL_DATA_DIRS = {"binarized_mnist": "binarized_mnist", "mnist_idx": "mnist"}


def median_ms(fn, *args, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn(*args)`` after one warm-up call, in ms
    (each call waited for with ``jax.block_until_ready``)."""
    import time

    import jax
    import numpy as np

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def start_runtime(cpu_devices: int = 2) -> None:
    """The persistent compilation cache, gensys's XLA:CPU flags, quiet library logs and
    ``cpu_devices`` host devices (call before JAX is first used)."""
    from gensys.train import runtime

    runtime.enable_compilation_cache()
    runtime.tune_cpu_compiler()
    runtime.quiet_library_logs()
    runtime.set_cpu_devices(cpu_devices)


def experiment_config(name: str, *, num_steps: int | None = None, overrides: Sequence[str] = ()):
    """``experiments/configs/<name>.py`` as a ConfigDict, with ``train.num_steps`` set and
    each ``key=value`` override applied (values read as Python literals; a value that is not
    one, e.g. ``model.optimizer=adagrad``, is taken as a string)."""
    raw = importlib.import_module(f"experiments.configs.{name}").get_config()
    for item in overrides:
        key, value = item.split("=", 1)
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
        raw.update_from_flattened_dict({key: parsed})
    if num_steps is not None:
        raw.train.num_steps = int(num_steps)
    if raw.data.dir is None and raw.data.name in LOCAL_DATA_DIRS:
        raw.data.dir = str(SHARED_DATA / LOCAL_DATA_DIRS[raw.data.name])
    return raw


def typed(raw, changes: dict | None = None):
    """``raw`` (an experiment ConfigDict) with each dotted ``key: value`` of ``changes``
    applied and the progress bar off, as the engine's typed config."""
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    raw.train.progress_bar = False
    for key, value in (changes or {}).items():
        raw.update_from_flattened_dict({key: value})
    return from_mapping(ExperimentConfig, raw)


def train_from_scratch(name: str, workdir, *, num_steps=None, overrides: Sequence[str] = ()):
    """Trains ``experiments/configs/<name>.py`` in an emptied ``workdir``; returns the typed
    config, the loop's result and the wall time in seconds."""
    import shutil
    import time

    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    raw = experiment_config(name, num_steps=num_steps, overrides=overrides)
    raw.train.progress_bar = False
    config = from_mapping(ExperimentConfig, raw)
    shutil.rmtree(workdir, ignore_errors=True)
    start = time.perf_counter()
    result = loop.train(config, workdir, recipe_for(config))
    seconds = time.perf_counter() - start
    if result.interrupted:
        raise SystemExit("interrupted (SIGTERM) before the end of training")
    return config, result, seconds


def median_seconds(fn, calls: int = 5) -> float:
    """Median wall time of ``calls`` calls of ``fn(i)`` (blocked until ready) after one
    warm-up call (which compiles)."""
    import statistics
    import time

    import jax

    jax.block_until_ready(fn(0))
    times = []
    for i in range(calls):
        tick = time.perf_counter()
        jax.block_until_ready(fn(i + 1))
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def copy_final_pictures(workdir, step: int, destination, prefix: str) -> None:
    """The run's pictures of its last step, as ``<destination>/<prefix>_<kind>.png``."""
    import shutil
    from pathlib import Path

    Path(destination).mkdir(parents=True, exist_ok=True)
    for picture in (Path(workdir) / "samples").glob(f"*_{step:07d}*.png"):
        stem = picture.stem.replace(f"_{step:07d}", "")
        shutil.copy(picture, Path(destination) / f"{prefix}_{stem}.png")


def run_key(run: dict) -> str:
    """One row per config and set of overrides."""
    return ",".join([run["config"], *run.get("overrides", [])])


def load_runs(path) -> dict[str, dict]:
    """The runs of a results JSON file by :func:`run_key` (none when it does not exist)."""
    import json
    from pathlib import Path

    path = Path(path)
    previous = json.loads(path.read_text()) if path.exists() else {}
    return {run_key(r): r for r in previous.get("runs", [])}


def save_runs(path, runs: dict[str, dict]) -> None:
    import json
    from pathlib import Path

    Path(path).write_text(json.dumps({"runs": list(runs.values())}, indent=1))


def overrides_of(name: str, overrides: Sequence[str]) -> list[str]:
    """The ``key=value`` parts of the ``config:key=value`` overrides that name ``name``."""
    return [o.split(":", 1)[1] for o in overrides if o.split(":", 1)[0] == name]


def picture_prefix(name: str, overrides: Sequence[str]) -> str:
    """``<config>_<field><value>...``: file names of a run's pictures, without quotes."""
    suffix = "".join(f"_{o.split('=')[0].split('.')[-1]}{o.split('=')[1]}" for o in overrides)
    return (name + suffix).replace("'", "").replace('"', "")


def machine() -> str:
    """The processor and JAX platform, for the tables' headers."""
    import platform

    import jax

    return f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}"


def ended(workdir: Path) -> bool:
    """Whether the run in ``workdir`` finished: its end-of-run record is complete at its
    latest checkpoint (a run ended by ``train.max_seconds`` is not trained again)."""
    import json

    from gensys.train.end_of_run import RECORD_NAME, EndOfRunRecord

    record = workdir / RECORD_NAME
    if not record.is_file():
        return False
    step = json.loads(record.read_text()).get("step", -1)
    checkpoints = [int(p.name) for p in (workdir / "checkpoints").glob("*") if p.name.isdigit()]
    return bool(checkpoints) and max(checkpoints) == step and EndOfRunRecord(workdir, step).complete
