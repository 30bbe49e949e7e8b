"""Mood changes: the songs whose mood a model switch changed, the playing song first."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from moodtui.errors import display_path
from moodtui.listener.label_next import MoodChange, changes_summary
from moodtui.tui.palette import MOOD_STYLES

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class ChangesScreen(ModalScreen[str | None]):
    """Enter plays the chosen song (the screen returns its path); Escape closes."""

    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close")]

    @property
    def player(self) -> MoodApp:
        """The app, with its own type (this screen opens only in the player)."""
        return cast("MoodApp", self.app)

    def __init__(self, changes: list[MoodChange], model_version: str) -> None:
        super().__init__()
        self.changes = changes
        self.model_version = model_version

    def compose(self) -> ComposeResult:
        with Vertical(id="changes-body"):
            yield Static(
                f"Model {self.model_version}: {changes_summary(self.changes)}. Enter plays one; `m` switches models.",
                id="changes-intro",
            )
            yield DataTable(cursor_type="row", id="changes-table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "title", "artist", "was", "now")
        playing = self.player.playing.path if self.player.playing is not None else None
        for change in self.changes:
            row = self.player.view.by_path.get(change.path)
            title = row.track.title if row is not None else display_path(change.path)
            artist = (row.track.artist or "") if row is not None else ""
            table.add_row(
                "▶" if change.path == playing else "",
                Text(title),
                Text(artist),
                Text(change.before, style=MOOD_STYLES[change.before]),
                Text(change.after, style=MOOD_STYLES[change.after]),
                key=change.path,
            )
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)
