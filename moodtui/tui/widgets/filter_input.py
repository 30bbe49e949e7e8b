"""The text filter: an Input that filters the table as you type; Escape clears and closes it."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    """Enter keeps the filter and returns to the table; Escape clears it and closes."""

    BINDINGS = [Binding("escape", "close", "Clear filter", show=False, tooltip="in the filter: clear it and close it")]

    class Closed(Message):
        """The listener left the filter (its value is the filter that stays, "" after Escape)."""

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        self.post_message(self.Closed())
