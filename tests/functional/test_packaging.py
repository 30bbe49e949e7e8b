"""A non-editable install carries the shipped model, the demo library and the IMAC table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install --no-deps --target` of a wheel built from this checkout (dependencies come
    from the test environment; the package itself only from the wheel)."""
    root = tmp_path_factory.mktemp("install")
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    target = root / "site"
    [wheel] = wheels.glob("moodtui-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def _run(installed: Path, *args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MOODTUI_BASE_MODEL", "PYTHONPATH")}
    # PYTHONPATH comes before site-packages: the wheel's copy wins over any development install.
    env["PYTHONPATH"] = str(installed)
    env["MOODTUI_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "moodtui", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_wheel_copy_is_the_one_imported(installed, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(installed))
    out = subprocess.run(
        [sys.executable, "-c", "import moodtui; print(moodtui.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith(str(installed))


def test_installed_package_predicts_with_the_shipped_model(installed, tmp_path):
    track = installed / "moodtui" / "_shipped" / "library" / "01-sunny-pluck.ogg"
    assert track.is_file()
    result = _run(installed, "predict", "--json", str(track), cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    shipped_meta = json.loads((REPO / "models" / "moodtui-base.json").read_text())
    assert entry["model"]["version"] == shipped_meta["version"]
    assert entry["song"]["label"] in ("positive", "neutral", "negative")


def test_installed_package_finds_the_imac_table(installed, tmp_path):
    result = _run(
        installed,
        "imac-match",
        "--json",
        str(installed / "moodtui" / "_shipped" / "library"),
        cwd=tmp_path,
        home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
