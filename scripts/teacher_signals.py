#!/usr/bin/env python3
"""Third, transparent "teacher" for the base corpus: the musical cues that psychology ties to mood.

Usage::

    python scripts/teacher_signals.py DEST [--follow]

Neither learned teacher hears harmony well: VibeNet's valence and musicnn's happy/sad tags both
follow energy (calm music reads as sad), while listeners tell calm from sad mostly by mode
(major / minor) and tempo (Gabrielsson & Lindstrom; Eerola & Vuoskoski). So for every 30-s window
of every track (the windows of scripts/teacher_labels.py) this computes, with librosa on the
moodtui feature rate (22.05 kHz mono):

- ``mode``: major-vs-minor: the best Krumhansl-Kessler major key-profile correlation of the
  window's mean chroma minus the best minor one (-1 .. 1; > 0 major);
- ``key_clarity``: the best correlation over all 24 keys (tonal music high, noise low);
- ``tempo``: beats per minute from librosa's onset-autocorrelation tempo estimate;
- ``onset_rate``: onsets per second (note density, a second arousal cue);
- ``brightness``: mean spectral centroid in Hz;
- ``loudness``: mean RMS in dBFS.

Output ``DEST/teacher_signals.csv``: ``path, start_s, end_s`` + those six columns. Resumable
(finished tracks skipped; each track appended and fsynced). ``--follow`` waits for packages still
being fetched (reads ``DEST/.state/*.csv`` until ``manifest.csv`` exists).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from corpus_rows import append_track, tracks_to_label

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.fspath(REPO))

WINDOW_S = 30.0
MIN_TAIL_S = 15.0
SR = 22050
COLUMNS = ["mode", "key_clarity", "tempo", "onset_rate", "brightness", "loudness"]
# Krumhansl & Kessler (1982) probe-tone profiles, C major / C minor.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def window_starts(n_samples: int, sr: int) -> list[int]:
    """As scripts/teacher_labels.py: consecutive 30-s windows; a tail >= 15 s adds the last 30 s."""
    window = int(WINDOW_S * sr)
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, window))
    if n_samples - (starts[-1] + window) >= MIN_TAIL_S * sr:
        starts.append(n_samples - window)
    return starts


def key_profile_scores(chroma_mean: np.ndarray) -> tuple[float, float]:
    """(mode, key_clarity) of a 12-bin mean chroma vector."""

    def best(profile: np.ndarray) -> float:
        return max(float(np.corrcoef(np.roll(profile, k), chroma_mean)[0, 1]) for k in range(12))

    if not np.isfinite(chroma_mean).all() or chroma_mean.std() < 1e-9:
        return 0.0, 0.0
    major, minor = best(MAJOR), best(MINOR)
    return major - minor, max(major, minor)


def window_signals(y: np.ndarray) -> dict[str, float]:
    import librosa

    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    chroma = librosa.feature.chroma_stft(S=stft**2, sr=SR)
    mode, clarity = key_profile_scores(chroma.mean(axis=1))
    onset_env = librosa.onset.onset_strength(S=librosa.amplitude_to_db(stft, ref=np.max), sr=SR, hop_length=512)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset_env, sr=SR, hop_length=512))[0])
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=SR, hop_length=512)
    centroid = librosa.feature.spectral_centroid(S=stft, sr=SR)
    rms = librosa.feature.rms(S=stft)
    return {
        "mode": mode,
        "key_clarity": clarity,
        "tempo": tempo,
        "onset_rate": len(onsets) / (len(y) / SR),
        "brightness": float(centroid.mean()),
        "loudness": float(20 * np.log10(max(float(rms.mean()), 1e-6))),
    }


def decode(path: Path) -> np.ndarray:
    """The whole track, mono at 22.05 kHz, through moodtui's own decoder."""
    from moodtui.audio.decode import decode_blocks

    return np.concatenate(list(decode_blocks(path, SR * 60))).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--follow", action="store_true")
    args = parser.parse_args()
    dest = args.dest.resolve()
    out = dest / "teacher_signals.csv"
    started, audio_done = time.monotonic(), 0.0
    for count, row in enumerate(tracks_to_label(dest, out, args.follow), 1):
        y = decode(dest / row["path"])
        lines: list[list[object]] = []
        for start in window_starts(len(y), SR):
            piece = y[start : start + int(WINDOW_S * SR)]
            signals = window_signals(piece)
            lines.append(
                [
                    row["path"],
                    f"{start / SR:.2f}",
                    f"{(start + len(piece)) / SR:.2f}",
                    *(f"{signals[c]:.5f}" for c in COLUMNS),
                ]
            )
        append_track(out, ["path", "start_s", "end_s", *COLUMNS], lines)
        audio_done += float(row["duration_s"])
        print(
            f"[{count}] {row['path']}: {len(lines)} windows "
            f"({audio_done / max(time.monotonic() - started, 1e-9):.0f}x real time)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
