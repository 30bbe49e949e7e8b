#!/usr/bin/env python3
"""Full-length real audio files for the speed benchmarks, synthesised here (nothing downloaded).

Each track is 3.5-4.5 minutes of stereo music-like sound: a chord progression (additive tones
with a decaying envelope), a bass line, a drum pattern of noise bursts and kicks, and a little
hiss, with key, tempo, brightness and loudness drawn from the track's seed. The files are encoded
by libsndfile in the formats moodtui decodes natively (mp3, ogg/vorbis, flac at 44.1 kHz, opus at
48 kHz), so decoding them costs what decoding real music costs.

Tracks are written once into a folder and reused by later runs (the file name carries the seed,
length and format).

    python scripts/bench_tracks.py OUT_DIR [--count 20] [--formats mp3 ogg flac opus]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import soundfile

FORMATS = {  # extension -> (libsndfile format, subtype, sample rate)
    "mp3": ("MP3", "MPEG_LAYER_III", 44_100),
    "ogg": ("OGG", "VORBIS", 44_100),
    "flac": ("FLAC", "PCM_16", 44_100),
    "opus": ("OGG", "OPUS", 48_000),
}


def render(seed: int, seconds: float, sr: int) -> np.ndarray:
    """(frames, 2) float32 stereo music-like signal."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n, dtype=np.float64) / sr
    bpm = rng.uniform(70, 150)
    beat = 60.0 / bpm
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    minor = bool(rng.integers(0, 2))
    third = 6 / 5 if minor else 5 / 4
    progression = rng.choice([1.0, 4 / 3, 3 / 2, 9 / 8, 5 / 3], size=8)
    bar = (t / (4 * beat)).astype(int) % len(progression)
    chord_root = root * progression[bar]
    phase_in_beat = (t % beat) / beat
    env = np.exp(-phase_in_beat * rng.uniform(2, 6))
    brightness = rng.uniform(0.2, 0.8)
    left = np.zeros(n)
    for ratio, gain in ((1.0, 1.0), (third, 0.8), (1.5, 0.7), (2.0, 0.5)):
        phase = 2 * np.pi * np.cumsum(chord_root * ratio) / sr
        tone = np.sin(phase) + brightness * np.sin(2 * phase) + brightness**2 * np.sin(3 * phase)
        left += gain * tone
    chords = 0.12 * env * left
    bass = 0.25 * np.sin(2 * np.pi * np.cumsum(chord_root / 2) / sr) * np.exp(-phase_in_beat * 3)
    kick = np.sin(2 * np.pi * 55 * t * (1 + np.exp(-phase_in_beat * 30))) * np.exp(-phase_in_beat * 18)
    half = (t % (beat / 2)) / (beat / 2)
    hats = rng.standard_normal(n) * np.exp(-half * 40) * 0.08 * brightness
    snare_on = (t / beat).astype(int) % 2 == 1
    snare = rng.standard_normal(n) * np.exp(-phase_in_beat * 12) * 0.2 * snare_on
    hiss = rng.standard_normal(n) * 0.004
    mono = chords + bass + 0.5 * kick + snare + hiss
    loudness = 10 ** (rng.uniform(-12, -3) / 20)
    fade = np.minimum(1.0, np.minimum(t / 2.0, (seconds - t) / 3.0))
    left = (mono + hats) * loudness * fade
    right = (mono + np.roll(hats, 37) + 0.05 * chords) * loudness * fade
    stereo = np.stack([left, right], axis=1)
    peak = np.abs(stereo).max()
    if peak > 0.98:
        stereo *= 0.98 / peak
    return stereo.astype(np.float32)


def make_tracks(
    out_dir: Path,
    count: int,
    formats: list[str] | None = None,
    *,
    first_seed: int = 0,
    seconds: tuple[float, float] = (210.0, 270.0),
) -> list[Path]:
    """``count`` tracks cycling through ``formats`` (default mp3, ogg, flac, opus); existing ones are kept."""
    formats = formats or list(FORMATS)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        seed = first_seed + i
        ext = formats[i % len(formats)]
        length = float(np.random.default_rng(10_000 + seed).uniform(*seconds))
        path = out_dir / f"track{seed:03d}-{int(length)}s.{ext}"
        if not path.is_file():
            fmt, subtype, sr = FORMATS[ext]
            data = render(seed, length, sr)
            tmp = path.with_name(f".writing-{os.getpid()}.{ext}")
            with soundfile.SoundFile(tmp, "w", samplerate=sr, channels=2, format=fmt, subtype=subtype) as out:
                for start in range(0, len(data), 65_536):  # libsndfile crashes on huge single writes
                    out.write(data[start : start + 65_536])
            os.replace(tmp, path)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS))
    args = parser.parse_args()
    for path in make_tracks(args.out_dir, args.count, args.formats):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
