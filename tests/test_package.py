"""Installed from a wheel, as `pip install` from the repository URL gets it, ctbridge runs.

The wheel is built from a copy of the sources (the checkout stays clean), installed without
dependencies into a fresh virtual environment that borrows this environment's packages through a
.pth file (so no download and the same pinned torch), and the tiny demo runs through that
environment's own `ctbridge` script from a folder outside the repository.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str | Path], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)
    assert out.returncode == 0, (argv, out.stdout[-2000:], out.stderr[-2000:])
    return out


def test_wheel_ships_the_configs_and_runs_the_demo_elsewhere(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    _run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation",
          "-q", "-w", tmp_path / "dist"])
    wheel = next((tmp_path / "dist").glob("ctbridge-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in ("gmm_unit", "unit", "cyclegan", "experiment_plaque", "experiment_pancreas"):
        assert f"ctbridge/configs/{config}.yaml" in names, config

    env_dir = tmp_path / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "-q", wheel])
    env_site = Path(_run([python, "-c", "import site; print(site.getsitepackages()[0])"]
                         ).stdout.strip())
    # this environment's dependencies, after the wheel's own site-packages (never its checkout)
    (env_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = _run([python, "-c", "import ctbridge; print(ctbridge.__file__)"], cwd=elsewhere,
                 env=env).stdout.strip()
    assert where.startswith(str(env_site)), where
    _run([env_dir / "bin" / "ctbridge", "demo", "--preset", "tiny", "--out", "demo"],
         cwd=elsewhere, env=env)
    assert (elsewhere / "demo" / "report.md").is_file()
    listing = _run([env_dir / "bin" / "ctbridge", "train", "--help"], cwd=elsewhere, env=env)
    assert "gmm_unit" in listing.stdout
