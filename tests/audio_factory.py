"""Real audio files for the tests, synthesised so each mood class has a clearly different sound.

positive: bright, fast major arpeggios with clicks; neutral: soft mid-register sine pads;
negative: low, dark filtered noise under a minor drone. Short files keep the suite quick.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile

SR = 22_050


def synth(kind: str, seconds: float, seed: int = 0, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "positive":
        root = 523.25 * (1 + 0.03 * (seed % 5))
        notes = root * np.array([1, 5 / 4, 3 / 2, 2])
        step = (t * 8).astype(int) % 4  # 8 notes per second
        phase = 2 * np.pi * np.cumsum(notes[step]) / sr
        env = np.exp(-((t * 8) % 1) * 6)
        x = 0.35 * env * (np.sin(phase) + 0.4 * np.sin(2 * phase))
        clicks = (((t * 4) % 1) < 0.004) * rng.uniform(-0.5, 0.5, t.size)
        x = x + clicks
    elif kind == "neutral":
        f = 261.6 * (1 + 0.02 * (seed % 5))
        x = 0.12 * (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 1.5 * f * t))
        x *= 0.8 + 0.2 * np.sin(2 * np.pi * 0.25 * t)
    elif kind == "negative":
        noise = rng.standard_normal(t.size)
        kernel = np.ones(40) / 40
        x = 0.5 * np.convolve(noise, kernel, mode="same")
        f = 55.0 * (1 + 0.02 * (seed % 5))
        x += 0.3 * np.sin(2 * np.pi * f * t) + 0.15 * np.sin(2 * np.pi * f * 6 / 5 * t)
    elif kind == "silence":
        x = np.zeros_like(t)
    else:
        raise ValueError(kind)
    return x.astype(np.float32)


def write_song(path: Path, kind: str, seconds: float, seed: int = 0, sr: int = SR, **kwargs) -> Path:
    """Write a song; the format follows the extension (wav, flac, ogg, mp3, opus)."""
    data = synth(kind, seconds, seed, sr)
    ext = path.suffix.lower()
    if ext == ".opus":
        kwargs.setdefault("format", "OGG")
        kwargs.setdefault("subtype", "OPUS")
        if sr not in (8000, 12000, 16000, 24000, 48000):
            data = synth(kind, seconds, seed, 48_000)
            sr = 48_000
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a plain name and renamed: libsndfile cannot open non-UTF-8 names.
    tmp = path.with_name(f".writing{ext}")
    # In blocks: libsndfile 1.2.2 crashes on a single write of minutes of Vorbis.
    with soundfile.SoundFile(tmp, "w", samplerate=sr, channels=1, **kwargs) as out:
        for start in range(0, data.size, 65_536):
            out.write(data[start : start + 65_536])
    os.replace(tmp, path)
    return path


def write_noise(path: Path, seconds: float = 8.0, seed: int = 0) -> Path:
    """A short noise WAV (about 350 KB at 8 s: big enough for the sampled fingerprint)."""
    rng = np.random.default_rng(seed)
    soundfile.write(path, rng.uniform(-0.5, 0.5, int(22_050 * seconds)).astype(np.float32), 22_050, subtype="PCM_16")
    return path
