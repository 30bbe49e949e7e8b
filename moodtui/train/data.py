"""Training data for the job: labelled songs, their slice features or embeddings, song-level splits.

This module imports no TensorFlow: it prepares numpy arrays with the core's feature function
(the same one inference uses) and a compact on-disk feature cache, so a repeated base training
does not decode the corpus again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from moodtui import CLASSES
from moodtui.audio.decode import SAMPLE_RATE, decode_blocks
from moodtui.errors import AudioError, MoodtuiError, display_path
from moodtui.mood.features import FEATURE_PARAMS, SLICE_SAMPLES, SLICE_SECONDS, track_slices


@dataclass
class Song:
    """One labelled song. ``group`` keeps related files (e.g. one recording) on one side of a split."""

    path: Path
    label: int  # index into CLASSES
    aux: dict[str, float] = field(default_factory=dict)
    group: str = ""
    source: str = "manifest"
    start_s: float | None = None  # a segment of the file (e.g. a teacher's 30-s window)
    end_s: float | None = None

    def __post_init__(self) -> None:
        if not self.group:
            self.group = os.fsdecode(self.path)


def read_manifest(manifest: Path) -> list[Song]:
    """CSV with a header: ``path,label`` plus optional numeric auxiliary columns, ``group``, and
    ``start_s``/``end_s`` (a row about one segment of the file, e.g. a teacher's 30-s window).

    Relative paths are taken from the manifest's folder. Labels are class names. Rows sharing a
    group stay on one side of the validation split.
    """
    try:
        handle = manifest.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise MoodtuiError(f"{display_path(manifest)}: cannot read manifest ({exc.strerror or exc})") from None
    songs: list[Song] = []
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "path" not in reader.fieldnames or "label" not in reader.fieldnames:
            raise MoodtuiError(f"{display_path(manifest)}: manifest needs a header with 'path' and 'label' columns")
        aux_columns = [c for c in reader.fieldnames if c.startswith("aux_")]
        for line_no, row in enumerate(reader, start=2):
            label = (row.get("label") or "").strip()
            if label not in CLASSES:
                raise MoodtuiError(
                    f"{display_path(manifest)}:{line_no}: label {label!r} is not one of {', '.join(CLASSES)}"
                )
            path = Path(row["path"])
            if not path.is_absolute():
                path = manifest.parent / path
            aux = {}
            for column in aux_columns:
                value = (row.get(column) or "").strip()
                if value:
                    aux[column[4:]] = float(value)
            start = float(row["start_s"]) if row.get("start_s") else None
            end = float(row["end_s"]) if row.get("end_s") else None
            songs.append(
                Song(path, CLASSES.index(label), aux, (row.get("group") or "").strip(), "manifest", start, end)
            )
    return songs


def split_by_song(songs: list[Song], val_fraction: float, seed: int) -> tuple[list[Song], list[Song]]:
    """Hold out whole songs (whole groups), stratified by label: no song has slices on both sides."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Song]] = {}
    for song in songs:
        groups.setdefault(song.group, []).append(song)
    by_label: dict[int, list[str]] = {}
    for name, members in groups.items():
        by_label.setdefault(members[0].label, []).append(name)
    val_groups: set[str] = set()
    for names in by_label.values():
        names = sorted(names)
        rng.shuffle(names)
        n_val = int(round(len(names) * val_fraction))
        if val_fraction > 0 and len(names) >= 2:
            n_val = max(1, n_val)
        val_groups.update(names[:n_val])
    train = [s for s in songs if s.group not in val_groups]
    val = [s for s in songs if s.group in val_groups]
    return train, val


def song_folds(songs: list[Song], n_folds: int, seed: int) -> list[list[int]]:
    """Indices of songs per fold, stratified by label, whole groups per fold."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    groups: dict[str, list[int]] = {}
    for i, song in enumerate(songs):
        groups.setdefault(song.group, []).append(i)
    by_label: dict[int, list[str]] = {}
    for name, members in groups.items():
        by_label.setdefault(songs[members[0]].label, []).append(name)
    k = 0
    for label in sorted(by_label):
        names = sorted(by_label[label])
        rng.shuffle(names)
        for name in names:
            folds[k % n_folds].extend(groups[name])
            k += 1
    return [f for f in folds if f]


def _feature_cache_key(path: Path) -> str:
    st = path.stat()
    params = json.dumps(FEATURE_PARAMS, sort_keys=True)
    ident = f"{os.fsdecode(path.resolve())}\0{st.st_size}\0{st.st_mtime_ns}\0{params}"
    return hashlib.blake2b(ident.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def song_features(path: Path, cache_dir: Path | None, max_slices: int | None) -> np.ndarray:
    """All slice features of a song as float16 (n, 128, 146, 1), cached compactly on disk.

    With ``max_slices``, that many slices evenly spread over the song (the cache keeps them all).
    """
    features: np.ndarray | None = None
    cache_file = None
    if cache_dir is not None:
        try:
            cache_file = cache_dir / f"{_feature_cache_key(path)}.npy"
        except OSError as exc:
            raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
        if cache_file.is_file():
            try:
                features = np.load(cache_file)
            except (OSError, ValueError):
                features = None  # a damaged cache entry is recomputed
    if features is None:
        batches = [b.features for b in track_slices(decode_blocks(path, 20 * SLICE_SAMPLES))]
        if not batches:
            raise AudioError(path, f"too short (at least {SLICE_SAMPLES // SAMPLE_RATE} s needed)")
        features = np.concatenate(batches).astype(np.float16)
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, features)
            os.replace(tmp, cache_file)
    if max_slices and len(features) > max_slices:
        keep = np.linspace(0, len(features) - 1, max_slices).round().astype(int)
        features = features[keep]
    return features


def song_slices(
    path: Path, cache_dir: Path | None, max_slices: int | None, start_s: float | None = None, end_s: float | None = None
) -> np.ndarray:
    """The training slices of one song row: the whole slices inside a segment (``start_s`` ..
    ``end_s``, e.g. a teacher's 30-s window), else up to ``max_slices`` spread over the song."""
    if start_s is None:
        return song_features(path, cache_dir, max_slices)
    every = song_features(path, cache_dir, None)
    first = int(np.ceil(start_s / SLICE_SECONDS))
    last = int(end_s // SLICE_SECONDS) if end_s is not None else len(every)
    chosen = every[first : min(last, len(every))]
    if not len(chosen):
        raise MoodtuiError("empty segment")
    return chosen


def song_slices_work(
    row: tuple[str, float | None, float | None], cache_dir: str | None = None, max_slices: int | None = None
) -> np.ndarray:
    """Work function of the analysis pool (``moodtui.mood.pool``): :func:`song_slices` of one
    ``(path, start_s, end_s)`` row, in a worker process."""
    path, start_s, end_s = row
    return song_slices(Path(path), Path(cache_dir) if cache_dir else None, max_slices, start_s, end_s)
