"""Shared fixtures: a small real model trained once per test session, and an isolated data folder."""

from __future__ import annotations

import fcntl
import multiprocessing.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from audio_factory import write_song

if TYPE_CHECKING:
    from moodtui.player.playback import Player

CLASSES = ("positive", "neutral", "negative")
SONGS_PER_CLASS = 6


def _build_small_model(root: Path) -> Path:
    """Train the real CNN for a few epochs on synthesised songs through `moodtui train`."""
    audio = root / "audio"
    rows = ["path,label,aux_energy,group"]
    for c, label in enumerate(CLASSES):
        for k in range(SONGS_PER_CLASS):
            path = write_song(audio / f"{label}{k}.wav", label, 6 + k % 3 * 3, seed=k)
            rows.append(f"{path},{label},{0.2 + 0.3 * (2 - c)},{label}{k}")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = dict(os.environ, MOODTUI_HOME=str(root / "home"))
    env.pop("MOODTUI_BASE_MODEL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "moodtui",
            "train",
            "--manifest",
            str(manifest),
            "--mode",
            "full",
            "--epochs",
            "12",
            "--batch-size",
            "16",
            "--val-fraction",
            "0.25",
            "--output",
            str(root / "small"),
            "--version",
            "test-small",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the small model failed:\n{result.stdout}\n{result.stderr}")
    (root / "train-stdout.jsonl").write_text(result.stdout, encoding="utf-8")
    return root / "small.onnx"


@pytest.fixture(scope="session")
def small_model(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Path of a small real ONNX model (with .json, .keras and -replay.npz beside it).

    Built once per test session; with pytest-xdist the workers share one build (file lock).
    """
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "small-model"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        onnx = root / "small.onnx"
        if not onnx.is_file():
            _build_small_model(root)
    return onnx


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder for this test (never the user's)."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("MOODTUI_HOME", str(folder))
    return folder


@pytest.fixture
def model_env(home: Path, small_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder whose base model is the small test model; returns the data folder."""
    monkeypatch.setenv("MOODTUI_BASE_MODEL", str(small_model))
    return home


@pytest.fixture
def player() -> Iterator[Player]:
    """The real player (miniaudio), closed after the test."""
    from moodtui.player.playback import Player

    player = Player()
    yield player
    player.close()


def run_moodtui(
    *args: str | bytes, env_home: Path | None = None, timeout: float = 300, **kwargs
) -> subprocess.CompletedProcess:
    """Run the real `moodtui` command line (same interpreter) and capture its output."""
    env = dict(os.environ)
    if env_home is not None:
        env["MOODTUI_HOME"] = str(env_home)
    return subprocess.run(
        [sys.executable, "-m", "moodtui", *args], env=env, capture_output=True, timeout=timeout, **kwargs
    )


UNIT_TESTS = Path(__file__).resolve().parent / "unit"


@pytest.fixture(autouse=True)
def unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The unit layer's guard: a test under tests/unit/ that starts a process fails, naming it.

    tests/unit/test_layers.py reads the unit tests' imports (no textual, no subprocess, no
    `run_moodtui`); this catches what no import shows: a core call that starts a process on the
    test's behalf (ffmpeg tried on a file libsndfile refuses, an analysis pool, a retrain job).
    Such a test belongs in tests/functional/. Session fixtures (the small model, built by a
    `moodtui train` process) are set up before this one, so they do not count.
    """
    if UNIT_TESTS not in request.node.path.parents:
        yield
        return
    started: list[str] = []
    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def recording_execute_child(self, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
        started.append(repr(args))
        return execute_child(self, args, *rest, **kwargs)

    def recording(name, real):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            started.append(f"{name}{args[:2]!r}")
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(subprocess.Popen, "_execute_child", recording_execute_child)
    for name in ("fork", "posix_spawn", "posix_spawnp"):
        monkeypatch.setattr(os, name, recording(f"os.{name}", getattr(os, name)))
    spawn = multiprocessing.util.spawnv_passfds
    monkeypatch.setattr(multiprocessing.util, "spawnv_passfds", recording("multiprocessing spawn", spawn))
    yield
    assert not started, f"a unit test started a process (move it to tests/functional/): {started}"
