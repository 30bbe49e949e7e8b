"""What the listener should see about the model's moods: which songs to label next (the unlabelled
songs the model is least sure about), and which songs change mood when the model changes.

A label on a song the model already gets right with confidence teaches it little; a label on a
song it hesitates about moves the decision boundary. Uncertainty is the entropy of the
song-level probabilities (normalised to 0..1), so a 1/3-1/3-1/3 song comes first.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from moodtui import CLASSES
from moodtui.mood.analysis import AnalysisCache
from moodtui.mood.model import MoodModel


def uncertainty(song_probs: np.ndarray) -> float:
    """Normalised entropy of a probability vector: 0 (certain) .. 1 (uniform)."""
    p = np.clip(np.asarray(song_probs, dtype=np.float64), 1e-12, 1.0)
    p = p / p.sum()
    return float(-(p * np.log(p)).sum() / np.log(len(p)))


def label_next(
    cache: AnalysisCache, model: MoodModel, labelled_paths: set[str], paths: list[str], limit: int = 50
) -> list[tuple[str, float, np.ndarray]]:
    """Unlabelled analysed songs among ``paths``, most uncertain first: (path, uncertainty, probs)."""
    moods = cache.song_moods(model.version, model.temperature)
    labelled = {os.fsdecode(p) for p in labelled_paths}
    ranked = []
    for path in paths:
        path = os.fsdecode(path)
        if path in labelled or path not in moods:
            continue
        probs = moods[path][0]
        ranked.append((path, uncertainty(probs), probs))
    ranked.sort(key=lambda item: -item[1])
    return ranked[:limit]


def least_certain_start(slice_probs: np.ndarray, starts_s: np.ndarray) -> float:
    """Where a song is hardest for the model: the start of its most uncertain slice (0.0 if none).

    The label-next loop plays each candidate from there, so the listener hears the part the
    label will teach the model most about."""
    if len(slice_probs) == 0:
        return 0.0
    uncertainties = [uncertainty(probs) for probs in slice_probs]
    return float(starts_s[int(np.argmax(uncertainties))])


@dataclass(frozen=True)
class MoodChange:
    """A song whose mood differs between two models."""

    path: str
    before: str
    after: str


def mood_changes(
    before: dict[str, np.ndarray], after: dict[str, np.ndarray], first: str | None = None
) -> list[MoodChange]:
    """Songs whose song-level mood (argmax) differs from ``before`` to ``after`` (path -> probs),
    ``first`` (the playing song) first, then in path order. Songs known to one side only are left out."""
    changes = []
    for path in sorted(set(before) & set(after)):
        old, new = CLASSES[int(np.argmax(before[path]))], CLASSES[int(np.argmax(after[path]))]
        if old != new:
            changes.append(MoodChange(path, old, new))
    changes.sort(key=lambda change: change.path != first)
    return changes


def changes_summary(changes: list[MoodChange]) -> str:
    """ "14 songs change mood: 9 neutral -> positive, 5 negative -> neutral" (commonest first)."""
    if not changes:
        return "no song changes mood"
    counts = Counter((c.before, c.after) for c in changes)
    parts = [f"{n} {old} -> {new}" for (old, new), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return (
        f"{len(changes)} song{'s' if len(changes) != 1 else ''} change{'s' if len(changes) == 1 else ''} mood: "
        + ", ".join(parts)
    )


@dataclass(frozen=True)
class ModelSwitch:
    """The cache rescored under a new model: every song's mood and duration, and what changed."""

    rescored: int
    """Songs whose moods were recomputed from their cached embeddings (no decoding)."""
    moods: dict[str, np.ndarray]
    durations: dict[str, float]
    changes: list[MoodChange]
    """Songs whose mood differs from the model before (``first``, the playing song, first)."""


def switch_model(
    cache: AnalysisCache, before: MoodModel | None, model: MoodModel, first: str | None = None
) -> ModelSwitch:
    """Rescore ``cache`` under ``model`` and compare each song's mood with ``before``'s."""
    old = cache.song_moods(before.version, before.temperature) if before is not None else {}
    rescored = cache.rescore(model)
    new = cache.song_moods(model.version, model.temperature)
    moods = {path: probs for path, (probs, _) in new.items()}
    changes = mood_changes({path: probs for path, (probs, _) in old.items()}, moods, first)
    return ModelSwitch(rescored, moods, {path: duration for path, (_, duration) in new.items()}, changes)
