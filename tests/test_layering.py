"""Dependencies point down (DESIGN.md §8): a model never imports the trainer, readers never import
networks, inference loads checkpoints without the training package.

Checked on the source text (every ``import``/``from`` statement, function-level ones included)
and on what importing the translator really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ctbridge"

# package -> ctbridge packages/modules it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "io": ("data", "models", "training", "inference", "evaluation", "qc", "phantom", "demo",
           "cli"),
    "data": ("models", "training", "inference", "evaluation", "qc", "demo", "cli"),
    "models": ("training", "inference", "evaluation", "qc", "demo", "cli"),
    "inference": ("training", "evaluation", "qc", "demo", "cli"),
    # data set formats and the synthesis loop sit below the experiments that use them
    "datasets": ("training", "evaluation", "phantom", "demo", "cli"),
}


def imported_ctbridge_modules(path: Path) -> set[str]:
    """``ctbridge.x.y`` names imported anywhere in the file (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("ctbridge"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}: relative import {node.module!r}; use absolute")
            if node.module.startswith("ctbridge"):
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _top(name: str) -> str:
    """``ctbridge.training.losses`` -> ``training``; ``ctbridge.cli_qc`` -> ``cli``."""
    parts = name.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return "cli" if top.startswith("cli") else top


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_down(package):
    offences = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in imported_ctbridge_modules(path):
            if _top(name) in FORBIDDEN[package]:
                offences.append(f"{path.relative_to(SRC)} imports {name}")
    assert offences == []


def test_the_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ctbridge.training import losses\n")
    assert {_top(n) for n in imported_ctbridge_modules(bad)} == {"training"}


def test_loading_a_translator_does_not_import_training():
    code = ("import sys, ctbridge.inference.translator, ctbridge.models.gmm_unit, "
            "ctbridge.models.cyclegan; "
            "print(sorted(m for m in sys.modules if m.startswith('ctbridge.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
