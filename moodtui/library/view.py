"""What the track table shows: every track with its mood and the listener's label, filtered and
sorted (no Textual here).

The library can hold tens of thousands of tracks, so this is plain Python kept cheap: a row is a
small mutable object updated in place when its mood or label arrives, and :meth:`LibraryView.apply`
rebuilds the visible list (filter + sort) in a few milliseconds for 10,000 rows. The widget only
renders the visible rows on screen (see ``widgets.track_list``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from moodtui import CLASSES
from moodtui.errors import display_path
from moodtui.library.scan import Track
from moodtui.player.radio import SongFacts
from moodtui.text import plural

MOOD_FILTERS = ("all", *CLASSES)
"""Mood filter choices, in key order: 0 all, 1 positive, 2 neutral, 3 negative."""


class SortColumn(Enum):
    """Columns the table sorts by; ``LIBRARY`` is the scan order (folders, then file names)."""

    LIBRARY = "library"
    TITLE = "title"
    ARTIST = "artist"
    ALBUM = "album"
    DURATION = "duration"
    MOOD = "mood"
    ENERGY = "energy"


SORT_CYCLE = tuple(SortColumn)
"""The order the sort key cycles through."""

SORT_NAMES = {
    SortColumn.LIBRARY: "folder order",
    SortColumn.TITLE: "title",
    SortColumn.ARTIST: "artist",
    SortColumn.ALBUM: "album",
    SortColumn.DURATION: "duration",
    SortColumn.MOOD: "mood",
    SortColumn.ENERGY: "energy (calm first)",
}


@dataclass(eq=False, slots=True)
class TrackRow:
    """One track and what is known of its mood; updated in place as results arrive."""

    track: Track
    path: str
    """``os.fsdecode(track.path)``: the key shared with the analysis cache and the label store."""
    search_text: str
    """Lower-cased title, artist, album and file name, for the text filter."""
    predicted: np.ndarray | None = None
    """Song-level probabilities under the current model (CLASSES order), None until analysed.

    Set it with :meth:`set_predicted`, which also keeps the label and confidence (read on every
    redraw of the row: cheaper than an argmax each time)."""
    predicted_label: str | None = None
    confidence: float | None = None
    user_label: str | None = None
    """The listener's own label, shown (and filtered on) instead of the prediction."""
    analysis_error: str | None = None
    """Why the file could not be analysed (cached by the analysis cache), or None."""
    play_error: str | None = None
    """Why the file could not be played this session, or None."""
    duration_s: float | None = field(default=None)
    energy: float | None = None
    """0 calm .. 1 energetic, when the model gives an energy figure (newer models); else None."""

    @classmethod
    def of(cls, track: Track) -> TrackRow:
        path = os.fsdecode(track.path)
        words = (track.title, track.artist or "", track.album or "", display_path(track.path.name))
        return cls(track, path, " ".join(words).lower(), duration_s=track.duration_s)

    @property
    def error(self) -> str | None:
        """Why this file cannot be used: unreadable tags first, then a failed analysis or play."""
        return self.track.error or self.analysis_error or self.play_error

    def set_predicted(self, probs: np.ndarray | None) -> None:
        self.predicted = probs
        if probs is None:
            self.predicted_label = self.confidence = None
        else:
            best = int(np.argmax(probs))
            self.predicted_label, self.confidence = CLASSES[best], float(probs[best])

    @property
    def mood(self) -> str | None:
        """The mood the table shows and filters on: the listener's label, else the prediction."""
        if self.user_label is not None:
            return self.user_label
        if self.error is not None:
            return None
        return self.predicted_label


def _mood_sort_key(row: TrackRow) -> tuple[int, float]:
    mood = row.mood
    if mood is not None:
        # Own labels first within a class, then by the model's confidence, most confident first.
        return CLASSES.index(mood), -2.0 if row.user_label else -(row.confidence or 0.0)
    return (len(CLASSES) + 1, 0.0) if row.error else (len(CLASSES), 0.0)


