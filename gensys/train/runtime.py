"""Process-wide JAX settings: the persistent compilation cache, CPU host devices and
XLA:CPU compiler flags.

All must be set before the first computation; call them at the top of a
program (the experiment entry point and the test suite do).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jax


def default_compilation_cache_dir() -> Path:
    env = os.environ.get("GENSYS_COMPILATION_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "gensys" / "jax_compilation_cache"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Persists compiled programs on disk so a second process skips the 7-13 s compiles."""
    path = Path(directory) if directory is not None else default_compilation_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def cpu_device_count_for(batch_size: int, cores: int | None = None, max_devices: int = 8) -> int:
    """The most host devices (at most one per core) that divide ``batch_size`` evenly.

    One XLA CPU device keeps only about 1.2 of 2 cores busy; one device per
    core with the batch sharded over them measured about 1.9x on a UNet step.
    """
    cores = cores or os.cpu_count() or 1
    for n in range(min(cores, max_devices), 0, -1):
        if batch_size % n == 0:
            return n
    return 1


def set_cpu_devices(count: int) -> None:
    """Splits the CPU into ``count`` XLA devices (no effect on GPU/TPU backends)."""
    jax.config.update("jax_num_cpu_devices", int(count))


# XLA:CPU's concurrency-optimised scheduler runs independent matrix products at the same
# time; on the UNet's per-tap kernel gradients (gensys.nets.tap_conv) that was 2.8x slower
# than running them in order (9 products: 60 ms against 22 ms at batch 64).
_CPU_XLA_FLAGS = ("--xla_cpu_enable_concurrency_optimized_scheduler=false",)


def tune_cpu_compiler() -> None:
    """Adds gensys's XLA:CPU compiler flags to ``XLA_FLAGS`` (no effect on GPU/TPU code).

    XLA reads the variable when the backend starts, so call this before the first
    computation; a flag the user already set in ``XLA_FLAGS`` is left as it is.
    """
    current = os.environ.get("XLA_FLAGS", "")
    added = [f for f in _CPU_XLA_FLAGS if f.split("=")[0] not in current]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([current, *added]).strip()


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> None:
    """Joins a multi-process run (``jax.distributed.initialize``); call before any computation.

    On a cluster JAX recognises (SLURM, Cloud TPU, Open MPI) the arguments may be left
    out; otherwise every process passes the same ``coordinator_address`` (``host:port`` of
    process 0), ``num_processes`` and its own ``process_id``. CPU processes exchange
    collectives through gloo (ignored on GPU and TPU).
    """
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id
    )


class _DropLibraryInfo(logging.Filter):
    """Drops INFO-and-below records that Orbax and TFDS send through absl logging."""

    _NOISY = (f"{os.sep}orbax{os.sep}", f"{os.sep}tensorflow_datasets{os.sep}")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not any(
            part in record.pathname for part in self._NOISY
        )


def quiet_library_logs() -> None:
    """Keeps Orbax's and TFDS's per-save INFO lines out of the run's log (warnings still show)."""
    logger = logging.getLogger("absl")
    if not any(isinstance(f, _DropLibraryInfo) for f in logger.filters):
        logger.addFilter(_DropLibraryInfo())
