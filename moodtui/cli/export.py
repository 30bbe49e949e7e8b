"""`moodtui export`: an m3u playlist of one mood."""

from __future__ import annotations

import sys
from pathlib import Path

from moodtui.errors import MoodtuiError, display_path
from moodtui.fileio import write_failure
from moodtui.library.playlist import song_moods, write_m3u
from moodtui.text import plural


def run_export(mood: str, output: Path, directory: str | None) -> int:
    songs, errors = song_moods(directory)
    for error in errors:
        print(f"moodtui: {error}", file=sys.stderr)
    # The title tag (the file name only when there is none), as the player shows it.
    chosen = [(path, duration, title) for path, label, _source, duration, title in songs if label == mood]
    try:
        write_m3u(chosen, output)
    except OSError as exc:
        raise MoodtuiError(write_failure(output, exc)) from None
    mine = sum(1 for _p, label, source, _d, _t in songs if label == mood and source == "you")
    print(
        f"wrote {plural(len(chosen), f'{mood} song')} to {display_path(output)} ({mine} by your labels, "
        f"{len(chosen) - mine} by the model)"
    )
    if errors:
        print(f"moodtui: {plural(len(errors), 'file')} could not be read (not in the playlist)", file=sys.stderr)
        return 1
    return 0
