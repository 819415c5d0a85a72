"""Small files in a workdir written whole or not at all (a temporary name, then a rename),
so a process killed mid-write never leaves a torn record for the next start to read."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` to ``path`` through ``.<name>.<pid>.tmp`` and ``os.replace``."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)
