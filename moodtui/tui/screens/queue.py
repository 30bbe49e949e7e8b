"""The queue: what plays next, before the list or the station; reorder, remove, clear."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from moodtui.errors import display_path
from moodtui.text import plural
from moodtui.tui.bindings import keys_for_id

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class QueueScreen(ModalScreen[None]):
    """The app's play order queue (``app.order.queue``), edited in place."""

    BINDINGS = [
        Binding("escape,q,w", "dismiss(None)", "Close", id="queue_close"),
        Binding("shift+up,K", "move(-1)", "Move up", id="queue_move_up", tooltip="move the entry up the queue"),
        Binding("shift+down,J", "move(1)", "Move down", id="queue_move_down", tooltip="move the entry down the queue"),
        Binding("d,delete", "remove", "Remove", id="queue_remove", tooltip="take the entry out of the queue"),
        Binding("c", "clear", "Clear", id="queue_clear", tooltip="empty the queue"),
    ]

    @property
    def player(self) -> MoodApp:
        """The app, with its own type (this screen opens only in the player)."""
        return cast("MoodApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-body"):
            yield Static("", id="queue-intro")
            yield DataTable(cursor_type="row", id="queue-table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "title", "artist", "album")
        self._show(0)
        table.focus()

    def _show(self, cursor: int) -> None:
        table = self.query_one(DataTable)
        table.clear()
        queue = self.player.order.queue
        for place, path in enumerate(queue, 1):
            row = self.player.view.by_path.get(path)
            track = row.track if row is not None else None
            table.add_row(
                str(place),
                Text(track.title if track else display_path(path)),
                Text((track.artist or "") if track else ""),
                Text((track.album or "") if track else ""),
            )
        intro = (
            f"{plural(len(queue), 'track')} play{'s' if len(queue) == 1 else ''} next, in this order, before the list or the station. "
            "shift+up / shift+down move, d removes, c clears, Esc closes."
            if queue
            else f"The queue is empty: {keys_for_id(self.player, 'queue_add')} adds the highlighted track."
        )
        self.query_one("#queue-intro", Static).update(intro)
        if queue:
            table.move_cursor(row=min(cursor, len(queue) - 1))

    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        self._show(self.player.order.move_in_queue(table.cursor_row, step))

    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        self.player.order.remove_from_queue(table.cursor_row)
        self._show(table.cursor_row)

    def action_clear(self) -> None:
        count = self.player.order.clear_queue()
        self.player.show_notice(f"queue cleared ({count} track{'s' if count != 1 else ''})")
        self._show(0)
