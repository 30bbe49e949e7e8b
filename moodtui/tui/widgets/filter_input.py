"""The text filter: an Input that filters the table as you type; Escape clears and closes it."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    """Enter keeps the filter and returns to the table (an empty one closes); Escape clears it and
    closes. Either way the filter posts :class:`Closed`."""

    BINDINGS = [Binding("escape", "close", "Clear filter", show=False, tooltip="in the filter: clear it and close it")]

    class Closed(Message):
        """The listener left the filter (its value is the filter that stays, "" after Escape)."""

    def open(self) -> None:
        self.display = True
        # Focus now, not after a refresh (Widget.focus defers it): keys typed right after "/" are
        # filter text, never commands ("q" must not quit).
        self.screen.set_focus(self)

    def reset(self) -> None:
        """Empty and hidden (the filter was cleared from outside)."""
        self.value = ""
        self.display = False

    def take_stray_key(self, event: events.Key) -> None:
        """A key the App got unhandled: filter text if the filter has the focus."""
        # Keys typed right after "/" (a fast typist, or a paste) were sent to the table before the
        # filter took the focus; they reach the app unhandled and belong in the filter.
        if self.app.focused is self and event.is_printable and event.character:
            event.stop()
            self.insert_text_at_cursor(event.character)

    def action_close(self) -> None:
        self.reset()
        self.post_message(self.Closed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.display = False
        self.post_message(self.Closed())
