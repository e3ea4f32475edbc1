"""Dependencies point down, layer by layer (docs/layout.md writes the same order in words).

Every ``import``/``from`` statement of every module under ``src/ctbridge`` (function-level ones
included) may name its own package, a package of a lower layer, or one of the base modules
(errors, config loading, devices, plotting). Checked on the source text, and on what importing a
translator really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ctbridge"

# top to bottom; a package imports only from its own package and the layers below it
LAYERS: list[tuple[str, ...]] = [
    ("cli",),            # `ctbridge <command>`
    ("experiments",),    # workflows that train and score: demo, downstream, select-k
    ("datasets", "evaluation"),  # the synthesis loop; metrics, tables and reports
    ("qc",),             # trains its own network with the trainer's schedule
    ("inference", "training", "prepare", "phantom"),
    ("formats",),        # nnU-Net / Decathlon data sets on disk
    ("models",),
    ("data",),
    ("io",),
]
# single modules at the top of the package that any layer may use; they import only io
BASE = ("errors", "config", "configs", "device", "plotting", "")
# and what a lower package may not use although it sits below: metrics never train, data set
# formats never load networks
NEVER: dict[str, tuple[str, ...]] = {"evaluation": ("training",), "formats": ("models",)}
LAYER_OF = {pkg: depth for depth, layer in enumerate(LAYERS) for pkg in layer}


def imported_ctbridge_modules(path: Path) -> set[str]:
    """``ctbridge.x.y`` names imported anywhere in the file (relative imports refused)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("ctbridge"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}: relative import {node.module!r}; use absolute")
            if node.module.startswith("ctbridge"):
                names.add(node.module if node.module != "ctbridge" else
                          f"ctbridge.{node.names[0].name}")
    return names


def _top(name: str) -> str:
    """``ctbridge.training.losses`` -> ``training``; ``ctbridge`` -> ``""``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def offences(package: str) -> list[str]:
    """Imports of ``package`` that point sideways or up."""
    found = []
    files = sorted((SRC / package).rglob("*.py")) if (SRC / package).is_dir() else [
        SRC / f"{package}.py"]
    for path in files:
        for name in imported_ctbridge_modules(path):
            top = _top(name)
            if top == package:
                continue
            if package in LAYER_OF:
                ok = top in BASE or LAYER_OF.get(top, -1) > LAYER_OF[package]
            else:  # a base module: only io below it
                ok = top in ("io", "errors", "configs", "")
            if top in NEVER.get(package, ()):
                ok = False
            if not ok:
                found.append(f"{path.relative_to(SRC)} imports {name}")
    return found


def test_every_package_has_a_layer():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in SRC.glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert packages - set(LAYER_OF) - set(BASE) == set()
    assert modules - set(BASE) == set()


@pytest.mark.parametrize("package", sorted(set(LAYER_OF) | set(BASE) - {"", "configs"}))
def test_imports_point_down(package):
    assert offences(package) == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "ctbridge"
    (fake / "evaluation").mkdir(parents=True)
    (fake / "evaluation" / "bad.py").write_text(
        "def f():\n    from ctbridge.training import losses\n")
    (fake / "models").mkdir()
    (fake / "models" / "fine.py").write_text("from ctbridge.data.intensity import x\n")
    (fake / "data").mkdir()
    (fake / "data" / "up.py").write_text("import ctbridge.models.gmm_unit\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    assert offences("evaluation") == ["evaluation/bad.py imports ctbridge.training"]
    assert offences("data") == ["data/up.py imports ctbridge.models.gmm_unit"]
    assert offences("models") == []


def test_loading_a_translator_does_not_import_training():
    code = ("import sys, ctbridge.inference.translator, ctbridge.models.gmm_unit, "
            "ctbridge.models.cyclegan; "
            "print(sorted(m for m in sys.modules if m.startswith('ctbridge.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
