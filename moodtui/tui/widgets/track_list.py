"""The track table: a virtual list that renders only the rows on screen (Textual's Line API).

A ``DataTable`` with 10,000 rows took 1.9 s to fill and 0.8 s to re-filter on this machine (it
builds every row's renderables up front), which would freeze the player while typing a filter.
This list keeps a reference to the :class:`LibraryView`'s visible rows and renders a line only
when Textual asks for it, so filtering, sorting and mood updates cost the same whatever the size
of the library.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from moodtui.library.view import SortColumn, TrackRow
from moodtui.mood.model import UNSURE_BELOW
from moodtui.mood.palette import ERROR_GLYPH, NOT_ANALYSED_GLYPH, YOUR_LABEL_GLYPH
from moodtui.tui.palette import DIM_STYLE, ERROR_STYLE, MOOD_STYLES, fit, format_time

MARKER_WIDTH = 2
DURATION_WIDTH = 7
MOOD_WIDTH = 18
GAP = 1

COLUMN_TITLES = (
    (SortColumn.TITLE, "Title"),
    (SortColumn.ARTIST, "Artist"),
    (SortColumn.ALBUM, "Album"),
    (SortColumn.DURATION, "Time"),
    (SortColumn.MOOD, "Mood"),
)


def column_widths(width: int) -> list[int]:
    """Cell widths of title, artist, album, time and mood for a line ``width`` cells wide.

    The marker column (the playing track's ▶) comes first; columns are separated by one space.
    """
    flexible = max(width - MARKER_WIDTH - DURATION_WIDTH - MOOD_WIDTH - 4 * GAP, 3)
    title = flexible * 45 // 100
    artist = flexible * 30 // 100
    album = flexible - title - artist
    return [title, artist, album, DURATION_WIDTH, MOOD_WIDTH]


def mood_cell(row: TrackRow, model_loaded: bool) -> tuple[str, Style]:
    """The mood column's text and style for ``row``."""
    if row.user_label is not None:
        return f"{YOUR_LABEL_GLYPH} {row.user_label} (you)", MOOD_STYLES[row.user_label] + Style(bold=True)
    if row.error is not None:
        return f"{ERROR_GLYPH} error", ERROR_STYLE
    label = row.predicted_label
    if label is not None:
        if (row.confidence or 0) < UNSURE_BELOW:
            # Calibrated: below one half the model is wrong more often than right about this song.
            return f"unsure ({label}?)", DIM_STYLE
        return f"{label} {100 * (row.confidence or 0):.0f}%", MOOD_STYLES[label]
    return (NOT_ANALYSED_GLYPH if model_loaded else "-"), DIM_STYLE


class TrackHeader(Widget):
    """The column titles; the sort column carries an arrow; clicking a title sorts by it."""

    DEFAULT_CSS = """
    TrackHeader { height: 1; padding-right: 1; text-style: bold; }
    """

    @dataclass
    class SortRequested(Message):
        column: SortColumn

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sort_column = SortColumn.LIBRARY
        self.sort_reverse = False

    def set_sort(self, column: SortColumn, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self.refresh()

    def render(self) -> Text:
        widths = column_widths(self.content_size.width)
        text = Text(" " * MARKER_WIDTH)
        for (column, title), width in zip(COLUMN_TITLES, widths):
            if column is self.sort_column:
                title += " ▼" if self.sort_reverse else " ▲"
            text.append(fit(title, width) + " " * GAP)
        return text

    def on_click(self, event: events.Click) -> None:
        x = event.x - MARKER_WIDTH
        for (column, _), width in zip(COLUMN_TITLES, column_widths(self.content_size.width)):
            if 0 <= x < width + GAP:
                self.post_message(self.SortRequested(column))
                return
            x -= width + GAP


class TrackList(ScrollView, can_focus=True):
    """The visible rows of the library with a cursor; Enter (or a double click) plays a row."""

    DEFAULT_CSS = """
    TrackList {
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;
    }
    TrackList > .track-list--cursor { background: $accent 45%; }
    TrackList:focus > .track-list--cursor { background: $accent; color: $text; }
    TrackList > .track-list--playing { text-style: bold; }
    """
    COMPONENT_CLASSES = {"track-list--cursor", "track-list--playing"}

    BINDINGS = [
        Binding("enter", "play", "Play", id="play", tooltip="play the highlighted track"),
        Binding("up", "cursor_up", "Up", show=False, id="cursor_up", tooltip="previous row"),
        Binding("down", "cursor_down", "Down", show=False, id="cursor_down", tooltip="next row"),
        Binding("pageup", "page_up", "Page up", show=False, id="page_up", tooltip="one page up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="page_down", tooltip="one page down"),
        Binding("home", "first", "First", show=False, id="first", tooltip="first row"),
        Binding("end", "last", "Last", show=False, id="last", tooltip="last row"),
    ]

    @dataclass
    class PlayRequested(Message):
        row: TrackRow

    @dataclass
    class Highlighted(Message):
        row: TrackRow | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[TrackRow] = []
        self.cursor = 0
        self.playing_path: str | None = None
        self.model_loaded = False
        # Rendered lines by everything they show: redrawing a screen of unchanged rows (mood
        # updates arrive 4 times a second during analysis) costs a dictionary lookup per line.
        self._line_cache: LRUCache[tuple, Strip] = LRUCache(1024)

    # -- content ----------------------------------------------------------------------------------

    def show_rows(self, rows: list[TrackRow], keep: TrackRow | None = None) -> None:
        """Show ``rows`` (the view's visible list); the cursor stays on ``keep`` when it is there."""
        previous = keep if keep is not None else self.highlighted
        self.rows = rows
        self.virtual_size = Size(0, len(rows))
        if previous is not None:
            try:
                # Rows are unique objects: an identity search, linear but in C (about 1 ms for 10,000).
                self.cursor = rows.index(previous)
            except ValueError:
                self.cursor = min(self.cursor, max(len(rows) - 1, 0))
        else:
            self.cursor = 0
        self._scroll_cursor_into_view()
        self.refresh()
        if self.highlighted is not previous:
            self.post_message(self.Highlighted(self.highlighted))

    def set_playing(self, path: str | None) -> None:
        self.playing_path = path
        self.refresh()

    @property
    def highlighted(self) -> TrackRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def move_to(self, row: TrackRow) -> bool:
        """Put the cursor on ``row`` if it is visible; returns whether it is."""
        try:
            index = self.rows.index(row)
        except ValueError:
            return False
        self._set_cursor(index)
        return True

    # -- rendering --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        base = self.rich_style
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        playing, cursor = row.path == self.playing_path, index == self.cursor
        key = (
            id(row),
            row.track,
            row.user_label,
            row.predicted_label,
            row.confidence,
            row.error,
            row.duration_s,
            width,
            playing,
            cursor,
            self.has_focus,
            self.model_loaded,
            base,
        )
        line = self._line_cache.get(key)
        if line is None:
            line = self._line_cache[key] = self._render_row(row, width, base, playing, cursor)
        return line

    def _render_row(self, row: TrackRow, width: int, base: Style, playing: bool, cursor: bool) -> Strip:
        line_style = base
        if playing:
            line_style += self.get_component_rich_style("track-list--playing")
        if cursor:
            line_style += self.get_component_rich_style("track-list--cursor")
        track = row.track
        title_w, artist_w, album_w, time_w, mood_w = column_widths(width)
        mood_text, mood_style = mood_cell(row, self.model_loaded)
        gap = Segment(" " * GAP, line_style)
        segments = [
            Segment("▶ " if playing else "  ", line_style),
            Segment(fit(track.title, title_w), line_style + ERROR_STYLE if row.error else line_style),
            gap,
            Segment(fit(track.artist or "", artist_w), line_style),
            gap,
            Segment(fit(track.album or "", album_w), line_style),
            gap,
            Segment(format_time(row.duration_s).rjust(time_w), line_style),
            gap,
            Segment(fit(mood_text, mood_w), line_style + mood_style),
        ]
        return Strip(segments).adjust_cell_length(width, base)

    # -- cursor -----------------------------------------------------------------------------------

    def _set_cursor(self, index: int) -> None:
        index = min(max(index, 0), max(len(self.rows) - 1, 0))
        if index != self.cursor:
            self.cursor = index
            self.post_message(self.Highlighted(self.highlighted))
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self.cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_page_down(self) -> None:
        self._set_cursor(self.cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(len(self.rows) - 1)

    def action_play(self) -> None:
        row = self.highlighted
        if row is not None:
            self.post_message(self.PlayRequested(row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_offset.y) + offset.y
        if 0 <= index < len(self.rows):
            self._set_cursor(index)
            if event.chain >= 2:
                self.action_play()

    def on_resize(self) -> None:
        self._scroll_cursor_into_view()
