"""The help screen: every key of the player, read from the bindings themselves (never out of date)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from moodtui.mood_palette import YOUR_LABEL_GLYPH
from moodtui.tui.widgets.filter_input import FilterInput
from moodtui.tui.widgets.track_list import TrackList

EXTRA_KEYS = (
    ("ctrl+p", "command palette: every action by name"),
    ("click a column title", "sort by it (again: reverse)"),
    ("double click", "play the track"),
    ("Enter in the filter", "keep the filter, back to the table"),
)


def _key_name(binding: Binding, app) -> str:
    if binding.key_display:
        return binding.key_display
    return " / ".join(app.get_key_display(Binding(key, "")) for key in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    """Every key, grouped: the table, the player, labels and models."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", show=True),
    ]

    def compose(self) -> ComposeResult:
        table = Table(title="moodtui keys", title_justify="left", expand=True, show_header=False,
                      box=None, padding=(0, 2))
        table.add_column("key", style="bold", no_wrap=True, width=22)
        table.add_column("action", ratio=1)
        for entry in (*TrackList.BINDINGS, *self.app.BINDINGS, *FilterInput.BINDINGS):
            binding = entry if isinstance(entry, Binding) else Binding(*entry)
            table.add_row(_key_name(binding, self.app), binding.tooltip or binding.description)
        for key, action in EXTRA_KEYS:
            table.add_row(key, action)
        with VerticalScroll(id="help-body"):
            yield Static(table)
            yield Static("The mood column shows the model's guess and its confidence; "
                         f"“{YOUR_LABEL_GLYPH} mood (you)” is your own label, which the filters and playlists use. "
                         "Label a few songs with p / n / x while they play, then R adapts the model "
                         "to you (playback continues). Esc closes this screen.", id="help-footer")
