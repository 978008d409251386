"""`pip install .` (not editable) into a fresh environment, then deepvis from another folder.

The wheel is built from a copy of the sources (so the checkout gets no build/ or egg-info), with a fake
per-unit cache file that must not be packaged. The fresh venv sees this environment's packages (torch,
...) through a .pth file pointing at our site-packages, so the wheel installs with --no-deps and no
network; a .pth line adds a path without running that folder's own .pth files, so this checkout's
editable install is not visible there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # builds a wheel and a venv

SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "cache", "*.egg-info")


def _run(command: list[str], cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv folder, wheel path, build log, a clean environment for running it)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("deepvis_app", "models"):
        shutil.copytree(ROOT / folder, src / folder, ignore=SKIP)
    fake_cache = src / "models" / "efficientnet_lite0" / "unit_vis" / "cache" / "_blocks.1"
    fake_cache.mkdir(parents=True)
    (fake_cache / "units.npy").write_bytes(b"large cache output")

    build = _run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-index",
                  "-w", str(base / "dist"), str(src)], cwd=base)
    wheel = next((base / "dist").glob("deepvis-*.whl"))

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=base).stdout.strip())
    (purelib / "deepvis_test_base.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "DEEPVIS_SETTINGS_LOCAL", "DEEPVIS_MODELS_DIR", "VIRTUAL_ENV")}
    env.update(XDG_STATE_HOME=str(base / "state"), XDG_CONFIG_HOME=str(base / "config"), HOME=str(base / "home"))
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", str(wheel)],
         cwd=base, env=env)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return venv, wheel, build.stdout + build.stderr, env, elsewhere


def test_build_prints_no_deprecation_boxes(installed):
    _, _, log, _, _ = installed
    assert "Deprecat" not in log and "\n  !!" not in log, log[-4000:]


def test_wheel_ships_models_and_unit_images_but_no_cache(installed):
    _, wheel, _, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "deepvis_app/models/efficientnet_lite0/settings.py" in names
    assert "deepvis_app/data/imagenet_classes.txt" in names
    assert sum(name.startswith("deepvis_app/models/efficientnet_lite0/unit_vis/") for name in names) > 100
    assert not [name for name in names if "/cache/" in name]
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "deepvis_app").rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))


def test_console_script_classifies_from_another_folder(installed):
    venv, _, _, env, elsewhere = installed
    done = _run([str(venv / "bin" / "deepvis"), "classify", "sample:chelsea", "--top", "3", "--json",
                 "--device", "cpu"], cwd=elsewhere, env=env)
    rows = json.loads(done.stdout)
    assert rows[0]["index"] in range(281, 286) and rows[0]["label"].endswith("cat")


def test_python_m_runs_the_installed_copy_with_its_shipped_files(installed):
    venv, _, _, env, elsewhere = installed
    done = _run([str(venv / "bin" / "python"), "-m", "deepvis_app", "settings", "--show-origin"], cwd=elsewhere,
                env=env)
    model_dir = next(line for line in done.stdout.splitlines() if line.startswith("model_dir = "))
    shipped = Path(model_dir.split("'")[1])
    assert shipped.is_relative_to(venv) and shipped.name == "efficientnet_lite0"
    assert len(list((shipped / "unit_vis").rglob("*.jpg"))) > 100
    assert not list(elsewhere.iterdir()), "nothing written into the working folder"
