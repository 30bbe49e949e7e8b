"""mp3 files for the tests of the two mp3 decoders (libmpg123 when installed, miniaudio's dr_mp3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from audio_factory import synth
from moodtui.audio import mpg123

needs_libmpg123 = pytest.mark.skipif(mpg123._library() is None, reason="libmpg123 is not installed")


def stereo_mp3(path: Path, seconds: float, rate: int = 44_100) -> Path:
    """A stereo mp3 whose right channel is half the left: mono is 0.75 x the left."""
    left = synth("positive", seconds, sr=rate) + synth("negative", seconds, seed=3, sr=rate)
    soundfile.write(path, np.stack([0.6 * left, 0.3 * left], axis=1), rate, format="MP3")
    return path
