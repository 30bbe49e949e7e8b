"""The unit layer's guard: a unit test that starts a process fails, naming the command.

tests/unit/test_layers.py reads the unit tests' imports (no textual, no subprocess, no
`run_moodtui`); this guard catches what no import shows: a core call that starts a process on
the test's behalf (ffmpeg tried on a file libsndfile refuses, an analysis pool, a retrain job).
Such a test belongs in tests/functional/. The session's small model is built (a `moodtui train`
process) before any test's own fixtures run, so it is not counted.
"""

from __future__ import annotations

import multiprocessing.util
import os
import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    started: list[str] = []
    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def recording_execute_child(self: subprocess.Popen, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
        started.append(repr(args))
        return execute_child(self, args, *rest, **kwargs)

    def recording(name: str, real):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            started.append(f"{name}{args[:2]!r}")
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(subprocess.Popen, "_execute_child", recording_execute_child)
    monkeypatch.setattr(os, "fork", recording("os.fork", os.fork))
    monkeypatch.setattr(os, "posix_spawn", recording("os.posix_spawn", os.posix_spawn))
    monkeypatch.setattr(os, "posix_spawnp", recording("os.posix_spawnp", os.posix_spawnp))
    spawn = multiprocessing.util.spawnv_passfds
    monkeypatch.setattr(multiprocessing.util, "spawnv_passfds", recording("multiprocessing spawn", spawn))
    yield
    assert not started, f"a unit test started a process (move it to tests/functional/): {started}"
