"""``moodtui export``: an m3u playlist of the library's songs of one mood.

A song's mood is the listener's own label when there is one, else the current model's
prediction (from the analysis cache; songs not analysed yet are analysed now).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from moodtui import CLASSES
from moodtui.errors import MoodtuiError, display_path
from moodtui.fileio import atomic_write_bytes


def song_moods(directory: str | None) -> tuple[list[tuple[Path, str, str, float | None, str]], list[str]]:
    """(path, mood, source 'you' | 'model', duration, title) for every track of the library, and errors."""
    from moodtui.library.scan import LibraryIndex, resolve_library_dir, scan
    from moodtui.listener.labels import default_store
    from moodtui.mood.analysis import AnalysisCache, analyse_cached
    from moodtui.mood.versions import load_current_model

    folder, notice = resolve_library_dir(directory)
    if notice:
        print(f"moodtui: {notice}", file=sys.stderr)
    model, model_notice = load_current_model()
    if model_notice:
        print(f"moodtui: {model_notice}", file=sys.stderr)
    store = default_store()
    cache = AnalysisCache()
    if recovered := cache.cache.take_recovery_notice():
        print(f"moodtui: {recovered}", file=sys.stderr)
    cached = cache.song_moods(model.version, model.temperature)
    out, errors = [], []
    for batch in scan(folder, LibraryIndex(cache.cache)):
        for track in batch:
            if track.error:
                errors.append(f"{display_path(track.path)}: {track.error}")
                continue
            record = store.label_for(track.path)
            if record is not None:
                out.append((track.path, record.label, "you", track.duration_s, track.title))
                continue
            key = os.fsdecode(track.path)
            if key in cached:
                probs = cached[key][0]
            else:
                try:
                    probs = analyse_cached(track.path, model, cache).song_probs
                except MoodtuiError as exc:
                    errors.append(str(exc))
                    continue
            out.append((track.path, CLASSES[int(probs.argmax())], "model", track.duration_s, track.title))
    return out, errors


def write_m3u(entries: list[tuple[Path, float | None, str]], output: Path) -> None:
    """Extended m3u of absolute paths, written atomically by :mod:`moodtui.fileio` (a random,
    exclusively created temporary file: a name planted beside ``output`` is never followed).

    An m3u is bytes on Linux: each path is written as the file system's own bytes, so a name
    that is not valid UTF-8 still points at its file; ``#EXTINF`` titles are display text.
    """
    lines = [b"#EXTM3U"]
    for path, duration, title in entries:
        lines.append(f"#EXTINF:{int(round(duration)) if duration else -1},{display_path(title)}".encode())
        lines.append(os.fsencode(Path(path).resolve()))
    atomic_write_bytes(output, b"\n".join(lines) + b"\n")


def export_to_playlists(entries: list[tuple[Path, float | None, str]], name: str, home: Path | None = None) -> Path:
    """The player's export: ``entries`` written to ``<data folder>/playlists/<name>-<time>.m3u``;
    returns the file. MoodtuiError naming the file and the cause (a full disk says so)."""
    from moodtui.fileio import write_failure
    from moodtui.paths import data_home

    folder = (home or data_home()) / "playlists"
    output = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.m3u"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_m3u(entries, output)
    except OSError as error:
        raise MoodtuiError(f"playlist not written: {write_failure(output, error)}") from error
    return output
