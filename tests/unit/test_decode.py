"""Decoding real audio files in-process: mono at the model's rate, blocks of the asked size, and one
clear line naming ffmpeg when a format needs it and it is missing.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile
import soxr

from audio_factory import SR, synth, write_song
from moodtui.audio.decode import SAMPLE_RATE, decode, decode_blocks, downmix
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


def _stereo_song(path, seconds=6.0):
    left = synth("positive", seconds, 1, 44_100)
    right = synth("negative", seconds, 2, 44_100)
    tmp = path.with_name(f".writing{path.suffix}")  # libsndfile cannot open non-UTF-8 names
    soundfile.write(tmp, np.stack([left, right], axis=1), 44_100)
    tmp.rename(path)
    return path


def _libsndfile_decode(path):
    with open(path, "rb") as handle:
        frames, rate = soundfile.read(handle, dtype="float32", always_2d=True)
    mono = downmix(frames)
    return soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ") if rate != SAMPLE_RATE else mono


@pytest.mark.parametrize(
    "name", ["song.flac", "song.ogg", os.fsdecode(b"caf\xe9-\xff.flac"), os.fsdecode(b"caf\xe9-\xff.ogg")]
)
def test_flac_and_vorbis_are_read_by_miniaudio_as_libsndfile_reads_them(tmp_path, monkeypatch, name):
    path = _stereo_song(tmp_path / name)
    expected = _libsndfile_decode(path)
    # libsndfile opens the file (its header, its error messages) but must not decode it: dr_flac
    # and stb_vorbis do, a third and a sixth faster. A non-UTF-8 name goes through a read callback.
    monkeypatch.setattr(soundfile.SoundFile, "read", lambda *a, **k: pytest.fail("libsndfile decoded the file"))
    audio = decode(path)
    assert audio.shape == expected.shape
    # FLAC is lossless: the same samples; two Vorbis decoders agree to float rounding.
    np.testing.assert_allclose(audio, expected, rtol=0, atol=0 if path.suffix == ".flac" else 1e-6)


def test_surround_and_opus_stay_with_libsndfile(tmp_path):
    surround = tmp_path / "surround.flac"
    soundfile.write(surround, np.stack([synth("positive", 3.5, k) for k in range(6)], axis=1), SR)
    np.testing.assert_allclose(decode(surround), _libsndfile_decode(surround), atol=0)
    opus = write_song(tmp_path / "song.opus", "neutral", 3.5)
    np.testing.assert_allclose(decode(opus), _libsndfile_decode(opus), atol=0)


@pytest.mark.parametrize("ext", [".flac", ".ogg"])
def test_a_cut_off_flac_or_vorbis_file_keeps_what_decodes(tmp_path, ext):
    path = _stereo_song(tmp_path / f"song{ext}", seconds=12.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    warnings: list[str] = []
    audio = np.concatenate(list(decode_blocks(path, SLICE_SAMPLES, warnings=warnings)))
    assert 3.0 < audio.size / SAMPLE_RATE < 9.0
    if ext == ".flac":  # its header gives the length; a cut-off Ogg file's last page is its end
        assert len(warnings) == 1 and warnings[0].startswith("truncated or damaged: decoded")
