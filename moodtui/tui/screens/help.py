"""The help screen: every key of the player, read from the bindings and the keymap in force
(config.toml's [keys] and preset), so it is never out of date."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from moodtui.mood.palette import YOUR_LABEL_GLYPH
from moodtui.tui.bindings import keys_for
from moodtui.tui.screens.label_next import LabelNextScreen
from moodtui.tui.screens.queue import QueueScreen
from moodtui.tui.widgets.filter_input import FilterInput
from moodtui.tui.widgets.track_list import TrackList

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp

EXTRA_KEYS = (
    ("ctrl+p", "command palette: every action by name"),
    ("click a column title", "sort by it (again: reverse)"),
    ("double click", "play the track"),
    ("Enter in the filter", "keep the filter, back to the table"),
)


class HelpScreen(ModalScreen[None]):
    """Every key, grouped: the table, the player, labels and models."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", show=True),
    ]

    @property
    def player(self) -> MoodApp:
        """The app, with its own type (this screen opens only in the player)."""
        return cast("MoodApp", self.app)

    def compose(self) -> ComposeResult:
        table = Table(
            title="moodtui keys", title_justify="left", expand=True, show_header=False, box=None, padding=(0, 2)
        )
        table.add_column("key", style="bold", no_wrap=True, width=22)
        table.add_column("action", ratio=1)
        for entry in (*TrackList.BINDINGS, *self.app.BINDINGS, *FilterInput.BINDINGS):
            binding = entry if isinstance(entry, Binding) else Binding(*entry)
            table.add_row(keys_for(self.player, binding), binding.tooltip or binding.description)
        for screen, bindings in (("in the queue", QueueScreen.BINDINGS), ("in label next", LabelNextScreen.BINDINGS)):
            for screen_binding in bindings:
                if isinstance(screen_binding, Binding) and screen_binding.tooltip:
                    table.add_row(keys_for(self.player, screen_binding), f"{screen}: {screen_binding.tooltip}")
        for key, action in EXTRA_KEYS:
            table.add_row(key, action)
        with VerticalScroll(id="help-body"):
            yield Static(table)
            yield Static(
                "The mood column shows the model's guess and its confidence; "
                f"“{YOUR_LABEL_GLYPH} mood (you)” is your own label, which the filters and playlists use. "
                "Label a few songs with p / n / x while they play, then R adapts the model "
                "to you (playback continues). Esc closes this screen.",
                id="help-footer",
            )
