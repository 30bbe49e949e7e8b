"""Analysing a track: decode in blocks -> slice features -> batched ONNX inference -> song mood.

The song-level result is the mean of the slice probabilities; the study's vote fractions (the
share of slices whose most likely class is each class) are reported beside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodtui import CLASSES
from moodtui.audio import SAMPLE_RATE, decode_blocks
from moodtui.errors import AudioError
from moodtui.features import SLICE_SAMPLES, SLICE_SECONDS, track_slices
from moodtui.model import MoodModel

# Blocks of 20 slices (60 s): one spectrogram and one inference batch per block keeps numpy and
# onnxruntime efficient while memory stays bounded (about 20 MB) whatever the track's length.
BLOCK_SLICES = 20


@dataclass(frozen=True)
class SongMood:
    """Per-slice and song-level mood of one track under one model."""

    path: str
    duration_s: float
    starts_s: np.ndarray  # (n,)
    slice_probs: np.ndarray  # (n, 3) CLASSES order
    embeddings: np.ndarray  # (n, E): the model's penultimate layer, reused by retraining
    model_version: str

    @property
    def ends_s(self) -> np.ndarray:
        return np.minimum(self.starts_s + SLICE_SECONDS, self.duration_s)

    @property
    def song_probs(self) -> np.ndarray:
        return self.slice_probs.mean(axis=0) if len(self.slice_probs) else np.full(len(CLASSES), np.nan)

    @property
    def votes(self) -> np.ndarray:
        """Share of slices whose argmax is each class."""
        if not len(self.slice_probs):
            return np.zeros(len(CLASSES))
        return np.bincount(self.slice_probs.argmax(axis=1), minlength=len(CLASSES)) / len(self.slice_probs)

    @property
    def label(self) -> str:
        return CLASSES[int(np.argmax(self.song_probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.song_probs))

    def slice_at(self, position_s: float) -> int:
        """Index of the slice playing at ``position_s`` (the last slice for the tail)."""
        if not len(self.starts_s):
            return -1
        return int(np.clip(np.searchsorted(self.starts_s, position_s, side="right") - 1, 0, len(self.starts_s) - 1))

    def to_json(self) -> dict[str, object]:
        song = {c: round(float(p), 4) for c, p in zip(CLASSES, self.song_probs)}
        song["label"] = self.label
        song["votes"] = {c: round(float(v), 4) for c, v in zip(CLASSES, self.votes)}
        return {
            "path": self.path,
            "duration_s": round(self.duration_s, 3),
            "slices": [
                {"start_s": round(float(s), 3), "end_s": round(float(e), 3),
                 **{c: round(float(p), 4) for c, p in zip(CLASSES, probs)}}
                for s, e, probs in zip(self.starts_s, self.ends_s, self.slice_probs)
            ],
            "song": song,
            "model": {"version": self.model_version},
        }


class _CountingBlocks:
    """Passes decoded blocks through while counting samples (the track's true duration)."""

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._blocks = blocks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            self.samples += block.size
            yield block


def analyse_file(path: str | os.PathLike[str], model: MoodModel, *,
                 on_slices: Callable[[np.ndarray, np.ndarray], None] | None = None,
                 first_block_slices: int = BLOCK_SLICES,
                 cancelled: Callable[[], bool] | None = None) -> SongMood:
    """Analyse every slice of a track.

    ``on_slices(starts_s, probs)`` is called after each block so a player can show the first
    slices before the rest is done; ``first_block_slices=1`` makes the first call come after one
    slice. ``cancelled()`` is polled between blocks (raises AudioError "analysis cancelled").
    """
    path = Path(path)
    counted = _CountingBlocks(decode_blocks(path, BLOCK_SLICES * SLICE_SAMPLES, first_block_slices * SLICE_SAMPLES))
    starts, probs, embeddings = [], [], []
    for batch in track_slices(iter(counted)):
        if cancelled is not None and cancelled():
            raise AudioError(path, "analysis cancelled")
        predicted = model.predict(batch.features)
        starts.append(batch.starts_s)
        probs.append(predicted.probs)
        embeddings.append(predicted.embeddings)
        if on_slices is not None:
            on_slices(batch.starts_s, predicted.probs)
    duration = counted.samples / SAMPLE_RATE
    if not starts:
        if counted.samples == 0:
            raise AudioError(path, "no audio data in file")
        raise AudioError(path, f"too short ({duration:.1f} s; at least {SLICE_SECONDS} s needed)")
    return SongMood(os.fsdecode(path), duration, np.concatenate(starts), np.concatenate(probs),
                    np.concatenate(embeddings), model.version)
