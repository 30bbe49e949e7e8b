"""Label next: the unlabelled songs the model is least sure about (labels there teach it most)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from moodtui import CLASSES
from moodtui.errors import display_path
from moodtui.tui.palette import MOOD_STYLES

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class LabelNextScreen(ModalScreen[str | None]):
    """Enter plays the chosen song (the screen returns its path); Escape closes."""

    BINDINGS = [Binding("escape,q,l", "dismiss(None)", "Close")]

    @property
    def player(self) -> MoodApp:
        """The app, with its own type (this screen opens only in the player)."""
        return cast("MoodApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="label-next-body"):
            yield Static("Songs the model is least sure about: label them (p / n / x while playing) "
                         "to teach it most. Enter plays one.", id="label-next-intro")
            yield DataTable(cursor_type="row", id="label-next-table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("unsure", "title", "artist", "model's guess")
        table.loading = True
        self.rank(self.player.model, self.player.labelled_paths, [row.path for row in self.player.view.rows])

    @work(thread=True, exclusive=True, description="rank the unlabelled songs")  # no repr of 10,000 paths
    def rank(self, model, labelled: set[str], paths: list[str]) -> None:
        from moodtui.insights import label_next

        ranked = label_next(self.player.loaded_analysis_cache(), model, labelled, paths)
        self.app.call_from_thread(self._show, ranked)

    def _show(self, ranked: list[tuple[str, float, np.ndarray]]) -> None:
        table = self.query_one(DataTable)
        table.loading = False
        if not ranked:
            self.query_one("#label-next-intro", Static).update(
                "Nothing to suggest yet: every analysed song is labelled, or the library is still being analysed.")
            return
        for path, uncertainty, probs in ranked:
            row = self.player.view.by_path.get(path)
            title = row.track.title if row is not None else display_path(path)
            artist = (row.track.artist or "") if row is not None else ""
            guess = CLASSES[int(np.argmax(probs))]
            table.add_row(f"{100 * uncertainty:.0f}%", Text(title), Text(artist),
                          Text(f"{guess} {float(np.max(probs)):.2f}", style=MOOD_STYLES[guess]), key=path)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)
