"""Train, evaluate or sample any gensys family from a config file.

    python -m experiments.main --config=experiments/configs/ddpm_digits.py \
        --workdir=runs/ddpm_digits [--mode=train|eval|sample] [--config.train.num_steps=2000]

Running ``train`` again in the same workdir resumes from its latest checkpoint.

Several processes (hosts) train one model when each is started with
``--coordinator_address=<host of process 0>:<port> --num_processes=N --process_id=i``
(or ``--distributed`` alone where JAX detects the cluster, e.g. under SLURM): each reads
its own shard of every batch, process 0 writes metrics and samples, and every process
takes part in the checkpoints, which all of them must see (a shared file system).
"""

from __future__ import annotations

import os

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and samples.")
_MODE = flags.DEFINE_enum("mode", "train", ["train", "eval", "sample"], "What to do.")
_CPU_DEVICES = flags.DEFINE_integer(
    "cpu_devices",
    None,
    "XLA host devices on CPU (default: one per core, at most 8, dividing the batch size).",
)
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed", False, "Join a multi-process run (implied by --coordinator_address)."
)
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes in the run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    # JAX settings must precede the first computation, so gensys is imported here.
    from gensys.train import runtime

    raw = _CONFIG.value
    runtime.enable_compilation_cache()
    runtime.tune_cpu_compiler()
    runtime.quiet_library_logs()
    runtime.set_cpu_devices(_CPU_DEVICES.value or runtime.cpu_device_count_for(raw.data.batch_size))
    if _DISTRIBUTED.value or _COORDINATOR.value:
        runtime.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)

    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    config = from_mapping(ExperimentConfig, raw)
    recipe = recipe_for(config)  # the engine runs whatever recipe it is given
    workdir = os.path.expanduser(_WORKDIR.value)
    if _MODE.value == "train":
        result = loop.train(config, workdir, recipe)
        logging.info(
            "%s at step %d; final metrics: %s",
            "interrupted" if result.interrupted else "finished",
            result.step,
            result.last_metrics,
        )
    elif _MODE.value == "eval":
        logging.info("eval: %s", loop.evaluate(config, workdir, recipe))
    else:
        logging.info("samples: %s", loop.sample(config, workdir, recipe))


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing, with an unknown ``--config.<path>`` named and its section's fields
    listed (ml_collections alone raises ``AttributeError: "'name'"``)."""
    # The config file is executed once: its parser's result is kept for the error message.
    parser, loaded = flags.FLAGS["config"].parser, []
    load = parser.parse
    parser.parse = lambda argument: loaded.append(load(argument)) or loaded[-1]
    try:
        return flags.FLAGS(argv)
    except (AttributeError, KeyError) as err:
        if not loaded:
            raise
        raw = loaded[-1]
        overrides = [
            a.split("=", 1)[0][len("--config.") :] for a in argv if a.startswith("--config.")
        ]
        for path in overrides:
            node, where = raw, "config"
            for name in path.split("."):
                if not hasattr(node, "keys") or name not in node.keys():
                    known = sorted(node.keys()) if hasattr(node, "keys") else []
                    raise SystemExit(
                        f"unknown config field --config.{path}: {where} has no field "
                        f"{name!r}; known: {known}"
                    ) from err
                node, where = node[name], f"{where}.{name}"
        raise
    finally:
        del parser.parse  # the class's own method again


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
