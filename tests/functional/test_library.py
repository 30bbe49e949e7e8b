"""The library index cache (a real sqlite file) shared by real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import moodtui
from moodtui.library.scan import LibraryIndex
from moodtui.sqlite_cache import Cache


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MOODTUI_HOME", str(home))
    return home


WRITER_SCRIPT = """
import sys
from pathlib import Path
from moodtui.sqlite_cache import Cache
from moodtui.library.scan import LibraryIndex, Track
index = LibraryIndex(Cache(sys.argv[1]))
for i in range(100):  # one transaction each: the two processes interleave
    index.put([Track(Path(f"/music/{sys.argv[2]}-{i}.mp3"), "t", None, None, None, 1.0, 1, 1)])
"""


def test_cache_is_shared_by_processes(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(moodtui.__file__).resolve().parent.parent)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(cache_path), name], env=env, stderr=subprocess.PIPE)
        for name in ("a", "b")
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=60)
        assert writer.returncode == 0, stderr.decode()
    assert len(LibraryIndex(Cache(cache_path)).entries_under("/music")) == 200
