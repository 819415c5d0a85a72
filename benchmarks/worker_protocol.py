"""The timing worker both sides of ``benchmarks/vs_pytorch.py`` run (standard library only,
so the PyTorch environment can import it too).

A worker reads one JSON command a line on stdin and answers one JSON line on stdout:
``{"op": "describe"}`` (the framework, versions, ...), ``{"op": "setup", "workload": W}``
(builds the workload and times its first call, which includes any compile),
``{"op": "run", "workload": W, "reps": N, "warmup": K}`` (``K`` untimed calls, default 0,
then the wall times of ``N`` calls) and
``{"op": "quit"}``. The driver interleaves the two sides' ``run`` commands.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

UNET_CALL_PREFIX = "unet_call_b"  # workload unet_call_b<batch>: one UNet call at that batch


def unet_call_batch(workload: str) -> int | None:
    """The batch of a ``unet_call_b<batch>`` workload, ``None`` for another workload."""
    if workload.startswith(UNET_CALL_PREFIX):
        return int(workload[len(UNET_CALL_PREFIX) :])
    return None


def serve(describe: Callable[[], dict], build: Callable[[str], tuple[Callable, dict]]) -> None:
    """Answers commands until ``quit`` or the end of stdin. ``build(workload)`` returns the
    function to time (it must wait for its own result) and facts to report with it."""
    built = {}
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "quit":
            break
        if op == "describe":
            answer = describe()
        elif op == "setup":
            tick = time.perf_counter()
            fn, info = build(command["workload"])
            built_s = time.perf_counter() - tick
            tick = time.perf_counter()
            fn()
            answer = {"build_s": built_s, "first_call_s": time.perf_counter() - tick, **info}
            built[command["workload"]] = fn
        elif op == "run":
            fn = built[command["workload"]]
            for _ in range(command.get("warmup", 0)):
                fn()
            times = []
            for _ in range(command["reps"]):
                tick = time.perf_counter()
                fn()
                times.append(time.perf_counter() - tick)
            answer = {"times": times}
        else:
            answer = {"error": f"unknown op {op!r}"}
        print(json.dumps(answer), flush=True)
