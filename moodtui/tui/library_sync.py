"""Keeping the player in step with the disk: :class:`LibrarySync`, a display-less part the App
mounts (``moodtui.tui.controller``).

- ``scan_library``: the first walk of the music folder (the index cache makes a second start
  instant), posting :class:`ScanBatch`es so the table fills while a big library is scanned;
- ``watch_library``: files added, changed or removed in the music folder (``moodtui.library.watcher``,
  inotify with a polling fallback) reach the table within about a second;
- ``rescan_library`` (F5): walk the whole folder again in a worker and apply only the difference,
  so the UI thread never handles more than the rows that changed;
- ``watch_data_folder``: labels written by ``moodtui label`` and a model switched by ``moodtui
  rollback`` / ``moodtui train`` while the player runs show within a couple of seconds.

Everything slow runs in thread workers; the UI thread only applies :class:`LibraryChanged` (here:
the rows; then the App redraws the table and analyses what is new).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from moodtui.errors import MoodtuiError
from moodtui.library.scan import Track, scan, scan_paths
from moodtui.library.watcher import DataFolderWatch, watch_folder, watch_mode
from moodtui.tui.controller import Controller
from moodtui.tui.messages import LabelsLoaded, Notice, ScanBatch, ScanFailed

if TYPE_CHECKING:
    from moodtui.mood.model import MoodModel
    from moodtui.tui.app import MoodApp

DATA_POLL_INTERVAL_S = 1.0
"""How often the labels file and the model pointer are looked at (two stat calls)."""
SCAN_POST_INTERVAL_S = 0.1
SCAN_BATCH_SIZE = 50
"""Files per scan batch: also how often the scan worker checks for cancellation."""


@dataclass
class LibraryChanged(Message):
    """Tracks new or changed on disk, and paths (files or folders) that are gone."""

    tracks: list[Track]
    gone: list[str] = field(default_factory=list)
    rescan: bool = False
    """From a full rescan (F5): the app says what changed even when nothing did."""


@dataclass
class ModelChangedOutside(Message):
    """The current-model pointer was rewritten by another process."""

    model: MoodModel
    notice: str | None


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


class LibrarySync(Controller):
    """The scan, watchers and rescans for the App (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        super().__init__(app, id="library-sync")
        self._watch_stop: threading.Event | None = None

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def scan_library(self) -> None:
        app = self.player_app
        worker = get_current_worker()
        pending: list[Track] = []
        last_post = time.monotonic()
        try:
            index = self.open_caches()
        except MoodtuiError as error:
            self.post_message(Notice(f"{error}: scanning every file's tags", "warning"))
            index = None
        try:
            for batch in scan(app.directory, index, batch_size=SCAN_BATCH_SIZE):
                if worker.is_cancelled:
                    return
                pending += batch
                if time.monotonic() - last_post >= SCAN_POST_INTERVAL_S:
                    self.post_message(ScanBatch(pending, done=False))
                    pending, last_post = [], time.monotonic()
        except MoodtuiError as error:
            self.post_message(ScanFailed(str(error)))
            return
        self.post_message(ScanBatch(pending, done=True))

    def start(self) -> None:
        """Start the two watchers (after the first scan: the table holds the library by then)."""
        if self._watch_stop is not None:
            return
        self._watch_stop = threading.Event()
        self.watch_data_folder()
        if watch_mode() != "off":
            self.watch_library(self._watch_stop)

    def stop(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()

    # -- the music folder -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="watch-library", exit_on_error=False, description="watch the music folder")
    def watch_library(self, stop: threading.Event) -> None:
        app = self.player_app
        worker = get_current_worker()

        class Stop:
            """Set by quitting (the event) or by Textual cancelling the worker (the app closing)."""

            @staticmethod
            def is_set() -> bool:
                return stop.is_set() or worker.is_cancelled

        def changed(paths: list[Path]) -> None:
            try:
                index = self.open_caches()
            except MoodtuiError:
                index = None
            tracks, gone = scan_paths(app.directory, paths, index)
            if tracks or gone:
                self.post_message(LibraryChanged(tracks, [os.fsdecode(p) for p in gone]))

        def notice(text: str) -> None:
            self.post_message(Notice(text, "warning"))

        watch_folder(app.directory, changed, Stop(), on_notice=notice)

    def rescan(self) -> None:
        """F5: walk the whole folder again (in a worker) and apply what changed."""
        app = self.player_app
        if not app.scan_done:
            app.show_notice("the library is still being scanned")
            return
        app.show_notice("rescanning the music folder…")
        self.rescan_library({row.path: row.track for row in app.view.rows})

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False, description="rescan the music folder")
    def rescan_library(self, known: dict[str, Track]) -> None:
        app = self.player_app
        worker = get_current_worker()
        try:
            index = self.open_caches()
        except MoodtuiError:
            index = None
        changed: list[Track] = []
        seen: set[str] = set()
        try:
            for batch in scan(app.directory, index):
                if worker.is_cancelled:
                    return
                for track in batch:
                    path = os.fsdecode(track.path)
                    seen.add(path)
                    if known.get(path) != track:
                        changed.append(track)
                time.sleep(0)  # let the UI thread take the GIL between batches
        except MoodtuiError as error:
            self.post_message(Notice(str(error), "error"))
            return
        self.post_message(LibraryChanged(changed, sorted(known.keys() - seen), rescan=True))

    def on_library_changed(self, message: LibraryChanged) -> None:
        app = self.player_app
        view = app.view
        removed = view.remove_paths(message.gone)
        new = changed = 0
        for track in message.tracks:
            row = view.by_path.get(os.fsdecode(track.path))
            if row is not None and (row.track.size, row.track.mtime_ns) != (track.size, track.mtime_ns):
                # New content: the cached mood (keyed by size and mtime) no longer applies.
                row.set_predicted(None)
                row.analysis_error = None
                row.duration_s = None
                changed += 1
            elif row is not None:
                changed += 1  # new tags only
        for row in view.add_tracks(message.tracks):
            new += 1
            row.user_label = app.view.labels.get(row.path)
        if message.rescan or new or removed:
            parts = [
                text
                for count, text in (
                    (new, _plural(new, "new file")),
                    (changed, f"{changed:,} changed"),
                    (len(removed), f"{len(removed):,} removed"),
                )
                if count
            ]
            app.show_notice(("library: " + ", ".join(parts)) if parts else "library: no changes")
        app.library_changed()

    # -- the data folder --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="watch-data", exit_on_error=False, description="watch the data folder")
    def watch_data_folder(self) -> None:
        from moodtui.listener.labels import LABELS_FILE_NAME
        from moodtui.mood.versions import current_name, load_current_model, models_root
        from moodtui.paths import data_home

        app = self.player_app
        worker = get_current_worker()
        home = data_home()
        watch = DataFolderWatch({"labels": home / LABELS_FILE_NAME, "model": models_root(home) / "current"})
        while not worker.is_cancelled:
            time.sleep(DATA_POLL_INTERVAL_S)
            changed = watch.changed()
            store = app.label_keeper.store
            if "labels" in changed and store is not None:
                try:
                    labels = {record.path: record.label for record in store.current_labels()}
                except MoodtuiError:
                    labels = None
                if labels is not None and labels != app.view.labels:
                    app.label_keeper.post_message(LabelsLoaded(labels, None))
            if "model" in changed and app.model is not None:
                try:
                    if current_name(home) == app.model.version:
                        continue
                    model, notice = load_current_model(home)
                except MoodtuiError as error:
                    self.post_message(Notice(f"the model was changed but does not load: {error}", "warning"))
                    continue
                if model.version != app.model.version:
                    self.post_message(ModelChangedOutside(model, notice))

    def on_model_changed_outside(self, message: ModelChangedOutside) -> None:
        app = self.player_app
        if message.notice:
            app.show_notice(message.notice, severity="warning")
        if app.model_keeper.retraining:
            return  # the app's own retrain installs its model itself
        app.model_keeper.switch_model(
            message.model, f"model changed outside the player: now using {message.model.version}"
        )
