"""The errors screen: files that cannot be read, played or analysed, and this session's notices."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from moodtui.errors import display_path
from moodtui.library.view import TrackRow
from moodtui.text import plural

MAX_ROWS = 500
"""A table of every error of a huge broken library would take seconds to lay out; the count says the rest."""


class ErrorsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,e,q", "dismiss", "Close")]

    def __init__(self, rows: list[TrackRow], notices: list[str]) -> None:
        super().__init__()
        self.rows = rows
        self.notices = notices

    def compose(self) -> ComposeResult:
        files = Table(title=f"{plural(len(self.rows), 'file')} with errors", title_justify="left", expand=True)
        files.add_column("file", ratio=2)
        files.add_column("reason", ratio=3)
        for row in self.rows[:MAX_ROWS]:
            files.add_row(Text(display_path(row.track.path)), Text(row.error or "", style="red"))
        if len(self.rows) > MAX_ROWS:
            files.add_row(Text(f"… and {len(self.rows) - MAX_ROWS:,} more", style="dim"), "")
        notices = Table(title="notices this session", title_justify="left", expand=True, show_header=False)
        notices.add_column("notice")
        for text in self.notices[-MAX_ROWS:] or ["none"]:
            notices.add_row(Text(text))
        with VerticalScroll(id="errors-body"):
            yield Static(files if self.rows else Text("No file errors.", style="green"))
            yield Static(notices)
