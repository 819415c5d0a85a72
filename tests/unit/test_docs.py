"""The front door and the docs: every Python block in README.md and docs/ runs, the README
stays short, and no page points a user at paths outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_every_python_block_runs(page):
    # A page's blocks build on each other, so they run in order in one namespace.
    namespace: dict = {"__name__": f"doc_{page.stem}"}
    for number, block in enumerate(python_blocks(page), 1):
        exec(compile(block, f"{page.name} block {number}", "exec"), namespace)


def test_the_blocks_are_found():
    assert len(python_blocks(REPO / "README.md")) >= 4


def test_readme_is_a_front_door():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    # It opens with the two commands that work on a fresh machine.
    assert text.index("make demo") < text.index("make test") < text.index("## ")
    assert "(docs/" in text and "benchmarks/results/" in text


@pytest.mark.parametrize(
    "folder", ["README.md", "docs", "experiments/configs", "gensys"], ids=lambda f: f
)
def test_no_page_or_default_points_outside_the_repository(folder):
    root = REPO / folder
    files = [root] if root.is_file() else [*root.rglob("*.md"), *root.rglob("*.py")]
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "../shared" in line or re.search(r"\bissue \d+", line)
    ]
    assert not offenders
