"""The listener's labels in the player: the labels database, the one label writer, labels shown at once.

:class:`LabelKeeper` (a display-less part the App mounts, ``moodtui.tui.controller``) opens the
store in a worker, runs ``moodtui.listener.label_writer.LabelWriter`` (labels, undos and the
moved-song search, in key order, on its own thread) and applies each outcome to the rows
(``LibraryView.label_stored``), then has the App redraw the table (at once: what the listener
typed shows in the same frame).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from moodtui.errors import MoodtuiError
from moodtui.library.view import TrackRow
from moodtui.listener.label_writer import LabelOutcome, LabelWriter
from moodtui.listener.labels import LabelStore
from moodtui.tui.bindings import keys_for_id
from moodtui.tui.controller import Controller
from moodtui.tui.messages import LabelsLoaded, LabelWritten

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class LabelKeeper(Controller):
    """The labels database and its writer for the App (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        super().__init__(app, id="label-keeper")
        self.store: LabelStore | None = None
        """Opened by :meth:`load_labels` (file I/O)."""
        self.off: str | None = None
        """Why the labels database could not be opened (labels are off for the session), or None."""
        self.writer: LabelWriter | None = None
        """Started once the store is open."""
        self.loaded: bool = False
        self._looked_for_moved: bool = False

    @work(thread=True, exclusive=True, group="labels", exit_on_error=False)
    def load_labels(self) -> None:
        from moodtui.listener.labels import default_store

        try:
            store = default_store()
            labels = {record.path: record.label for record in store.current_labels()}
        except MoodtuiError as error:
            self.off = str(error)
            self.post_message(LabelsLoaded({}, f"{error}: labels are off for this session"))
            return
        self.store = store
        self.post_message(LabelsLoaded(labels, store.recovery_message))

    def on_labels_loaded(self, message: LabelsLoaded) -> None:
        message.stop()  # the App hears of it from here, once the rows show the labels
        if self.store is not None and self.writer is None:

            def report(outcome: LabelOutcome) -> None:
                self.post_message(LabelWritten(outcome))

            self.writer = LabelWriter(self.store, report)
            self.writer.start()
        app = self.player_app
        app.view.set_labels(message.labels)
        if message.notice:
            app.show_notice(message.notice, severity="information" if message.relinked else "warning")
        self.loaded = True
        app.labels_changed()
        self.look_for_moved()

    def look_for_moved(self) -> None:
        """Once the scan is done and the labels are open: find labelled songs that were moved
        or renamed since, so the table shows their label at once (not only when played)."""
        app = self.player_app
        if self._looked_for_moved or not app.scan_done or self.writer is None:
            return
        self._looked_for_moved = True
        self.writer.find_moved([(row.path, row.track.size) for row in app.view.rows])

    def label_playing(self, label: str) -> None:
        """The label keys: ``label`` for the playing song (a hint which keys, when none plays)."""
        app = self.player_app
        if app.playing is None:
            keys = " / ".join(keys_for_id(app, f"label_{mood}") for mood in ("positive", "neutral", "negative"))
            app.show_notice(f"play a song first: {keys} label the playing song")
            return
        self.label(app.playing, label)

    def label(self, row: TrackRow, label: str) -> None:
        """The listener's ``label`` for ``row``: shown at once, written by the label writer with the
        model's song-level probabilities (of the playing song's fresh analysis when it is the one,
        else the table's)."""
        if self.writer is None:
            self._unavailable()
            return
        app = self.player_app
        version = app.model.version if app.model is not None else None
        song = app.now_playing.song if row is app.playing else None
        probs = song.song_probs if song is not None and song.model_version == version else row.predicted
        # Shown at once; the writer confirms it (or the row goes back to the stored label).
        row.user_label = label
        app.rows_changed(row.path)
        probs_list = None if probs is None else [float(p) for p in probs]
        self.writer.label(row.path, label, title=row.track.title, model_version=version, probs=probs_list)

    def undo(self) -> None:
        if self.writer is None:
            self._unavailable()
            return
        view = self.player_app.view

        def title_of(path: str) -> str | None:
            row = view.by_path.get(path)
            return row.track.title if row is not None else None

        self.writer.undo(title_of)

    def _unavailable(self) -> None:
        if self.off is not None:
            self.player_app.show_notice(f"labels are off for this session: {self.off}", severity="error")
        else:
            self.player_app.show_notice("the labels database is not open yet")

    def on_label_written(self, message: LabelWritten) -> None:
        outcome = message.outcome
        if outcome.relabelled is not None:
            self.on_labels_loaded(LabelsLoaded(outcome.relabelled, outcome.message, relinked=True))
            return
        app = self.player_app
        if outcome.path is not None:
            if outcome.changed:
                app.view.label_stored(outcome.path, outcome.label)
            else:
                app.view.label_kept(outcome.path)
            app.rows_changed(outcome.path)
        app.show_notice(outcome.message, severity=outcome.severity)

    def stop(self) -> list[str]:
        """Quitting: the labels already typed are written first; returns those that could not be."""
        return self.writer.stop() if self.writer is not None else []
