"""The session in the player: restored at start, the track once the scan finds it, saved at quit.

What a session holds and how it is read and written is the core's (``moodtui.player.session``);
this helper applies it to the App's view, play order, volume and filter, and starts the track to
resume, or ``moodtui song.ogg``'s file, when the scan has found it (not before: the rows come in
batches, and a file not found yet may still come).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moodtui.errors import display_path
from moodtui.player.session import Session, load_session, restore_session, save_session, session_of

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class SessionKeeper:
    """Restores and saves the listener's session (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        self.player_app = app
        self.error: str | None = None
        """Why the session could not be saved at quit (printed after the app ends)."""

    def restore(self) -> None:
        """Filters, sort, volume, queue and station at once; the track when the scan finds it."""
        app = self.player_app
        session, notice = load_session()
        if notice:
            app.show_notice(notice, severity="warning")
        if session is None:
            return
        restore_session(session, app.view, app.order)
        app.player.volume = session.volume
        app.filter_input.value = session.text_filter
        app.start_up.resume(session)

    def play_when_scanned(self) -> None:
        """The track to resume, or ``moodtui song.ogg``'s file, once the scan has found it."""
        app = self.player_app
        start = app.start_up.track_to_start(app.view.by_path, app.scan_done)
        row = app.view.by_path.get(start.path) if start is not None else None
        if start is not None and start.missing:
            app.show_notice(f"{display_path(start.path)} is not in the list (hidden, or not audio)", severity="warning")
        if start is None or row is None:
            return
        if not start.resumed and row not in app.view.visible:  # a restored filter hides it: it was asked for
            app.clear_filters()
        app.play_row(row, start_s=start.start_s, paused=start.resumed and app.settings.resume == "paused")
        app.track_list.move_to(row)

    def current(self) -> Session:
        app = self.player_app
        track = app.playing.path if app.playing is not None else None
        return session_of(app.view, app.order, track, app.player.position_s, app.player.volume)

    def save(self) -> None:
        """At quit; a failure is kept in ``error`` (the terminal is the App's until it ends)."""
        try:
            save_session(self.current())
        except OSError as error:
            self.error = f"the session was not saved: {error.strerror or error}"
