"""The layers of gensys, bottom up, and the rule that no import climbs from a lower layer to
a higher one (docs/architecture.md):

0. ``gensys.checks``, ``gensys.distributions``, ``gensys.typed_config``
1. family math: ``gensys.diffusion``, ``gensys.vae``, ``gensys.gan``, ``gensys.flows``,
   ``gensys.autoregressive``
2. networks: ``gensys.nets``
3. data and evaluation: ``gensys.data``, ``gensys.eval``
4. recipes: ``gensys.recipes``
5. the engine: ``gensys.train``

(``experiments`` and ``benchmarks`` sit on top, outside the package.) The math packages are
usable in anyone's JAX code without the engine's dependencies, which a fresh interpreter
checks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gensys"

LAYERS = {
    "gensys.checks": 0,
    "gensys.distributions": 0,
    "gensys.typed_config": 0,
    "gensys.diffusion": 1,
    "gensys.vae": 1,
    "gensys.gan": 1,
    "gensys.flows": 1,
    "gensys.autoregressive": 1,
    "gensys.nets": 2,
    "gensys.data": 3,
    "gensys.eval": 3,
    "gensys.recipes": 4,
    "gensys.train": 5,
}
MATH = ["gensys.diffusion", "gensys.vae", "gensys.gan", "gensys.flows", "gensys.autoregressive"]
# What importing family math must not load: the engine's dependencies and the higher layers.
HEAVY = ["tensorflow_datasets", "orbax", "optax", "gensys.train", "gensys.data",
         "gensys.recipes", "gensys.nets", "gensys.eval"]  # fmt: skip


def layer_of(module: str) -> int | None:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every gensys import in ``path``, at any depth (late imports
    inside functions count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path, root).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # "from gensys.nets import unet" names a submodule: count it as that module.
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("gensys")]


def upward_imports(root: Path = PACKAGE, layers=layer_of) -> list[str]:
    """Every import statement in the package that runs from a lower layer to a higher one
    (one entry a statement, naming the first module it reaches above)."""
    bad = {}
    for path in sorted(root.rglob("*.py")):
        here = module_name(path, root)
        own = layers(here)
        for line, target in imported_modules(path, root):
            theirs = layers(target)
            where = f"{path.relative_to(root.parent)}:{line}"
            if own is not None and theirs is not None and theirs > own and where not in bad:
                bad[where] = f"{where}: {here} (layer {own}) imports {target} (layer {theirs})"
    return sorted(bad.values())


def test_every_gensys_module_has_a_layer():
    unplaced = [
        module_name(p, PACKAGE)
        for p in PACKAGE.rglob("*.py")
        if module_name(p, PACKAGE) != "gensys" and layer_of(module_name(p, PACKAGE)) is None
    ]
    assert not unplaced, f"modules outside every layer: {unplaced}"


def test_no_import_climbs_a_layer():
    assert upward_imports() == []


def test_the_checker_sees_an_upward_import(tmp_path):
    # The rule is only as good as its parser: a late import inside a function is found.
    pkg = tmp_path / "gensys"
    (pkg / "gan").mkdir(parents=True)
    (pkg / "gan" / "losses.py").write_text("def f():\n    from gensys.train import loop\n")
    assert upward_imports(pkg) == [
        "gensys/gan/losses.py:2: gensys.gan.losses (layer 1) imports gensys.train (layer 5)"
    ]


@pytest.mark.parametrize("module", [*MATH, "gensys.gan.losses", "gensys.checks"])
def test_math_loads_no_engine_dependency(module):
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"


def test_importing_the_library_starts_no_jax_backend():
    # The command line sets the number of CPU devices after loading a config (which imports
    # the recipes): a module-level JAX operation anywhere would make that fail.
    code = (
        "import jax._src.xla_bridge as xb\n"
        "import gensys.recipes, gensys.train.loop, gensys.eval.sample_quality\n"
        "print(bool(xb._backends))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
