#!/usr/bin/env python3
"""Benchmark: analysing a 4-minute mp3 (every slice) against decoding it alone, in one warm process.

Target (issue 2): analysis <= 2x decode. Prints both times (best of N after a warm-up run) and
the ratio, plus the split between features and inference.

    python scripts/bench_predict.py [--model PATH] [--file song.mp3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from moodtui.analysis import BLOCK_SLICES, analyse_file
from moodtui.audio import decode_blocks
from moodtui.features import SLICE_SAMPLES, track_slices
from moodtui.model import MoodModel
from moodtui.paths import shipped_model_path


def make_song(path: Path, seconds: float = 240.0, sr: int = 44_100) -> None:
    """A 4-minute stereo mp3 with chords, a beat and noise (so the encoder works as on music)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    beat = np.exp(-((t * 2) % 1) * 20) * rng.standard_normal(t.size) * 0.3
    left = 0.3 * chord + beat
    right = 0.3 * np.roll(chord, 100) + beat
    with soundfile.SoundFile(path, "w", samplerate=sr, channels=2, format="MP3") as out:
        stereo = np.stack([left, right], axis=1).astype(np.float32)
        for start in range(0, len(stereo), 65_536):  # libsndfile crashes on huge single writes
            out.write(stereo[start:start + 65_536])


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=shipped_model_path())
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model = MoodModel.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        song = args.file or Path(tmp) / "four-minutes.mp3"
        if args.file is None:
            make_song(song)

        def decode_only() -> None:
            for _ in decode_blocks(song, BLOCK_SLICES * SLICE_SAMPLES):
                pass

        def features_only() -> None:
            for _ in track_slices(decode_blocks(song, BLOCK_SLICES * SLICE_SAMPLES)):
                pass

        def analyse() -> None:
            analyse_file(song, model)

        analyse()  # warm-up: imports, onnxruntime's first run, page cache
        decode_s = best_of(args.repeat, decode_only)
        features_s = best_of(args.repeat, features_only)
        analyse_s = best_of(args.repeat, analyse)
        slices = len(analyse_file(song, model).starts_s)
    print(f"file: {args.file or '4-minute synthesised stereo mp3, 44.1 kHz'}; model: {model.version}; "
          f"{slices} slices; best of {args.repeat}")
    print(f"decode alone          {decode_s * 1000:8.1f} ms")
    print(f"decode + features     {features_s * 1000:8.1f} ms")
    print(f"full analysis         {analyse_s * 1000:8.1f} ms  (inference ~{(analyse_s - features_s) * 1000:.0f} ms)")
    ratio = analyse_s / decode_s
    print(f"ratio analysis/decode {ratio:8.2f}x  (target <= 2.00x: {'met' if ratio <= 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
