"""The text filter: an Input that filters the table as you type; Escape clears and closes it."""

from __future__ import annotations

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

    def action_close(self) -> None:
        self.reset()
        self.post_message(self.Closed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.display = False
        self.post_message(self.Closed())
