"""The export key: the visible list written as an m3u playlist (``moodtui.library.playlist``) in a worker.

:class:`PlaylistExport` is a display-less part the App mounts (``moodtui.tui.controller``): the
write (fsync included) runs in a thread so a slow disk never holds up the UI; the file's name, or
the one-line cause of a failure, comes back as a notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from moodtui.errors import MoodtuiError, display_path
from moodtui.library.playlist import export_to_playlists
from moodtui.library.view import TrackRow
from moodtui.text import plural
from moodtui.tui.controller import Controller
from moodtui.tui.messages import Notice

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class PlaylistExport(Controller):
    """Writes the playlist of the list the listener sees (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        super().__init__(app, id="playlist-export")

    def export_visible(self) -> None:
        """The rows the filters show, but not the files that cannot be read, named after the mood filter."""
        view = self.player_app.view
        self.export([row for row in view.visible if row.error is None], view.mood_filter)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="write a playlist")
    def export(self, rows: list[TrackRow], name: str) -> None:
        entries = [(row.track.path, row.duration_s, row.track.title) for row in rows]
        try:
            output = export_to_playlists(entries, name)
        except MoodtuiError as error:
            self.post_message(Notice(str(error), "error"))
            return
        self.post_message(Notice(f"wrote {plural(len(rows), 'track')} to {display_path(output)}"))
