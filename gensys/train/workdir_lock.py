"""One training process a workdir at a time.

Two runs writing one workdir interleave their checkpoints and metrics (each then resumes
or overwrites the other's state), so training holds an exclusive lock on
``<workdir>/.lock`` for as long as it lives. The lock is the kernel's ``flock``: it is
released when the process exits, however it exits (``kill -9`` included), so a dead
owner's lock is simply taken over; the file's text (pid, host, start time) only serves the
error message. With several processes (hosts), process 0 holds it for the run.

``flock`` is local to one machine on some network file systems (older NFS): there the lock
guards against a second run on the same host only.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

LOCK_NAME = ".lock"


class WorkdirBusyError(RuntimeError):
    """Another live process trains in this workdir."""


class WorkdirLock:
    """``with WorkdirLock(workdir):`` holds the workdir's lock or raises
    :class:`WorkdirBusyError` naming the owner's pid and host."""

    def __init__(self, workdir: str | os.PathLike):
        self.path = Path(workdir) / LOCK_NAME
        self._file = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open while the lock is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = _describe(handle.read())
            handle.close()
            raise WorkdirBusyError(
                f"{self.path.parent} is in use by another training run ({owner}); wait for "
                "it to end, stop it, or train in another --workdir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        )
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> WorkdirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _describe(text: str) -> str:
    try:
        owner = json.loads(text)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner["since"]))
        return f"pid {owner['pid']} on host {owner['host']}, since {since}"
    except (ValueError, KeyError, TypeError):
        return "owner unknown: the lock file is being written"
