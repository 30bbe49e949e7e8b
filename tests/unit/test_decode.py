"""Decoding real audio files in-process: mono at the model's rate, blocks of the asked size, and one
clear line naming ffmpeg when a format needs it and it is missing.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from audio_factory import SR, synth, write_song
from moodtui.audio.decode import SAMPLE_RATE, decode, decode_blocks
from moodtui.errors import AudioError
from moodtui.mood.features import (
    SLICE_SAMPLES,
)


@pytest.mark.parametrize("ext, kwargs", [(".wav", {}), (".flac", {}), (".ogg", {}), (".mp3", {}), (".opus", {})])
def test_native_formats_decode_to_mono_at_the_model_rate(tmp_path, ext, kwargs):
    path = write_song(tmp_path / f"song{ext}", "positive", 4.0, sr=44_100 if ext != ".opus" else 48_000, **kwargs)
    audio = decode(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Codecs pad a little (mp3/opus priming); the length must be about 4 s at 22,050 Hz.
    assert abs(audio.size / SAMPLE_RATE - 4.0) < 0.15
    assert 0.05 < np.abs(audio).max() < 1.5


def test_stereo_is_downmixed(tmp_path):
    left = synth("positive", 3.5)
    stereo = np.stack([left, -left * 0 + 0.5 * left], axis=1)
    soundfile.write(tmp_path / "stereo.wav", stereo, SR)
    audio = decode(tmp_path / "stereo.wav")
    np.testing.assert_allclose(audio, 0.75 * left, atol=1e-4)


def test_m4a_without_ffmpeg_names_ffmpeg(tmp_path, monkeypatch):
    m4a = tmp_path / "song.m4a"
    m4a.write_bytes(b"\0\0\0\x20ftypM4A " + b"\0" * 100)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(AudioError, match=r"song\.m4a: m4a files need ffmpeg to decode; install ffmpeg"):
        decode(m4a)


def test_decode_blocks_have_the_requested_size(tmp_path):
    path = write_song(tmp_path / "song.flac", "negative", 10.0)
    sizes = [b.size for b in decode_blocks(path, 2 * SLICE_SAMPLES, first_block_samples=SLICE_SAMPLES)]
    assert sizes[0] == SLICE_SAMPLES
    assert all(s == 2 * SLICE_SAMPLES for s in sizes[1:-1])
    assert sum(sizes) == 10 * SAMPLE_RATE
