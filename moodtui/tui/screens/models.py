"""The models screen: every model version with its figures; Enter makes one current (rollback)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from moodtui.mood.versions import songs_cell


def _percent(value: object) -> str:
    return f"{100 * float(value):.1f}%" if isinstance(value, (int, float)) else "-"


def _when(created: object) -> str:
    """An ISO time as "YYYY-MM-DD HH:MM" (what a listener needs to tell versions apart)."""
    return str(created)[:16].replace("T", " ") if created else "-"


class ModelsScreen(ModalScreen[str | None]):
    """Returns the chosen version's name (Enter), or None (Escape)."""

    BINDINGS = [Binding("escape,q,m", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="models-body"):
            yield Static(
                "Model versions (● in use). Enter switches to the highlighted one; "
                "agreement is measured on songs held out of training; the head is the one "
                "your held-out songs chose; IMAC songs are a weak prior.",
                id="models-intro",
            )
            yield DataTable(cursor_type="row", id="models-table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "version", "created", "kind", "songs", "head", "validation acc.", "agreement")
        table.loading = True
        self.load_versions()

    @work(thread=True, exclusive=True)
    def load_versions(self) -> None:
        from moodtui.mood.versions import describe, list_versions

        rows = [describe(version) for version in list_versions()]
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict]) -> None:
        table = self.query_one(DataTable)
        table.loading = False
        for row in rows:
            error = row.get("error")
            table.add_row(
                "●" if row["current"] else "",
                str(row["version"]),
                _when(row.get("created")),
                str(row.get("kind") or "-"),
                songs_cell(row),
                str(row.get("head") or "-"),
                _percent(row.get("song_accuracy")),
                Text(str(error), style="red") if error else _percent(row.get("agreement")),
                key=str(row["version"]),
            )
        current = next((i for i, row in enumerate(rows) if row["current"]), 0)
        table.move_cursor(row=current)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)