_SORT_KEYS = {
    SortColumn.TITLE: lambda row: (row.track.title.casefold(), row.path),
    SortColumn.ARTIST: lambda row: (
        (row.track.artist or "\uffff").casefold(),
        (row.track.album or "").casefold(),
        row.track.track_number or 0,
        row.path,
    ),
    SortColumn.ALBUM: lambda row: ((row.track.album or "\uffff").casefold(), row.track.track_number or 0, row.path),
    SortColumn.DURATION: lambda row: (row.duration_s if row.duration_s is not None else float("inf"), row.path),
    SortColumn.MOOD: _mood_sort_key,
    # Models with an energy output: calm to energetic; songs without a figure last.
    SortColumn.ENERGY: lambda row: (row.energy is None, row.energy or 0.0, row.path),
}


class LibraryView:
    """All rows, plus the current filter and sort, and the visible rows they give."""

    def __init__(self) -> None:
        self.rows: list[TrackRow] = []
        """Every track in scan order."""
        self.by_path: dict[str, TrackRow] = {}
        self.visible: list[TrackRow] = []
        self.text_filter = ""
        self.mood_filter = "all"
        self.sort_column = SortColumn.LIBRARY
        self.sort_reverse = False
        self.known_moods: dict[str, np.ndarray] = {}
        """Song probabilities by path under the current model, also for paths not scanned yet."""
        self.known_durations: dict[str, float] = {}
        self.labels: dict[str, str] = {}
        """The listener's stored labels by path (a row shows its own, or one being written)."""

    def set_labels(self, labels: dict[str, str]) -> None:
        """Every stored label (from the labels database): each row shows its own."""
        self.labels = dict(labels)
        for row in self.rows:
            row.user_label = self.labels.get(row.path)

    def label_stored(self, path: str, label: str | None) -> TrackRow | None:
        """The labels database now holds ``label`` (None: no label) for ``path``; returns its row."""
        if label is None:
            self.labels.pop(path, None)
        else:
            self.labels[path] = label
        row = self.by_path.get(path)
        if row is not None:
            row.user_label = label
        return row

    def label_kept(self, path: str) -> TrackRow | None:
        """A label for ``path`` was not written: its row shows the stored label again."""
        row = self.by_path.get(path)
        if row is not None:
            row.user_label = self.labels.get(path)
        return row

    @property
    def labelled_paths(self) -> set[str]:
        """Paths of the songs the listener has labelled (those being written included)."""
        return set(self.labels) | {row.path for row in self.rows if row.user_label is not None}

    def paths_to_analyse(self) -> list[str]:
        """Tracks without a mood that can be analysed, the visible ones first (in their order)."""
        shown = set(self.visible)
        order = self.visible + [row for row in self.rows if row not in shown]
        return [row.path for row in order if row.error is None and row.predicted is None]

    def song_facts(self) -> Iterator[SongFacts]:
        """What mood radio needs of every row (read afresh each time: songs analysed meanwhile count)."""
        for row in self.rows:
            yield SongFacts(row.path, row.user_label, row.predicted, row.energy, row.error is None)

    def add_scanned(self, tracks: Iterable[Track]) -> list[TrackRow]:
        """:meth:`add_tracks`, the new rows showing the listener's labels and the moods known."""
        added = self.add_tracks(tracks)
        for row in added:
            row.user_label = self.labels.get(row.path)
            row.set_predicted(self.known_moods.get(row.path))
            if row.duration_s is None:
                row.duration_s = self.known_durations.get(row.path)
        return added

    def apply_results(
        self,
        moods: dict[str, np.ndarray],
        *,
        durations: dict[str, float],
        errors: dict[str, str],
        energies: dict[str, float],
        complete: bool,
    ) -> None:
        """Analysis results for some paths (``complete``: every analysed song, the rest await analysis)."""
        by_path = self.by_path
        if complete:
            self.known_moods, self.known_durations = dict(moods), dict(durations)
            for row in self.rows:
                row.set_predicted(moods.get(row.path))
        else:
            self.known_moods.update(moods)
            self.known_durations.update(durations)
            for path, probs in moods.items():
                if (known := by_path.get(path)) is not None:
                    known.set_predicted(probs)
                    known.analysis_error = None
        for path, duration in durations.items():
            if (known := by_path.get(path)) is not None and known.duration_s is None:
                known.duration_s = duration
        for path, reason in errors.items():
            if (known := by_path.get(path)) is not None:
                known.analysis_error = reason
        for path, energy in energies.items():
            if (known := by_path.get(path)) is not None:
                known.energy = energy

    def summary(self, scan_done: bool, folder: str) -> str:
        """The library bar: tracks, what the filters show, the sort and the folder."""
        parts = [plural(len(self.rows), "track") + ("" if scan_done else " (scanning…)")]
        if self.text_filter or self.mood_filter != "all":
            if self.rows and not self.visible:
                parts.insert(0, "no track matches the filter (Esc clears it)")
            else:
                parts.append(f"{len(self.visible):,} shown")
        if self.text_filter:
            parts.append(f"filter “{self.text_filter}”")
        if self.mood_filter != "all":
            parts.append(f"mood: {self.mood_filter}")
        arrow = " ▼" if self.sort_reverse else ""
        parts.append(f"sorted by {SORT_NAMES[self.sort_column]}{arrow}")
        parts.append(folder)
        return " · ".join(parts)

    def add_tracks(self, tracks: Iterable[Track]) -> list[TrackRow]:
        """Add newly scanned tracks (a track seen again replaces its row's tags); returns new rows."""
        added = []
        for track in tracks:
            path = os.fsdecode(track.path)
            existing = self.by_path.get(path)
            if existing is not None:
                fresh = TrackRow.of(track)
                existing.track, existing.search_text = fresh.track, fresh.search_text
                existing.duration_s = existing.duration_s or fresh.duration_s
                continue
            row = TrackRow.of(track)
            self.rows.append(row)
            self.by_path[path] = row
            added.append(row)
        return added

    def remove_paths(self, gone: Iterable[str]) -> list[TrackRow]:
        """Drop the rows of files that are gone; a gone folder drops every row below it."""
        gone = set(gone)
        if not gone:
            return []
        folders = tuple(os.path.join(path, "") for path in gone)
        removed = [row for row in self.rows if row.path in gone or row.path.startswith(folders)]
        if removed:
            dropped = set(map(id, removed))
            self.rows = [row for row in self.rows if id(row) not in dropped]
            self.visible = [row for row in self.visible if id(row) not in dropped]
            for row in removed:
                self.by_path.pop(row.path, None)
        return removed

    def apply(self) -> list[TrackRow]:
        """Recompute the visible rows from the filters and the sort; returns them."""
        words = self.text_filter.lower().split()
        mood = None if self.mood_filter == "all" else self.mood_filter
        rows: Iterable[TrackRow] = self.rows
        if mood is not None:
            rows = (row for row in rows if row.mood == mood)
        if words:
            rows = (row for row in rows if all(word in row.search_text for word in words))
        visible = list(rows)
        if self.sort_column is not SortColumn.LIBRARY:
            visible.sort(key=_SORT_KEYS[self.sort_column], reverse=self.sort_reverse)
        elif self.sort_reverse:
            visible.reverse()
        self.visible = visible
        return visible

    @property
    def depends_on_moods(self) -> bool:
        """Whether a mood change can change the visible list (so it must be re-applied)."""
        return self.mood_filter != "all" or self.sort_column is SortColumn.MOOD

    def cycle_sort(self) -> SortColumn:
        """Sort by the next column of :data:`SORT_CYCLE` (ascending)."""
        index = SORT_CYCLE.index(self.sort_column)
        self.sort_column = SORT_CYCLE[(index + 1) % len(SORT_CYCLE)]
        self.sort_reverse = False
        return self.sort_column

    def sort_by(self, column: SortColumn) -> None:
        """Sort by ``column``; asked again for the same column, reverse the direction."""
        if column is self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False

    def error_rows(self) -> list[TrackRow]:
        return [row for row in self.rows if row.error is not None]
