"""The library bar: the line above the table that says which folder, how many tracks, and what the filters and sort show."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from moodtui.library.view import LibraryView
from moodtui.text import short_path


class LibraryBar(Static):
    """One line: ``LibraryView.summary`` of the library below ``directory``."""

    def show(self, view: LibraryView, scan_done: bool, directory: Path) -> None:
        # layout=False: the bar stays one line whatever it says, so an update never relays out the screen.
        self.update(view.summary(scan_done, short_path(directory)), layout=False)
