"""Label next: the unlabelled songs the model is least sure about (labels there teach it most).

A loop: the highlighted candidate plays from its least certain part; the label keys label it
right here, and the next candidate plays. Enter plays the highlighted song and closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from moodtui import CLASSES
from moodtui.errors import display_path
from moodtui.tui.bindings import keys_for_id
from moodtui.tui.palette import MOOD_STYLES, format_time

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class LabelNextScreen(ModalScreen[str | None]):
    """Enter plays the chosen song (the screen returns its path); Escape closes."""

    # The label bindings share the app's ids: a remapped label key is remapped here too.
    BINDINGS = [
        Binding("escape,q,l", "dismiss(None)", "Close", id="label_next_close"),
        Binding(
            "p",
            "label('positive')",
            "Positive",
            id="label_positive",
            tooltip="label the highlighted song positive, play the next one",
        ),
        Binding(
            "n",
            "label('neutral')",
            "Neutral",
            id="label_neutral",
            tooltip="label the highlighted song neutral, play the next one",
        ),
        Binding(
            "x",
            "label('negative')",
            "Negative",
            id="label_negative",
            tooltip="label the highlighted song negative, play the next one",
        ),
        Binding(
            "space",
            "listen",
            "Listen",
            id="label_next_listen",
            tooltip="play the highlighted song from its least certain part",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.starts: dict[str, float] = {}
        """Each candidate's least certain part (seconds from its start)."""

    @property
    def player(self) -> MoodApp:
        """The app, with its own type (this screen opens only in the player)."""
        return cast("MoodApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="label-next-body"):
            yield Static("", id="label-next-intro")
            yield DataTable(cursor_type="row", id="label-next-table")

    def on_mount(self) -> None:
        keys = " / ".join(keys_for_id(self.player, f"label_{mood}") for mood in CLASSES)
        self.query_one("#label-next-intro", Static).update(
            f"Songs the model is least sure about, each playing from its least certain part. {keys} label the "
            "highlighted song and play the next; space plays it; Enter plays it and closes."
        )
        table = self.query_one(DataTable)
        table.add_columns("unsure", "title", "artist", "model's guess", "from")
        table.loading = True
        self.rank(self.player.model, self.player.view.labelled_paths, [row.path for row in self.player.view.rows])

    @work(thread=True, exclusive=True, description="rank the unlabelled songs")  # no repr of 10,000 paths
    def rank(self, model, labelled: set[str], paths: list[str]) -> None:
        from moodtui.listener.label_next import label_next, least_certain_start

        cache = self.player.caches.loaded_analysis()
        ranked = label_next(cache, model, labelled, paths)
        starts = {}
        for path, _, _ in ranked:
            mood = cache.get(path, model)
            starts[path] = least_certain_start(mood.slice_probs, mood.starts_s) if mood is not None else 0.0
        self.app.call_from_thread(self._show, ranked, starts)

    def _show(self, ranked: list[tuple[str, float, np.ndarray]], starts: dict[str, float]) -> None:
        table = self.query_one(DataTable)
        table.loading = False
        self.starts = starts
        if not ranked:
            self.query_one("#label-next-intro", Static).update(
                "Nothing to suggest yet: every analysed song is labelled, or the library is still being analysed."
            )
            return
        for path, uncertainty, probs in ranked:
            row = self.player.view.by_path.get(path)
            title = row.track.title if row is not None else display_path(path)
            artist = (row.track.artist or "") if row is not None else ""
            guess = CLASSES[int(np.argmax(probs))]
            table.add_row(
                f"{100 * uncertainty:.0f}%",
                Text(title),
                Text(artist),
                Text(f"{guess} {float(np.max(probs)):.2f}", style=MOOD_STYLES[guess]),
                format_time(starts.get(path, 0.0)),
                key=path,
            )
        table.focus()
        self.action_listen()

    def _highlighted_path(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    def action_listen(self) -> None:
        path = self._highlighted_path()
        row = self.player.view.by_path.get(path) if path else None
        if path is not None and row is not None:
            self.player.play_row(row, start_s=self.starts.get(path, 0.0))

    def action_label(self, mood: str) -> None:
        path = self._highlighted_path()
        row = self.player.view.by_path.get(path) if path else None
        if path is None or row is None:
            return
        self.player.label_keeper.label(row, mood)
        table = self.query_one(DataTable)
        table.remove_row(path)
        if table.row_count == 0:
            self.query_one("#label-next-intro", Static).update("Every suggested song is labelled: R retrains on them.")
            return
        self.action_listen()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)
