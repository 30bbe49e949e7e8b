"""Helpers for tests of the real player (miniaudio; its null backend when there is no sound card)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050


def write_wav(path: Path, seconds: float) -> Path:
    """A quiet 440 Hz sine of ``seconds`` at 22,050 Hz."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sf.write(path, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE)
    return path


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """True as soon as ``condition()`` holds (polled every 10 ms), False after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
