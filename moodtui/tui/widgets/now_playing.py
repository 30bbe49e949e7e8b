"""The now-playing panel: the current 3-s slice's mood, the song's mood, and a mood timeline.

The app feeds it the playing track's slices as the analysis produces them and the playback
position about four times a second; it redraws only when something visible changed (a new
second, a new slice, the playhead moving to another cell), so polling costs next to nothing.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from moodtui import CLASSES
from moodtui.library.view import TrackRow
from moodtui.mood.analysis import SongMood, energy_word
from moodtui.mood.features import SLICE_SECONDS
from moodtui.mood.palette import ERROR_GLYPH, MOOD_COLOURS, MOOD_TIMELINE_CELLS, YOUR_LABEL_GLYPH
from moodtui.tui.palette import DIM_STYLE, ERROR_STYLE, MOOD_STYLES, fit, format_time

LABEL_WIDTH = 9
MAX_BAR_WIDTH = 40
PLAYHEAD = "┃"


class NowPlaying(Widget):
    """What is playing and how it feels, slice by slice."""

    DEFAULT_CSS = """
    NowPlaying { height: 9; border: round $primary-darken-1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row: TrackRow | None = None
        self.duration_s: float | None = None
        self.position_s = 0.0
        self.paused = False
        self.starts_s = np.zeros(0, np.float32)
        self.probs = np.zeros((0, len(CLASSES)), np.float32)
        self.song: SongMood | None = None
        self.analysis_error: str | None = None
        self.model_notice: str | None = None
        """Shown instead of moods when there is no model (plain player)."""
        self._shown: tuple | None = None

    # -- state from the app -----------------------------------------------------------------------

    def start(self, row: TrackRow, duration_s: float | None) -> None:
        """A new track: forget the previous one's slices."""
        self.row, self.duration_s, self.position_s, self.paused = row, duration_s, 0.0, False
        self.reset_analysis()

    def stop(self) -> None:
        self.row, self.duration_s = None, None
        self.reset_analysis()

    def reset_analysis(self) -> None:
        """Forget the slices shown (the track is analysed again, e.g. under a new model)."""
        self.starts_s = np.zeros(0, np.float32)
        self.probs = np.zeros((0, len(CLASSES)), np.float32)
        self.song, self.analysis_error = None, None
        self._redraw()

    def add_slices(self, starts_s: np.ndarray, probs: np.ndarray) -> None:
        self.starts_s = np.concatenate([self.starts_s, np.asarray(starts_s, np.float32)])
        self.probs = np.concatenate([self.probs, np.asarray(probs, np.float32)])
        self._redraw()

    def set_song(self, mood: SongMood | None, error: str | None = None) -> None:
        """The complete analysis (replaces the slices received so far), or why it failed."""
        self.song, self.analysis_error = mood, error
        if mood is not None:
            self.starts_s, self.probs = mood.starts_s, mood.slice_probs
            if self.duration_s is None:
                self.duration_s = mood.duration_s
        self._redraw()

    def set_position(self, position_s: float, duration_s: float | None, paused: bool) -> None:
        self.position_s, self.paused = position_s, paused
        if duration_s:
            self.duration_s = duration_s
        if self._display_key() != self._shown:
            self._redraw()

    def label_changed(self) -> None:
        self._redraw()

    # -- derived ----------------------------------------------------------------------------------

    @property
    def current_slice(self) -> int:
        """Index of the analysed slice under the playhead, or -1 when it is not analysed yet."""
        if not len(self.starts_s):
            return -1
        index = int(np.searchsorted(self.starts_s, self.position_s, side="right")) - 1
        index = max(index, 0)
        end = float(self.starts_s[index]) + SLICE_SECONDS
        if self.position_s >= end and index == len(self.starts_s) - 1 and self.song is None:
            return -1  # past the analysed part: the next block is still being analysed
        return min(index, len(self.starts_s) - 1)

    def _timeline_width(self) -> int:
        return max(self.content_size.width, 10)

    def _playhead_cell(self) -> int:
        width = self._timeline_width()
        if not self.duration_s:
            return 0
        return min(int(self.position_s / self.duration_s * width), width - 1)

    def _display_key(self) -> tuple:
        return (int(self.position_s), self.current_slice, self._playhead_cell(), self.paused)

    def _redraw(self) -> None:
        self._shown = self._display_key()
        self.refresh()

    # -- rendering --------------------------------------------------------------------------------

    def render(self) -> Group:
        width = self._timeline_width()
        if self.row is None:
            lines = [Text("■ nothing playing: Enter plays the highlighted track", style=DIM_STYLE)]
            if self.model_notice:
                lines.append(Text(self.model_notice, style=ERROR_STYLE))
            return Group(*lines)
        track = self.row.track
        who = " · ".join(part for part in (track.artist, track.album) if part)
        head = Text("⏸ " if self.paused else "▶ ", style="bold")
        head.append(track.title, style="bold")
        if who:
            head.append(f" — {who}")
        head.truncate(width, overflow="ellipsis")
        clock = Text(f"{format_time(self.position_s)} / {format_time(self.duration_s)}")
        index = self.current_slice
        if index >= 0:
            start = float(self.starts_s[index])
            end = min(start + SLICE_SECONDS, self.duration_s or start + SLICE_SECONDS)
            clock.append(f"   slice {index + 1}/{self._slice_total()}  ({start:.0f}–{end:.0f} s)", style=DIM_STYLE)
        lines = [head, clock]
        if self.model_notice:
            lines.append(Text(self.model_notice, style=ERROR_STYLE))
            return Group(*lines)
        lines += self._bars(index, width)
        lines.append(self._song_line(width))
        lines.append(self._timeline(width))
        return Group(*lines)

    def _slice_total(self) -> str:
        if self.song is not None:
            return str(len(self.song.starts_s))
        if self.duration_s:
            # The feature contract: a tail of at least 1 s makes one more slice.
            full, tail = divmod(self.duration_s, SLICE_SECONDS)
            return str(int(full) + (1 if tail >= 1.0 else 0))
        return "?"

    def _bars(self, index: int, width: int) -> list[Text]:
        bar_width = max(min(width - LABEL_WIDTH - 8, MAX_BAR_WIDTH), 5)
        probs = self.probs[index] if index >= 0 else None
        lines = []
        for k, mood in enumerate(CLASSES):
            line = Text(fit(mood, LABEL_WIDTH), style=MOOD_STYLES[mood])
            if probs is None:
                line.append("░" * bar_width, style=DIM_STYLE)
                line.append("    …" if self.analysis_error is None else "", style=DIM_STYLE)
            else:
                filled = int(round(float(probs[k]) * bar_width))
                line.append("█" * filled, style=MOOD_STYLES[mood])
                line.append("░" * (bar_width - filled), style=DIM_STYLE)
                line.append(f" {float(probs[k]):.2f}")
            lines.append(line)
        return lines

    def _song_line(self, width: int) -> Text:
        line = Text("song ")
        if self.analysis_error is not None:
            line.append(f"{ERROR_GLYPH} {self.analysis_error}", style=ERROR_STYLE)
        elif self.song is not None:
            label = self.song.label
            if self.song.unsure:
                line.append(f"unsure ({label}? {self.song.confidence:.2f})", style=DIM_STYLE)
            else:
                line.append(f"{label} {self.song.confidence:.2f}", style=MOOD_STYLES[label] + Style(bold=True))
            if self.song.energy is not None:
                line.append(f"  energy {self.song.energy:.2f} ({energy_word(self.song.energy)})")
            line.append("  votes ")
            for k, mood in enumerate(CLASSES):
                line.append(f"{100 * float(self.song.votes[k]):.0f}%", style=MOOD_STYLES[mood])
                line.append(" / " if k < len(CLASSES) - 1 else "")
        else:
            line.append(f"analysing… {len(self.starts_s)} slices so far", style=DIM_STYLE)
        if self.row is not None and self.row.user_label is not None:
            line.append("   you: ")
            line.append(f"{YOUR_LABEL_GLYPH} {self.row.user_label}", style=MOOD_STYLES[self.row.user_label])
        line.truncate(width, overflow="ellipsis")
        return line

    def _timeline(self, width: int) -> Text:
        """One cell per 1/width of the song, coloured and shaped by its slice's mood (high bar
        positive, middle neutral, low negative); the playhead on top."""
        line = Text()
        duration = self.duration_s or 0.0
        playhead = self._playhead_cell()
        if duration <= 0 or not len(self.starts_s):
            cells = ["─"] * width
            colours: list[str | None] = [None] * width
        else:
            times = (np.arange(width) + 0.5) / width * duration
            index = np.searchsorted(self.starts_s, times, side="right") - 1
            analysed_end = float(self.starts_s[-1]) + SLICE_SECONDS if self.song is None else duration
            known = (index >= 0) & (times < analysed_end)
            moods = self.probs[np.clip(index, 0, len(self.probs) - 1)].argmax(axis=1)
            # The bar's height says the mood too (colour-blind listeners, monochrome terminals).
            cells = [MOOD_TIMELINE_CELLS[CLASSES[m]] if k else "─" for k, m in zip(known, moods)]
            colours = [MOOD_COLOURS[CLASSES[m]] if k else None for k, m in zip(known, moods)]
        for cell, (char, colour) in enumerate(zip(cells, colours)):
            if cell == playhead:
                line.append(PLAYHEAD, style=f"bold white on {colour}" if colour else "bold white")
            else:
                line.append(char, style=colour or "dim")
        return line

    def plain_text(self) -> str:
        """The panel's text without styles (the tests and the benchmark read the panel with it)."""
        return "\n".join(text.plain for text in self.render().renderables if isinstance(text, Text))
