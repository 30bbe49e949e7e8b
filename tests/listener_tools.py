"""Simulated listeners for the training tests: their labels written to a real TinyDB file."""

from __future__ import annotations

from pathlib import Path

from audio_factory import write_song


def label_songs(home: Path, songs: dict[str, str]) -> None:
    """Write each song's label (path -> mood) into the labels file of the data folder ``home``."""
    from moodtui.listener.labels import LabelStore

    store = LabelStore(home / "labels.json")
    for path, label in songs.items():
        store.add_label(path, label)


def opposite_listener(folder: Path) -> dict[str, str]:
    """Six songs labelled the opposite of the small base model on positive vs negative (the base gets 2 of 6)."""
    songs = {}
    for k in range(2):
        songs[str(write_song(folder / f"bright{k}.wav", "positive", 6.0, seed=20 + k))] = "negative"
        songs[str(write_song(folder / f"dark{k}.wav", "negative", 6.0, seed=30 + k))] = "positive"
        songs[str(write_song(folder / f"calm{k}.wav", "neutral", 6.0, seed=40 + k))] = "neutral"
    return songs
